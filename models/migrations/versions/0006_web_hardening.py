"""web hardening (issue 24): dead-lettered mail, the request fingerprint of an Idempotency-Key

Revision ID: 0006_web_hardening
Revises: 0005_archive
Create Date: 2026-11-29 17:20:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006_web_hardening'
down_revision = '0005_archive'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # plain ADD COLUMNs (nullable, no default): no table rebuild on SQLite, no rewrite on PostgreSQL
    op.add_column('outbox', sa.Column('dead_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('cases', sa.Column('request_fingerprint', sqlmodel.sql.sqltypes.AutoString(length=64),
                                     nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_column('request_fingerprint')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_column('dead_at')
