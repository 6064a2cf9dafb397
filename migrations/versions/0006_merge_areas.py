"""Merge the areas' migration branches (ledger, hours, redemption, appraisal) into one head.

Revision ID: 0006_merge_areas
Revises: 0002_ledger, 0003_hours, 0004_redemption, 0005_appraisal
"""

revision = "0006_merge_areas"
down_revision = ("0002_ledger", "0003_hours", "0004_redemption", "0005_appraisal")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
