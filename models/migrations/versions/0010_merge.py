"""merge the two revisions of session 8: access (issue 24) and the §7 rules (issue 21)

Revision ID: 0010_merge
Revises: 0009_access, 0009_rules21
"""

revision = '0010_merge'
down_revision = ('0009_access', '0009_rules21')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
