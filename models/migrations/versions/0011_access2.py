"""access2 (issue 24): an API key may be bound to a person (it files as that person only); expired staff
sessions are deleted by their expiry (an index for the cheap DELETE)

Revision ID: 0011_access2
Revises: 0010_merge
Create Date: 2026-11-30 00:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0011_access2'
down_revision = '0010_merge'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('person', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True))
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_sessions_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('staff_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_sessions_expires_at'))
    with op.batch_alter_table('api_keys', schema=None) as batch_op:
        batch_op.drop_column('person')
