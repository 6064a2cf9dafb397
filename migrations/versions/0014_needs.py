"""Needs: response and fulfilment deadlines, the org handling a need and its escalation steps; micro-wishes
claimed directly by a volunteer or a unit.

Revision ID: 0014_needs
Revises: 0013_cobuilding
"""

import sqlalchemy as sa
from alembic import op

from timebank.db_base import UTCDateTime

revision = "0014_needs"
down_revision = "0013_cobuilding"
branch_labels = None
depends_on = None

ACTIVE = "status IN ('claimed', 'fulfilled', 'confirmed')"
WAITING = "status IN ('open', 'accepted', 'claimed')"


def upgrade():
    with op.batch_alter_table("need") as batch:
        batch.add_column(sa.Column("respond_by", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("fulfil_by", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("responded_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("handling_org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                                   nullable=True))
        batch.add_column(sa.Column("handling_path", sa.String(255), nullable=True))
        batch.add_column(sa.Column("escalation_level", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("escalated_at", UTCDateTime(), nullable=True))
    # Needs posted before: handled where they were posted; their first decision was their response.
    op.execute("UPDATE need SET handling_org_id = org_id, handling_path = org_path, responded_at = decided_at")
    with op.batch_alter_table("need") as batch:
        batch.alter_column("handling_org_id", existing_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                           nullable=False)
        batch.alter_column("handling_path", existing_type=sa.String(255), nullable=False)
        batch.alter_column("escalation_level", existing_type=sa.Integer(), server_default=None)
        batch.create_foreign_key("fk_need_handling_org_id_org", "org", ["handling_org_id"], ["id"])
        batch.create_index("ix_need_handling_path", ["handling_path"])
        batch.create_index("ix_need_status_respond_by", ["status", "respond_by"])
        batch.create_index("ix_need_status_fulfil_by", ["status", "fulfil_by"])
    op.create_index("ix_need_waiting_id", "need", ["id"], postgresql_where=sa.text(WAITING),
                    sqlite_where=sa.text(WAITING))

    op.create_table(
        "need_escalation",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("need_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("from_org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("to_org_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("cause", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.CheckConstraint("level > 0", name="ck_need_escalation_level_positive"),
        sa.ForeignKeyConstraint(["need_id"], ["need.id"], name="fk_need_escalation_need_id_need"),
        sa.ForeignKeyConstraint(["from_org_id"], ["org.id"], name="fk_need_escalation_from_org_id_org"),
        sa.ForeignKeyConstraint(["to_org_id"], ["org.id"], name="fk_need_escalation_to_org_id_org"),
        sa.ForeignKeyConstraint(["by_id"], ["person.id"], name="fk_need_escalation_by_id_person"),
        sa.PrimaryKeyConstraint("id", name="pk_need_escalation"),
        sa.UniqueConstraint("need_id", "level", name="uq_need_escalation_need_id_level"),
    )
    op.create_index("ix_need_escalation_to_org_id", "need_escalation", ["to_org_id"])

    op.create_table(
        "wish_claim",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("need_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("community_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("person_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("employer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("status", sa.Enum("claimed", "fulfilled", "confirmed", "withdrawn", name="wishclaimstatus",
                                    native_enum=False, length=16), nullable=False),
        sa.Column("way", sa.Enum("goods", "service", name="wishway", native_enum=False, length=16), nullable=False),
        sa.Column("goods_description", sa.String(500), nullable=False),
        sa.Column("people_helped", sa.Integer(), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
        sa.Column("fulfilled_at", UTCDateTime(), nullable=True),
        sa.Column("confirmed_at", UTCDateTime(), nullable=True),
        sa.Column("confirmed_by_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("withdrawn_at", UTCDateTime(), nullable=True),
        sa.CheckConstraint("people_helped IS NULL OR people_helped >= 1",
                           name="ck_wish_claim_people_helped_positive"),
        sa.ForeignKeyConstraint(["need_id"], ["need.id"], name="fk_wish_claim_need_id_need"),
        sa.ForeignKeyConstraint(["community_id"], ["org.id"], name="fk_wish_claim_community_id_org"),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name="fk_wish_claim_person_id_person"),
        sa.ForeignKeyConstraint(["employer_id"], ["employer.id"], name="fk_wish_claim_employer_id_employer"),
        sa.ForeignKeyConstraint(["confirmed_by_id"], ["person.id"], name="fk_wish_claim_confirmed_by_id_person"),
        sa.PrimaryKeyConstraint("id", name="pk_wish_claim"),
    )
    op.create_index("ix_wish_claim_need", "wish_claim", ["need_id"])
    op.create_index("ix_wish_claim_community_id", "wish_claim", ["community_id"])
    op.create_index("ix_wish_claim_person_id", "wish_claim", ["person_id"])
    op.create_index("ix_wish_claim_employer_id", "wish_claim", ["employer_id"])
    op.create_index("uq_wish_claim_active_need", "wish_claim", ["need_id"], unique=True,
                    postgresql_where=sa.text(ACTIVE), sqlite_where=sa.text(ACTIVE))


def downgrade():
    op.drop_table("wish_claim")
    op.drop_table("need_escalation")
    op.drop_index("ix_need_waiting_id", "need")
    with op.batch_alter_table("need") as batch:
        batch.drop_index("ix_need_status_fulfil_by")
        batch.drop_index("ix_need_status_respond_by")
        batch.drop_index("ix_need_handling_path")
        batch.drop_constraint("fk_need_handling_org_id_org", type_="foreignkey")
        for column in ("escalated_at", "escalation_level", "handling_path", "handling_org_id", "responded_at",
                       "fulfil_by", "respond_by"):
            batch.drop_column(column)
