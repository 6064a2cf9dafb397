"""Service projects (服务项目) made from residents' needs: the project list of the three lists (三张清单).

A community admin groups needs (by category and place) into a project of a tier (基础 / 重点 / 精品) with a goal,
a period, a budget of hours and points and the resources it asks for. An organisation claims it (党组织认领: a
unit's party organisation, a party branch or a volunteer team), tasks are published under it, and the community
accepts it with the residents' satisfaction before closing it.

open → claimed → in_progress → accepted → closed; open or claimed (no task yet) → cancelled.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, SmallInteger, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.cobuilding.models import ResourceKind, UnitResource
from timebank.db_base import Base, BigId, str_enum, utcnow
from timebank.hours.models import Need, Task
from timebank.people.models import Branch, Employer, Org
from timebank.teams.models import Team


class ProjectTier(enum.StrEnum):
    basic = "basic"  # 基础项目
    key = "key"  # 重点项目: a common need, claimed by a party organisation
    flagship = "flagship"  # 精品项目: a service brand


class ProjectStatus(enum.StrEnum):
    open = "open"  # published in the community's project list, waiting for a claim
    claimed = "claimed"  # an organisation took it
    in_progress = "in_progress"  # its first task was published
    accepted = "accepted"  # the community accepted the work, with the residents' satisfaction
    closed = "closed"
    cancelled = "cancelled"  # withdrawn before any task; its needs went back to the needs list


class Project(Base):
    __tablename__ = "project"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
        CheckConstraint("budget_minutes >= 0 AND budget_points >= 0", name="budget_not_negative"),
        CheckConstraint("satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="satisfaction_range"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    community_path: Mapped[str] = mapped_column(String(255), index=True)
    title: Mapped[str] = mapped_column(String(120))
    tier: Mapped[ProjectTier] = mapped_column(str_enum(ProjectTier))
    category: Mapped[str] = mapped_column(String(40))
    place: Mapped[str] = mapped_column(String(200))
    goal: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    budget_minutes: Mapped[int] = mapped_column(Integer)
    budget_points: Mapped[int] = mapped_column(Integer)
    status: Mapped[ProjectStatus] = mapped_column(str_enum(ProjectStatus), default=ProjectStatus.open)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    accepted_at: Mapped[datetime | None] = mapped_column()
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    satisfaction: Mapped[int | None] = mapped_column(SmallInteger)  # 群众满意度 1–5, recorded at acceptance
    acceptance_note: Mapped[str | None] = mapped_column(String(500))
    closed_at: Mapped[datetime | None] = mapped_column()
    cancelled_at: Mapped[datetime | None] = mapped_column()
    cancel_reason: Mapped[str | None] = mapped_column(String(500))

    community: Mapped[Org] = relationship()
    resources: Mapped[list[ProjectResource]] = relationship(back_populates="project", order_by="ProjectResource.id")


Index("ix_project_status_community_path", Project.status, Project.community_path)


class ProjectNeed(Base):
    """A need the project answers. A need belongs to one project at most (a cancelled project lets go)."""

    __tablename__ = "project_need"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("need.id"), unique=True)

    need: Mapped[Need] = relationship()


class ProjectResource(Base):
    """A resource the project asks for (场地, 物资, 专业技能 …), and the unit resource arranged for it, if any."""

    __tablename__ = "project_resource"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    kind: Mapped[ResourceKind] = mapped_column(str_enum(ResourceKind))
    description: Mapped[str] = mapped_column(String(200))
    unit_resource_id: Mapped[int | None] = mapped_column(ForeignKey("unit_resource.id"), index=True)

    project: Mapped[Project] = relationship(back_populates="resources")
    unit_resource: Mapped[UnitResource | None] = relationship()


class ClaimantKind(enum.StrEnum):
    unit = "unit"  # a unit's party organisation (单位党组织), through the unit's contact
    branch = "branch"  # a party branch (党支部), through one of its members or an admin over it
    team = "team"  # a volunteer team (志愿服务队), through its leader


class ProjectClaimStatus(enum.StrEnum):
    active = "active"
    withdrawn = "withdrawn"


ACTIVE_PROJECT_CLAIM = "status = 'active'"


class ProjectClaim(Base):
    """党组织认领: exactly one organisation holds a project; a partial UNIQUE index refuses a second active claim."""

    __tablename__ = "project_claim"
    __table_args__ = (
        CheckConstraint("(CASE WHEN employer_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN branch_id IS NULL THEN 0 "
                        "ELSE 1 END) + (CASE WHEN team_id IS NULL THEN 0 ELSE 1 END) = 1", name="one_claimant"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"))
    kind: Mapped[ClaimantKind] = mapped_column(str_enum(ClaimantKind))
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employer.id"), index=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branch.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("team.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))  # who claimed for the organisation
    status: Mapped[ProjectClaimStatus] = mapped_column(str_enum(ProjectClaimStatus),
                                                       default=ProjectClaimStatus.active)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column()

    project: Mapped[Project] = relationship()
    employer: Mapped[Employer | None] = relationship()
    branch: Mapped[Branch | None] = relationship()
    team: Mapped[Team | None] = relationship()

    @property
    def claimant(self) -> str:
        """The organisation holding the claim, by name."""
        holder = self.employer or self.branch or self.team
        return holder.name if holder is not None else ""


Index("uq_project_claim_active", ProjectClaim.project_id, unique=True,
      sqlite_where=text(ACTIVE_PROJECT_CLAIM), postgresql_where=text(ACTIVE_PROJECT_CLAIM))


class ProjectTask(Base):
    """A task published under the project (its hours count for the project and its claimant)."""

    __tablename__ = "project_task"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("project.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), unique=True)

    task: Mapped[Task] = relationship()
