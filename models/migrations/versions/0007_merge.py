"""merge the two revisions of 2026-11-29: flow starts (issue 18) and web hardening (issue 24)

Revision ID: 0007_merge
Revises: 0006_flow_starts, 0006_web_hardening
"""

revision = '0007_merge'
down_revision = ('0006_flow_starts', '0006_web_hardening')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
