"""Volunteer teams (志愿服务队): the team, its members (applied, approved, refused, left) and a team's claim of
task slots for named members. The claims themselves are `hours.models.Claim` rows pointing at their team claim."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.db_base import Base, BigId, str_enum, utcnow
from timebank.people.models import Employer, Org, Person


class TeamKind(enum.StrEnum):
    general = "general"  # 志愿服务队
    professional = "professional"  # 专业志愿服务队: one profession (`labels.PROFESSIONS`)


class TeamStatus(enum.StrEnum):
    active = "active"
    dissolved = "dissolved"


class MemberStatus(enum.StrEnum):
    applied = "applied"
    active = "active"
    refused = "refused"
    left = "left"  # left by choice, or removed by the leader (decided_by and reason say which)


class MemberRole(enum.StrEnum):
    leader = "leader"
    member = "member"


class Team(Base):
    """A team of a community (org kind community), optionally a unit's own team (employer_id)."""

    __tablename__ = "team"
    __table_args__ = (
        UniqueConstraint("org_id", "name"),
        CheckConstraint("kind = 'general' OR profession IS NOT NULL", name="professional_has_profession"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[TeamKind] = mapped_column(str_enum(TeamKind))
    profession: Mapped[str | None] = mapped_column(String(20))  # a key of `labels.PROFESSIONS`
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)  # the community
    org_path: Mapped[str] = mapped_column(String(255), index=True)
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employer.id"), index=True)
    leader_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[TeamStatus] = mapped_column(str_enum(TeamStatus), default=TeamStatus.active)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    dissolved_at: Mapped[datetime | None] = mapped_column()

    org: Mapped[Org] = relationship()
    employer: Mapped[Employer | None] = relationship()
    leader: Mapped[Person] = relationship(foreign_keys=[leader_id])


class TeamMember(Base):
    """One person in one team: an application, then a decision; one row per team and person (re-applying reuses
    it)."""

    __tablename__ = "team_member"
    __table_args__ = (UniqueConstraint("team_id", "person_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    status: Mapped[MemberStatus] = mapped_column(str_enum(MemberStatus), default=MemberStatus.applied)
    role: Mapped[MemberRole] = mapped_column(str_enum(MemberRole), default=MemberRole.member)
    note: Mapped[str] = mapped_column(String(200), default="")  # what the applicant wrote
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(String(500))  # why refused or removed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    joined_at: Mapped[datetime | None] = mapped_column()
    left_at: Mapped[datetime | None] = mapped_column()

    team: Mapped[Team] = relationship()
    person: Mapped[Person] = relationship(foreign_keys=[person_id])


Index("ix_team_member_team_status", TeamMember.team_id, TeamMember.status)


class TeamClaimStatus(enum.StrEnum):
    active = "active"
    withdrawn = "withdrawn"


class TeamClaim(Base):
    """A team taking `size` slots of a task at once for named members (all or none). One row per team and task; a
    withdrawn team claim may be taken again."""

    __tablename__ = "team_claim"
    __table_args__ = (UniqueConstraint("team_id", "task_id"), CheckConstraint("size > 0", name="size_positive"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("team.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), index=True)
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[TeamClaimStatus] = mapped_column(str_enum(TeamClaimStatus), default=TeamClaimStatus.active)
    claimed_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column()

    team: Mapped[Team] = relationship()
