"""Volunteer teams (志愿服务队): teams, their members, a team's claim of task slots, and the claim's team.

Revision ID: 0012_teams
Revises: 0011_joining
"""

import sqlalchemy as sa
from alembic import op

import timebank.db_base

revision = "0012_teams"
down_revision = "0011_joining"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = timebank.db_base.UTCDateTime(timezone=True)


def _enum(name: str, *values: str) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=False, length=16)


def upgrade():
    op.create_table(
        "team",
        sa.Column("id", BigId, nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("kind", _enum("teamkind", "general", "professional"), nullable=False),
        sa.Column("profession", sa.String(length=20), nullable=True),
        sa.Column("org_id", BigId, nullable=False),
        sa.Column("org_path", sa.String(length=255), nullable=False),
        sa.Column("employer_id", BigId, nullable=True),
        sa.Column("leader_id", BigId, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("status", _enum("teamstatus", "active", "dissolved"), nullable=False),
        sa.Column("created_by_id", BigId, nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("dissolved_at", When, nullable=True),
        sa.CheckConstraint("kind = 'general' OR profession IS NOT NULL",
                           name=op.f("ck_team_professional_has_profession")),
        sa.ForeignKeyConstraint(["created_by_id"], ["person.id"], name=op.f("fk_team_created_by_id_person")),
        sa.ForeignKeyConstraint(["employer_id"], ["employer.id"], name=op.f("fk_team_employer_id_employer")),
        sa.ForeignKeyConstraint(["leader_id"], ["person.id"], name=op.f("fk_team_leader_id_person")),
        sa.ForeignKeyConstraint(["org_id"], ["org.id"], name=op.f("fk_team_org_id_org")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team")),
        sa.UniqueConstraint("org_id", "name", name=op.f("uq_team_org_id_name")),
    )
    with op.batch_alter_table("team") as batch:
        batch.create_index(batch.f("ix_team_employer_id"), ["employer_id"], unique=False)
        batch.create_index(batch.f("ix_team_leader_id"), ["leader_id"], unique=False)
        batch.create_index(batch.f("ix_team_org_id"), ["org_id"], unique=False)
        batch.create_index(batch.f("ix_team_org_path"), ["org_path"], unique=False)

    op.create_table(
        "team_member",
        sa.Column("id", BigId, nullable=False),
        sa.Column("team_id", BigId, nullable=False),
        sa.Column("person_id", BigId, nullable=False),
        sa.Column("status", _enum("memberstatus", "applied", "active", "refused", "left"), nullable=False),
        sa.Column("role", _enum("memberrole", "leader", "member"), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("decided_by_id", BigId, nullable=True),
        sa.Column("decided_at", When, nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("joined_at", When, nullable=True),
        sa.Column("left_at", When, nullable=True),
        sa.ForeignKeyConstraint(["decided_by_id"], ["person.id"], name=op.f("fk_team_member_decided_by_id_person")),
        sa.ForeignKeyConstraint(["person_id"], ["person.id"], name=op.f("fk_team_member_person_id_person")),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], name=op.f("fk_team_member_team_id_team")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_member")),
        sa.UniqueConstraint("team_id", "person_id", name=op.f("uq_team_member_team_id_person_id")),
    )
    with op.batch_alter_table("team_member") as batch:
        batch.create_index(batch.f("ix_team_member_person_id"), ["person_id"], unique=False)
        batch.create_index("ix_team_member_team_status", ["team_id", "status"], unique=False)

    op.create_table(
        "team_claim",
        sa.Column("id", BigId, nullable=False),
        sa.Column("team_id", BigId, nullable=False),
        sa.Column("task_id", BigId, nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("status", _enum("teamclaimstatus", "active", "withdrawn"), nullable=False),
        sa.Column("claimed_by_id", BigId, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("withdrawn_by_id", BigId, nullable=True),
        sa.Column("withdrawn_at", When, nullable=True),
        sa.CheckConstraint("size > 0", name=op.f("ck_team_claim_size_positive")),
        sa.ForeignKeyConstraint(["claimed_by_id"], ["person.id"], name=op.f("fk_team_claim_claimed_by_id_person")),
        sa.ForeignKeyConstraint(["task_id"], ["task.id"], name=op.f("fk_team_claim_task_id_task")),
        sa.ForeignKeyConstraint(["team_id"], ["team.id"], name=op.f("fk_team_claim_team_id_team")),
        sa.ForeignKeyConstraint(["withdrawn_by_id"], ["person.id"],
                                name=op.f("fk_team_claim_withdrawn_by_id_person")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_team_claim")),
        sa.UniqueConstraint("team_id", "task_id", name=op.f("uq_team_claim_team_id_task_id")),
    )
    with op.batch_alter_table("team_claim") as batch:
        batch.create_index(batch.f("ix_team_claim_task_id"), ["task_id"], unique=False)
        batch.create_index(batch.f("ix_team_claim_team_id"), ["team_id"], unique=False)

    with op.batch_alter_table("claim") as batch:
        batch.add_column(sa.Column("team_claim_id", BigId, nullable=True))
        batch.create_index(batch.f("ix_claim_team_claim_id"), ["team_claim_id"], unique=False)
        batch.create_foreign_key(batch.f("fk_claim_team_claim_id_team_claim"), "team_claim", ["team_claim_id"],
                                 ["id"])


def downgrade():
    with op.batch_alter_table("claim") as batch:
        batch.drop_constraint(batch.f("fk_claim_team_claim_id_team_claim"), type_="foreignkey")
        batch.drop_index(batch.f("ix_claim_team_claim_id"))
        batch.drop_column("team_claim_id")
    op.drop_table("team_claim")
    op.drop_table("team_member")
    op.drop_table("team")
