"""flow starts (the start request stored with its case) and the complaints' indexed event key

Revision ID: 0006_flow_starts
Revises: 0004_statistics, 0005_archive
Create Date: 2026-11-29 17:30:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0006_flow_starts'
down_revision = ('0004_statistics', '0005_archive')
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        'flow_starts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_no', s(length=32), nullable=False),
        sa.Column('deployment', s(length=200), nullable=False),
        sa.Column('run_name', s(length=200), nullable=False),
        sa.Column('tags', sa.JSON(), nullable=False),
        sa.Column('parameters', sa.JSON(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_error', s(), nullable=True),
        sa.Column('flow_run_id', s(length=64), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('case_no'),
    )
    op.create_index('ix_flow_starts_pending', 'flow_starts', ['started_at', 'next_attempt_at'], unique=False)
    with op.batch_alter_table('complaint_facts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('event_key', s(length=32), nullable=True))
        batch_op.create_index(batch_op.f('ix_complaint_facts_event_key'), ['event_key'], unique=False)
    backfill_event_keys()


def backfill_event_keys() -> None:
    """The event key of the complaints filed before this revision, from their case data."""
    conn = op.get_bind()
    cases = sa.table('cases', sa.column('case_no', sa.String), sa.column('procedure', sa.String),
                     sa.column('data', sa.JSON))
    facts = sa.table('complaint_facts', sa.column('case_no', sa.String), sa.column('event_key', sa.String))
    keys = [{"c": row.case_no, "k": (row.data or {}).get("event_key")}
            for row in conn.execute(sa.select(cases.c.case_no, cases.c.data).where(cases.c.procedure == "complaint"))]
    keys = [k for k in keys if k["k"]]
    if keys:
        conn.execute(facts.update().where(facts.c.case_no == sa.bindparam("c")).values(event_key=sa.bindparam("k")),
                     keys)


def downgrade() -> None:
    with op.batch_alter_table('complaint_facts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaint_facts_event_key'))
        batch_op.drop_column('event_key')
    op.drop_index('ix_flow_starts_pending', table_name='flow_starts')
    op.drop_table('flow_starts')
