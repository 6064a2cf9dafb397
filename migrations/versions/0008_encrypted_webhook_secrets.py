"""Wider webhook secret columns: the secrets are stored encrypted.

db_base.EncryptedString keeps webhook signing secrets as ciphertext, which needs the room. Secrets already stored
in clear stay readable and are encrypted when next written (rotate them to encrypt them now).

Revision ID: 0008_encrypted_webhook_secrets
Revises: 0007_ledger_account_check
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_encrypted_webhook_secrets"
down_revision = "0007_ledger_account_check"
branch_labels = None
depends_on = None

COLUMNS = {"merchant_profile": 100, "employer_delivery_profile": 120}


def upgrade():
    for table, old_length in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            batch.alter_column("webhook_secret", type_=sa.String(255), existing_type=sa.String(old_length),
                               existing_nullable=True)


def downgrade():
    for table, old_length in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            batch.alter_column("webhook_secret", type_=sa.String(old_length), existing_type=sa.String(255),
                               existing_nullable=True)
