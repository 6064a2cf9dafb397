"""A merchant's shop address and opening hours, shown with its rewards in the volunteer app.

Revision ID: 0010_merchant_shop_details
Revises: 0009_notifications
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_merchant_shop_details"
down_revision = "0009_notifications"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("merchant_profile") as batch:
        batch.add_column(sa.Column("address", sa.String(200), nullable=True))
        batch.add_column(sa.Column("opening_hours", sa.String(100), nullable=True))


def downgrade():
    with op.batch_alter_table("merchant_profile") as batch:
        batch.drop_column("opening_hours")
        batch.drop_column("address")
