"""statistics: complaint facts, indexes for the monthly report

Revision ID: 0004_statistics
Revises: 0003
Create Date: 2026-11-25 15:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004_statistics'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    s = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        'complaint_facts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_no', s(length=32), nullable=False),
        sa.Column('parent_case_no', s(length=32), nullable=True),
        sa.Column('state', s(length=32), nullable=False),
        sa.Column('level', sa.Integer(), nullable=True),
        sa.Column('kind', s(length=16), nullable=False),
        sa.Column('channel', s(length=16), nullable=False),
        sa.Column('category', s(length=16), nullable=False),
        sa.Column('receiver', s(length=200), nullable=False),
        sa.Column('handler', s(length=200), nullable=True),
        sa.Column('established', sa.Boolean(), nullable=True),
        sa.Column('responsible_department', s(length=100), nullable=True),
        sa.Column('our_fault', sa.Boolean(), nullable=True),
        sa.Column('handling', s(length=16), nullable=True),
        sa.Column('loss_amount', sa.Numeric(precision=14, scale=2), nullable=True),
        sa.Column('satisfaction', sa.Integer(), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('first_contact_due', sa.DateTime(timezone=True), nullable=True),
        sa.Column('first_contact_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('plan_due', sa.DateTime(timezone=True), nullable=True),
        sa.Column('plan_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('close_due', sa.DateTime(timezone=True), nullable=True),
        sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('urge_notice_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('inquiry_notice_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('complaint_facts', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_facts_case_no', ['case_no'], unique=True)
        batch_op.create_index('ix_complaint_facts_received_at', ['received_at'], unique=False)
        batch_op.create_index('ix_complaint_facts_closed_at', ['closed_at'], unique=False)
    op.create_index('ix_penalties_at', 'penalties', ['at'], unique=False)
    op.create_index('ix_cases_procedure_closed_at', 'cases', ['procedure', 'closed_at'], unique=False)
    backfill()


def backfill() -> None:
    """The facts of the complaints filed before this revision, from their cases, tasks and events."""
    from models.statistics import complaint_fact_values
    from models.tables import Case, ComplaintFact, Event, HumanTask

    conn = op.get_bind()
    plan_at = dict(conn.execute(sa.select(HumanTask.case_no, HumanTask.decided_at)
                                .where(HumanTask.step_key == "plan-1")).all())
    notices = {}
    for case_no, kind, at in conn.execute(sa.select(Event.case_no, Event.kind, sa.func.min(Event.at)).where(
            Event.kind.in_(("urge_notice", "inquiry_notice"))).group_by(Event.case_no, Event.kind)):
        notices[(case_no, kind)] = at
    rows = []
    # the columns this revision knows (the model has later ones, which are not there yet)
    for c in conn.execute(sa.select(Case.case_no, Case.state, Case.level, Case.parent_case_no, Case.data,
                                    Case.created_at, Case.closed_at).where(Case.procedure == "complaint")).mappings():
        v = complaint_fact_values(c["case_no"], c["state"], c["level"], c["parent_case_no"], c["data"],
                                  c["created_at"], c["closed_at"])
        v.update(plan_at=plan_at.get(c["case_no"]), urge_notice_at=notices.get((c["case_no"], "urge_notice")),
                 inquiry_notice_at=notices.get((c["case_no"], "inquiry_notice")))
        v.pop("event_key", None)  # a column of a later revision (0006)
        rows.append(v)
    if rows:
        conn.execute(sa.insert(ComplaintFact.__table__), rows)


def downgrade() -> None:
    op.drop_index('ix_cases_procedure_closed_at', table_name='cases')
    op.drop_index('ix_penalties_at', table_name='penalties')
    op.drop_table('complaint_facts')
