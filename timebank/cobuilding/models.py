"""Units at work in a community (驻区单位共建): a unit's party organisation reports in to a community with a
resource list (资源清单) and a co-building agreement (共建协议); the community records the contributions that are
not hours (funds, venues, goods) against the agreement, and evaluates each unit once a year (双评议).

Money is kept in integer fen. A contribution is never edited: a correction is a new row that reverses it.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.db_base import Base, BigId, str_enum, utcnow
from timebank.people.models import Employer, Org


class UnitReportInStatus(enum.StrEnum):
    pending = "pending"  # submitted by the unit's contact, awaiting the community
    active = "active"  # accepted by the community
    rejected = "rejected"  # refused by the community, with a reason
    lapsed = "lapsed"  # not renewed before it expired
    withdrawn = "withdrawn"  # the unit took it back


LIVE_UNIT_REPORT_IN = (UnitReportInStatus.pending, UnitReportInStatus.active)


class UnitReportIn(Base):
    """单位报到: an employer's party organisation reports in to a community (双报到 of the unit)."""

    __tablename__ = "unit_report_in"
    __table_args__ = (CheckConstraint("expires_on >= reported_on", name="expires_after_reported"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    community_path: Mapped[str] = mapped_column(String(255), index=True)
    status: Mapped[UnitReportInStatus] = mapped_column(str_enum(UnitReportInStatus),
                                                       default=UnitReportInStatus.pending)
    party_org_name: Mapped[str] = mapped_column(String(120))  # 单位党组织名称
    contact_name: Mapped[str] = mapped_column(String(60))
    contact_phone: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(500))
    reported_on: Mapped[date] = mapped_column(Date)
    expires_on: Mapped[date] = mapped_column(Date)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    reason: Mapped[str | None] = mapped_column(String(500))
    renewed_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    community: Mapped[Org] = relationship(foreign_keys=[community_id])
    employer: Mapped[Employer] = relationship()
    resources: Mapped[list[UnitResource]] = relationship(back_populates="report_in", order_by="UnitResource.id")
    agreement: Mapped[CobuildingAgreement | None] = relationship(back_populates="report_in", uselist=False)


# One live (pending or active) report-in per unit and community; the database refuses a second.
Index("uq_unit_report_in_live", UnitReportIn.employer_id, UnitReportIn.community_id, unique=True,
      sqlite_where=text("status IN ('pending', 'active')"),
      postgresql_where=text("status IN ('pending', 'active')"))
Index("ix_unit_report_in_status_expires", UnitReportIn.status, UnitReportIn.expires_on)


class ResourceKind(enum.StrEnum):
    venue = "venue"  # 场地
    funds = "funds"  # 资金
    goods = "goods"  # 物资
    skill = "skill"  # 专业技能
    volunteers = "volunteers"  # 志愿者


class UnitResource(Base):
    """One line of the unit's resource list (资源清单): what it offers the community."""

    __tablename__ = "unit_resource"
    __table_args__ = (CheckConstraint("quantity IS NULL OR quantity >= 0", name="quantity_not_negative"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_in_id: Mapped[int] = mapped_column(ForeignKey("unit_report_in.id"), index=True)
    kind: Mapped[ResourceKind] = mapped_column(str_enum(ResourceKind))
    description: Mapped[str] = mapped_column(String(500))
    quantity: Mapped[int | None] = mapped_column(Integer)
    unit: Mapped[str | None] = mapped_column(String(20))  # 平方米, 元, 人, 次 ...
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    report_in: Mapped[UnitReportIn] = relationship(back_populates="resources")


class AgreementStatus(enum.StrEnum):
    pending = "pending"  # signed by the unit, the report-in awaits the community
    in_force = "in_force"  # the community accepted the report-in
    void = "void"  # the report-in was refused or withdrawn before acceptance
    ended = "ended"  # the report-in lapsed or was withdrawn, or the term ran out


class CobuildingAgreement(Base):
    """共建协议: what the unit and the community agree to do together, for a term."""

    __tablename__ = "cobuilding_agreement"
    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="ends_after_start"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_in_id: Mapped[int] = mapped_column(ForeignKey("unit_report_in.id"), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    terms: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    signed_on: Mapped[date | None] = mapped_column(Date)
    status: Mapped[AgreementStatus] = mapped_column(str_enum(AgreementStatus), default=AgreementStatus.pending)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    report_in: Mapped[UnitReportIn] = relationship(back_populates="agreement")


class ContributionKind(enum.StrEnum):
    funds = "funds"  # 资金
    venue = "venue"  # 场地
    goods = "goods"  # 物资
    other = "other"  # 其他


class Contribution(Base):
    """What a unit gave under its agreement that is not volunteer hours. Never edited: a correction is a new row
    (`reverses_id`) with the amount negated; a row is reversed at most once."""

    __tablename__ = "contribution"
    __table_args__ = (
        UniqueConstraint("reverses_id", name="uq_contribution_reverses"),
        CheckConstraint("reverses_id IS NOT NULL OR amount_fen IS NULL OR amount_fen >= 0",
                        name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    agreement_id: Mapped[int] = mapped_column(ForeignKey("cobuilding_agreement.id"), index=True)
    report_in_id: Mapped[int] = mapped_column(ForeignKey("unit_report_in.id"), index=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"), index=True)
    community_path: Mapped[str] = mapped_column(String(255), index=True)
    resource_id: Mapped[int | None] = mapped_column(ForeignKey("unit_resource.id"), index=True)
    kind: Mapped[ContributionKind] = mapped_column(str_enum(ContributionKind))
    description: Mapped[str] = mapped_column(String(500))
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)  # yuan × 100; negative only on a reversal
    quantity: Mapped[str | None] = mapped_column(String(60))  # "会议室 3 次", "大米 50 袋"
    on_date: Mapped[date] = mapped_column(Date)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("contribution.id"))
    reason: Mapped[str | None] = mapped_column(String(500))  # why a reversal was made
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)

    resource: Mapped[UnitResource | None] = relationship()


class UnitGrade(enum.StrEnum):
    good = "good"  # 好
    fairly_good = "fairly_good"  # 较好
    average = "average"  # 一般
    poor = "poor"  # 差


# The aspects a community scores 1–5 (columns `<aspect>_score`).
EVALUATION_ASPECTS = ("service", "resources", "agreement")


class UnitEvaluation(Base):
    """双评议, the community's half: once a year the community evaluates each unit reported in to it."""

    __tablename__ = "unit_evaluation"
    __table_args__ = (
        UniqueConstraint("employer_id", "community_id", "year", name="uq_unit_evaluation_year"),
        CheckConstraint("service_score BETWEEN 1 AND 5", name="service_score_range"),
        CheckConstraint("resources_score BETWEEN 1 AND 5", name="resources_score_range"),
        CheckConstraint("agreement_score BETWEEN 1 AND 5", name="agreement_score_range"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    report_in_id: Mapped[int] = mapped_column(ForeignKey("unit_report_in.id"), index=True)
    employer_id: Mapped[int] = mapped_column(ForeignKey("employer.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    community_path: Mapped[str] = mapped_column(String(255), index=True)
    year: Mapped[int] = mapped_column(Integer)
    grade: Mapped[UnitGrade] = mapped_column(str_enum(UnitGrade))
    service_score: Mapped[int] = mapped_column(SmallInteger)  # 参与社区服务
    resources_score: Mapped[int] = mapped_column(SmallInteger)  # 资源共享
    agreement_score: Mapped[int] = mapped_column(SmallInteger)  # 共建协议履行
    comment: Mapped[str | None] = mapped_column(Text)
    evaluated_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    evaluated_at: Mapped[datetime] = mapped_column(default=utcnow)

    community: Mapped[Org] = relationship()
