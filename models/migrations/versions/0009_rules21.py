"""rules 21: the C21 hour deadlines (001) in complaint_facts, for S1's on-time rates

Revision ID: 0009_rules21
Revises: 0008_answer_codes
Create Date: 2026-11-29 20:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0009_rules21'
down_revision = '0008_answer_codes'
branch_labels = None
depends_on = None

COLUMNS = ("major_report_due", "major_report_at", "dept_analysis_due", "dept_analysis_at",
           "feedback_due", "feedback_at", "solution_due", "solution_at")


def upgrade() -> None:
    with op.batch_alter_table('complaint_facts', schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('complaint_facts', schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
