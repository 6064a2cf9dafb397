"""In-service party member appraisal: report-in (双报到), periods and runs, one report per employer per
run (一信一函), its delivery, and the employer's evaluation back (双评议).

Figures live on `AppraisalEntry.metrics` together with the ledger transfer ids and attendance ids they were
counted from, so every number in a report can be traced back to the journal.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.db_base import Base, BigId, EncryptedString, str_enum, utcnow
from timebank.people.models import Employer, Org


class ReportInStatus(enum.StrEnum):
    pending = "pending"  # submitted by the member, awaiting the community
    accepted = "accepted"  # the community accepted it
    rejected = "rejected"  # the community refused it (wrong address, not a resident, ...)
    moved = "moved"  # superseded by a report-in to another community
    expired = "expired"  # not renewed in time


ACTIVE_REPORT_IN = (ReportInStatus.pending, ReportInStatus.accepted)


class ReportIn(Base):
    """双报到: an in-service party member reports in to the community where they live, naming the employer."""

    __tablename__ = "report_in"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    party_member_id: Mapped[int] = mapped_column(ForeignKey("party_member.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    community_path: Mapped[str] = mapped_column(String(255), index=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"), index=True)
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branch.id"))
    reported_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    status: Mapped[ReportInStatus] = mapped_column(str_enum(ReportInStatus), default=ReportInStatus.pending)
    note: Mapped[str | None] = mapped_column(String(500))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    reject_reason: Mapped[str | None] = mapped_column(String(500))
    renewed_at: Mapped[datetime | None] = mapped_column()
    moved_to_id: Mapped[int | None] = mapped_column(ForeignKey("report_in.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    community: Mapped[Org] = relationship(foreign_keys=[community_id])
    employer: Mapped[Employer] = relationship()


# At most one live (pending or accepted) report-in per member; the database refuses a second.
Index("uq_report_in_live_member", ReportIn.party_member_id, unique=True,
      sqlite_where=text("status IN ('pending', 'accepted')"),
      postgresql_where=text("status IN ('pending', 'accepted')"))
Index("ix_report_in_employer_status", ReportIn.employer_id, ReportIn.status)


class PeriodKind(enum.StrEnum):
    quarter = "quarter"
    half_year = "half_year"
    year = "year"


class AppraisalPeriod(Base):
    """A quarter, half-year or year of one district; dates are local (Asia/Shanghai) and inclusive."""

    __tablename__ = "appraisal_period"
    __table_args__ = (
        UniqueConstraint("district_id", "kind", "starts_on"),
        CheckConstraint("ends_on >= starts_on", name="ends_after_start"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    district_path: Mapped[str] = mapped_column(String(255))
    kind: Mapped[PeriodKind] = mapped_column(str_enum(PeriodKind))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    label: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    district: Mapped[Org] = relationship()


class RunStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    done = "done"  # every entry has an outcome (some may have failed with a reason)


class AppraisalRun(Base):
    """One computation of a period's reports. Progress = entries done / total, and how many failed."""

    __tablename__ = "appraisal_run"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("appraisal_period.id"), index=True)
    district_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    district_path: Mapped[str] = mapped_column(String(255))
    status: Mapped[RunStatus] = mapped_column(str_enum(RunStatus), default=RunStatus.queued)
    started_by: Mapped[str] = mapped_column(String(40))  # actor label, "system" for the schedule
    trigger: Mapped[str] = mapped_column(String(16), default="admin")  # admin / schedule
    weights: Mapped[dict] = mapped_column(JSON, default=dict)  # the vanguard weights in force
    total_members: Mapped[int] = mapped_column(Integer, default=0)
    total_reports: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()

    period: Mapped[AppraisalPeriod] = relationship()


class ReportStatus(enum.StrEnum):
    pending = "pending"
    rendered = "rendered"
    failed = "failed"  # rendering itself failed (members' own failures do not fail the report)


class AppraisalReport(Base):
    """一信一函: the letter and table for one employer and one run, with its verification code."""

    __tablename__ = "appraisal_report"
    __table_args__ = (UniqueConstraint("run_id", "employer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("appraisal_run.id"), index=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"), index=True)
    district_path: Mapped[str] = mapped_column(String(255))
    status: Mapped[ReportStatus] = mapped_column(str_enum(ReportStatus), default=ReportStatus.pending)
    verification_code: Mapped[str] = mapped_column(String(24), unique=True)
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    pdf_sha256: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    rendered_at: Mapped[datetime | None] = mapped_column()
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    acknowledged_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    run: Mapped[AppraisalRun] = relationship()
    employer: Mapped[Employer] = relationship()


class EntryStatus(enum.StrEnum):
    pending = "pending"
    done = "done"
    failed = "failed"


class AppraisalEntry(Base):
    """One member's figures in one run: the metrics, the vanguard index, and the entries they came from."""

    __tablename__ = "appraisal_entry"
    __table_args__ = (UniqueConstraint("run_id", "party_member_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("appraisal_run.id"))
    report_id: Mapped[int] = mapped_column(ForeignKey("appraisal_report.id"), index=True)
    party_member_id: Mapped[int] = mapped_column(ForeignKey("party_member.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    # The community the member reported in to (None if not): its admins read this entry and its evaluation.
    community_path: Mapped[str | None] = mapped_column(String(255), index=True)
    status: Mapped[EntryStatus] = mapped_column(str_enum(EntryStatus), default=EntryStatus.pending)
    error: Mapped[str | None] = mapped_column(String(500))
    metrics: Mapped[dict | None] = mapped_column(JSON)
    vanguard_index: Mapped[float | None] = mapped_column(Float)
    transfer_ids: Mapped[list | None] = mapped_column(JSON)  # ledger transfers counted
    attendance_ids: Mapped[list | None] = mapped_column(JSON)  # attendances counted
    computed_at: Mapped[datetime | None] = mapped_column()


Index("ix_appraisal_entry_run_status", AppraisalEntry.run_id, AppraisalEntry.status)


class DeliveryChannel(enum.StrEnum):
    email = "email"
    webhook = "webhook"
    portal = "portal"


class DeliveryProfile(Base):
    """How an employer wants its reports: e-mail address, a webhook URL and secret, or portal download."""

    __tablename__ = "employer_delivery_profile"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"), unique=True)
    channel: Mapped[DeliveryChannel] = mapped_column(str_enum(DeliveryChannel))
    email: Mapped[str | None] = mapped_column(String(254))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(EncryptedString)  # encrypted at rest
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryStatus(enum.StrEnum):
    queued = "queued"
    sent = "sent"
    failed = "failed"  # gave up after the last attempt (a re-send queues it again)
    acknowledged = "acknowledged"


class ReportDelivery(Base):
    """One delivery of a report over one channel; retried with back-off, re-sent on request."""

    __tablename__ = "appraisal_delivery"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("appraisal_report.id"), index=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"), index=True)
    channel: Mapped[DeliveryChannel] = mapped_column(str_enum(DeliveryChannel))
    target: Mapped[str | None] = mapped_column(String(500))  # address or URL (never the secret)
    status: Mapped[DeliveryStatus] = mapped_column(str_enum(DeliveryStatus), default=DeliveryStatus.queued)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(1000))
    sent_at: Mapped[datetime | None] = mapped_column()
    link_expires_at: Mapped[datetime | None] = mapped_column()  # portal links
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    report: Mapped[AppraisalReport] = relationship()


class Grade(enum.StrEnum):
    excellent = "excellent"  # 优秀
    competent = "competent"  # 称职 / 合格
    basically_competent = "basically_competent"  # 基本称职
    incompetent = "incompetent"  # 不称职


GRADE_LABELS = {Grade.excellent: "优秀", Grade.competent: "称职", Grade.basically_competent: "基本称职",
                Grade.incompetent: "不称职"}


class EmployerEvaluation(Base):
    """双评议: the employer's own grade and comment on one member's entry, which the community reads."""

    __tablename__ = "employer_evaluation"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("appraisal_entry.id"), unique=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("appraisal_report.id"), index=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"))
    grade: Mapped[Grade] = mapped_column(str_enum(Grade, 24))
    comment: Mapped[str] = mapped_column(String(1000), default="")
    evaluated_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
