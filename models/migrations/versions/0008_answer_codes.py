"""answer codes (issue 24): the one-time codes printed in request emails, hashed, per task and person

Revision ID: 0008_answer_codes
Revises: 0007_merge
Create Date: 2026-11-29 18:40:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0008_answer_codes'
down_revision = '0007_merge'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('answer_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('person', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('code_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('purpose', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('answer_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_answer_codes_task_id'), ['task_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_answer_codes_code_hash'), ['code_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('answer_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_answer_codes_code_hash'))
        batch_op.drop_index(batch_op.f('ix_answer_codes_task_id'))
    op.drop_table('answer_codes')
