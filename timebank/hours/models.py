"""Service hours: needs (群众点单), tasks (社区派单), claims (党员接单), attendance (签到签退), verification
(审核), complaints against a credit, and residents' ratings (评价).

Every row records who acted and when. Value never lives here: minutes and points are posted by the ledger;
these rows only say what was verified and which ledger transfers carried it.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.db_base import Base, BigId, str_enum, utcnow
from timebank.people.models import Org, Person


class NeedKind(enum.StrEnum):
    request = "request"
    micro_wish = "micro_wish"  # 微心愿


class NeedStatus(enum.StrEnum):
    open = "open"
    accepted = "accepted"  # turned into a task
    claimed = "claimed"  # a micro-wish claimed directly by a volunteer or a unit (`WishClaim`)
    rejected = "rejected"
    fulfilled = "fulfilled"
    closed = "closed"


class Need(Base):
    """What a resident asks for, posted by the resident or by a grid worker on their behalf."""

    __tablename__ = "need"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[NeedKind] = mapped_column(str_enum(NeedKind))
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)  # grid or community
    org_path: Mapped[str] = mapped_column(String(255), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)  # the resident served
    entered_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str | None] = mapped_column(String(40))
    wanted_by: Mapped[date | None] = mapped_column(Date)
    status: Mapped[NeedStatus] = mapped_column(str_enum(NeedStatus), default=NeedStatus.open)
    # The reason the resident reads when an admin rejected or closed the need.
    reject_reason: Mapped[str | None] = mapped_column(String(500))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    fulfilled_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Deadlines from the district's policy when posted (a later policy change does not rewrite them), and the
    # first response (acceptance, claim or rejection). Overdue: open past `respond_by`, or accepted / claimed
    # and not fulfilled past `fulfil_by` (`escalation.overdue_clause`).
    respond_by: Mapped[datetime | None] = mapped_column()
    fulfil_by: Mapped[datetime | None] = mapped_column()
    responded_at: Mapped[datetime | None] = mapped_column()
    # Who handles it now: the org it was posted at, moved up one level per escalation (grid → community →
    # street → district). `escalated_at` is the last step's time: the sweep escalates once per deadline.
    handling_org_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    handling_path: Mapped[str] = mapped_column(String(255), index=True)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    escalated_at: Mapped[datetime | None] = mapped_column()

    org: Mapped[Org] = relationship(foreign_keys=[org_id])
    handling_org: Mapped[Org] = relationship(foreign_keys=[handling_org_id])


# What the overdue list and the sweep filter on: the status with each deadline; and the needs still waiting
# (open, accepted, claimed), newest first, so the overdue list walks the current workload, not all history.
Index("ix_need_status_respond_by", Need.status, Need.respond_by)
Index("ix_need_status_fulfil_by", Need.status, Need.fulfil_by)
NEED_WAITING_SQL = "status IN ('open', 'accepted', 'claimed')"
Index("ix_need_waiting_id", Need.id, postgresql_where=text(NEED_WAITING_SQL), sqlite_where=text(NEED_WAITING_SQL))


class NeedEscalation(Base):
    """One step of a need up the tree, by a person (with a reason) or by the sweep (`by_id` None). Keyed by
    (need, level): a step is taken once, however many sweeps or people try it at the same time."""

    __tablename__ = "need_escalation"
    __table_args__ = (UniqueConstraint("need_id", "level"), CheckConstraint("level > 0", name="level_positive"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("need.id"))
    level: Mapped[int] = mapped_column(Integer)
    from_org_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    to_org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))  # None: the sweep ("system")
    # "respond" / "fulfil" (the deadline the sweep acted on) or "manual".
    cause: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    from_org: Mapped[Org] = relationship(foreign_keys=[from_org_id])
    to_org: Mapped[Org] = relationship(foreign_keys=[to_org_id])


class WishWay(enum.StrEnum):
    goods = "goods"  # 物资
    service = "service"  # 服务


class WishClaimStatus(enum.StrEnum):
    claimed = "claimed"
    fulfilled = "fulfilled"  # the claimer says it is done (with the people helped)
    confirmed = "confirmed"  # the resident (or a grid worker for them) confirms
    withdrawn = "withdrawn"


ACTIVE_WISH_CLAIM = (WishClaimStatus.claimed, WishClaimStatus.fulfilled, WishClaimStatus.confirmed)
_ACTIVE_WISH_CLAIM_SQL = "status IN ('claimed', 'fulfilled', 'confirmed')"


class WishClaim(Base):
    """A micro-wish (微心愿) claimed directly by a volunteer, or by a unit through its contact (`employer_id`).
    At most one claim per wish is not withdrawn (partial UNIQUE index); the need's status moves with it."""

    __tablename__ = "wish_claim"
    __table_args__ = (CheckConstraint("people_helped IS NULL OR people_helped >= 1", name="people_helped_positive"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("need.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)  # the volunteer, or the contact
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employer.id"), index=True)  # the unit claiming
    status: Mapped[WishClaimStatus] = mapped_column(str_enum(WishClaimStatus), default=WishClaimStatus.claimed)
    way: Mapped[WishWay] = mapped_column(str_enum(WishWay))
    goods_description: Mapped[str] = mapped_column(String(500), default="")
    people_helped: Mapped[int | None] = mapped_column(Integer)  # 惠及群众 N 人, given when fulfilled
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    fulfilled_at: Mapped[datetime | None] = mapped_column()
    confirmed_at: Mapped[datetime | None] = mapped_column()
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    withdrawn_at: Mapped[datetime | None] = mapped_column()

    need: Mapped[Need] = relationship()


Index("uq_wish_claim_active_need", WishClaim.need_id, unique=True,
      postgresql_where=text(_ACTIVE_WISH_CLAIM_SQL), sqlite_where=text(_ACTIVE_WISH_CLAIM_SQL))
Index("ix_wish_claim_need", WishClaim.need_id)


class TaskScope(enum.StrEnum):
    individual = "individual"  # 基础项目: claimed by members one by one
    organisation = "organisation"  # 重点项目: claimed by a branch's or an employer's members


class Eligibility(enum.StrEnum):
    anyone = "anyone"
    party_members = "party_members"
    branch = "branch"
    employer = "employer"


class TaskStatus(enum.StrEnum):
    published = "published"
    cancelled = "cancelled"


class Task(Base):
    """A need (or the community's own activity) published with slots, time, place, category and points rule."""

    __tablename__ = "task"
    __table_args__ = (
        CheckConstraint("slots > 0", name="slots_positive"),
        CheckConstraint("claimed >= 0 AND claimed <= slots", name="claimed_within_slots"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("points_per_hour >= 0", name="points_per_hour_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"))  # the community or one of its grids
    org_path: Mapped[str] = mapped_column(String(255), index=True)
    need_id: Mapped[int | None] = mapped_column(ForeignKey("need.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(40))
    scope: Mapped[TaskScope] = mapped_column(str_enum(TaskScope), default=TaskScope.individual)
    place: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column()
    ends_at: Mapped[datetime] = mapped_column()
    slots: Mapped[int] = mapped_column(Integer)
    # Maintained by a conditional UPDATE (claimed < slots), so slots are never oversold under concurrency.
    claimed: Mapped[int] = mapped_column(Integer, default=0)
    points_per_hour: Mapped[int] = mapped_column(Integer)
    points_cap: Mapped[int | None] = mapped_column(Integer)
    eligibility: Mapped[Eligibility] = mapped_column(str_enum(Eligibility), default=Eligibility.anyone)
    eligible_branch_id: Mapped[int | None] = mapped_column(ForeignKey("branch.id"))
    eligible_employer_id: Mapped[int | None] = mapped_column(ForeignKey("employer.id"))
    status: Mapped[TaskStatus] = mapped_column(str_enum(TaskStatus), default=TaskStatus.published)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column()

    need: Mapped[Need | None] = relationship()
    community: Mapped[Org] = relationship(foreign_keys=[community_id])

    @property
    def length_minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


Index("ix_task_community_status_starts", Task.community_id, Task.status, Task.starts_at)


class ClaimStatus(enum.StrEnum):
    active = "active"
    withdrawn = "withdrawn"
    no_show = "no_show"


class Claim(Base):
    """A volunteer's slot on a task. One row per person and task; a withdrawn claim may be taken again."""

    __tablename__ = "claim"
    __table_args__ = (UniqueConstraint("task_id", "person_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    status: Mapped[ClaimStatus] = mapped_column(str_enum(ClaimStatus), default=ClaimStatus.active)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column()
    no_show_at: Mapped[datetime | None] = mapped_column()
    no_show_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    # Set when the slot was taken by the person's volunteer team (`teams.claims`): shown as 由 X 队认领.
    team_claim_id: Mapped[int | None] = mapped_column(ForeignKey("team_claim.id"), index=True)

    task: Mapped[Task] = relationship()
    person: Mapped[Person] = relationship(foreign_keys=[person_id])


class AttendanceSource(enum.StrEnum):
    qr = "qr"  # signed rotating code shown at the site
    grid_worker = "grid_worker"  # confirmed on site by the task's grid worker
    late_entry = "late_entry"  # 补录 by an admin, with a reason


class AttendanceStatus(enum.StrEnum):
    open = "open"  # checked in, not yet out
    pending = "pending"  # awaiting verification
    accepted = "accepted"
    rejected = "rejected"
    reversed = "reversed"  # accepted, then a complaint was upheld


class Attendance(Base):
    """One session of service by one person on one task."""

    __tablename__ = "attendance"
    __table_args__ = (
        CheckConstraint("minutes IS NULL OR minutes >= 1", name="minutes_positive"),
        CheckConstraint("checked_out_at IS NULL OR checked_out_at > checked_in_at", name="out_after_in"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    org_path: Mapped[str] = mapped_column(String(255), index=True)  # the task's community path
    checked_in_at: Mapped[datetime] = mapped_column()
    checked_out_at: Mapped[datetime | None] = mapped_column()
    minutes: Mapped[int | None] = mapped_column(Integer)  # after the per-task and daily caps
    source: Mapped[AttendanceSource] = mapped_column(str_enum(AttendanceSource))
    reason: Mapped[str | None] = mapped_column(String(500))  # required for late entry
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    checked_out_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    status: Mapped[AttendanceStatus] = mapped_column(str_enum(AttendanceStatus), default=AttendanceStatus.open)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    task: Mapped[Task] = relationship()
    claim: Mapped[Claim] = relationship()
    verification: Mapped[Verification | None] = relationship(back_populates="attendance", uselist=False)


Index("ix_attendance_person_in", Attendance.person_id, Attendance.checked_in_at)
Index("ix_attendance_community_status", Attendance.community_id, Attendance.status, Attendance.id)


class CheckinNonce(Base):
    """A QR token used by one person on one task: the unique constraint is what refuses a replay."""

    __tablename__ = "checkin_nonce"
    __table_args__ = (UniqueConstraint("task_id", "person_id", "nonce"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    nonce: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(10))  # check_in / check_out
    used_at: Mapped[datetime] = mapped_column(default=utcnow)


class Decision(enum.StrEnum):
    accepted = "accepted"
    rejected = "rejected"


class Verification(Base):
    """A community admin's decision on one attendance; acceptance promises a credit through the outbox."""

    __tablename__ = "verification"
    __table_args__ = (
        CheckConstraint("minutes_accepted >= 0 AND points >= 0", name="amounts_non_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    attendance_id: Mapped[int] = mapped_column(ForeignKey("attendance.id"), unique=True)
    decision: Mapped[Decision] = mapped_column(str_enum(Decision))
    minutes_attended: Mapped[int] = mapped_column(Integer)
    minutes_accepted: Mapped[int] = mapped_column(Integer, default=0)
    points: Mapped[int] = mapped_column(Integer, default=0)
    category: Mapped[str] = mapped_column(String(40))  # the task's, kept for reports by category
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    served_on: Mapped[date] = mapped_column(Date)  # local (Asia/Shanghai) day of the service
    reason: Mapped[str | None] = mapped_column(String(500))
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    decided_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Filled by the credit job: the ledger transfers that carried the minutes and points.
    credited_at: Mapped[datetime | None] = mapped_column()
    minutes_transfer_id: Mapped[int | None] = mapped_column(BigId)
    points_transfer_id: Mapped[int | None] = mapped_column(BigId)
    reversed_at: Mapped[datetime | None] = mapped_column()

    attendance: Mapped[Attendance] = relationship(back_populates="verification")


Index("ix_verification_community_served", Verification.community_id, Verification.served_on)


class ComplaintStatus(enum.StrEnum):
    open = "open"
    upheld = "upheld"
    dismissed = "dismissed"


class Complaint(Base):
    """A later objection to a credited attendance; upheld, it reverses the credit through the ledger."""

    __tablename__ = "complaint"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    attendance_id: Mapped[int] = mapped_column(ForeignKey("attendance.id"), index=True)
    filed_by_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    text: Mapped[str] = mapped_column(String(1000))
    status: Mapped[ComplaintStatus] = mapped_column(str_enum(ComplaintStatus), default=ComplaintStatus.open)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    decision_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Rating(Base):
    """The served resident's rating of a fulfilled need (1–5 and a comment), once per need."""

    __tablename__ = "rating"
    __table_args__ = (CheckConstraint("stars BETWEEN 1 AND 5", name="stars_range"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("need.id"), unique=True)
    rater_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    stars: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
