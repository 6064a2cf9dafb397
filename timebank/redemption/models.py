"""Merchant redemption (兑换 / 核销): merchant profiles, the rewards catalogue, redemptions, one-time pay codes,
signed webhook deliveries, settlements and merchant reconciliations.

Value never lives here: points move only through `timebank.ledger` (hold -> capture | release); these rows
record the state machine around each hold and point at its ledger transfers by id.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.db_base import Base, BigId, EncryptedString, str_enum, utcnow


class MerchantProfile(Base):
    """What a merchant needs beyond the foundation's `merchant` row: where and how we notify it."""

    __tablename__ = "merchant_profile"

    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), primary_key=True, autoincrement=False)
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    # Needed in clear to sign each delivery; the API shows it once (on creation / rotation), never again.
    webhook_secret: Mapped[str | None] = mapped_column(EncryptedString)  # encrypted at rest
    secret_rotated_at: Mapped[datetime | None] = mapped_column()
    # Shown with the rewards, so a volunteer knows where and when to pick up.
    address: Mapped[str | None] = mapped_column(String(200))
    opening_hours: Mapped[str | None] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class MerchantCommunity(Base):
    """A community (社区) the merchant serves: its rewards may be offered there."""

    __tablename__ = "merchant_community"
    __table_args__ = (UniqueConstraint("merchant_id", "org_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)


class RewardStatus(enum.StrEnum):
    active = "active"
    retired = "retired"


class LimitPeriod(enum.StrEnum):
    day = "day"
    week = "week"
    month = "month"
    year = "year"
    ever = "ever"


class Reward(Base):
    """A catalogue item. `stock` NULL means unlimited; reservations decrement it with a conditional UPDATE."""

    __tablename__ = "reward"
    __table_args__ = (
        CheckConstraint("points_price > 0", name="price_positive"),
        CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),
        CheckConstraint("per_person_limit IS NULL OR per_person_limit > 0", name="limit_positive"),
        CheckConstraint("hold_minutes > 0", name="hold_minutes_positive"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    points_price: Mapped[int] = mapped_column(Integer)
    stock: Mapped[int | None] = mapped_column(Integer)
    active_from: Mapped[datetime | None] = mapped_column()
    active_until: Mapped[datetime | None] = mapped_column()
    per_person_limit: Mapped[int | None] = mapped_column(Integer)
    limit_period: Mapped[LimitPeriod] = mapped_column(str_enum(LimitPeriod), default=LimitPeriod.month)
    # How long the volunteer's pickup code (and the points hold) stays valid.
    hold_minutes: Mapped[int] = mapped_column(Integer, default=60 * 24)
    status: Mapped[RewardStatus] = mapped_column(str_enum(RewardStatus), default=RewardStatus.active)
    # Bumped by every reservation: the row lock that serialises a reward's redemptions (limits, stock).
    version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    communities: Mapped[list[RewardCommunity]] = relationship(lazy="selectin", cascade="all, delete-orphan")

    @property
    def community_ids(self) -> list[int]:
        return sorted(c.org_id for c in self.communities)


class RewardCommunity(Base):
    __tablename__ = "reward_community"
    __table_args__ = (UniqueConstraint("reward_id", "org_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("reward.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)


class RedemptionStatus(enum.StrEnum):
    held = "held"
    captured = "captured"
    released = "released"


class RedemptionOrigin(enum.StrEnum):
    pickup = "pickup"  # the volunteer chose the reward and shows a pickup code
    till = "till"  # the merchant entered the volunteer's one-time pay code at the till


class ReleaseReason(enum.StrEnum):
    refused = "refused"
    cancelled = "cancelled"
    expired = "expired"


class Redemption(Base):
    """One hold of a volunteer's points for one unit of a reward; ends captured or released exactly once."""

    __tablename__ = "redemption"
    __table_args__ = (
        CheckConstraint("points > 0", name="points_positive"),
        Index("ix_redemption_merchant_status_captured", "merchant_id", "status", "captured_at"),
        Index("ix_redemption_status_expires", "status", "expires_at"),
        Index("ix_redemption_person_reward_created", "person_id", "reward_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reward_id: Mapped[int] = mapped_column(ForeignKey("reward.id"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    # The volunteer's community: the region every query names, and the admins' scope.
    community_id: Mapped[int] = mapped_column(ForeignKey("org.id"))
    org_path: Mapped[str] = mapped_column(String(255), index=True)
    points: Mapped[int] = mapped_column(Integer)
    status: Mapped[RedemptionStatus] = mapped_column(str_enum(RedemptionStatus), default=RedemptionStatus.held)
    origin: Mapped[RedemptionOrigin] = mapped_column(str_enum(RedemptionOrigin), default=RedemptionOrigin.pickup)
    release_reason: Mapped[ReleaseReason | None] = mapped_column(str_enum(ReleaseReason))
    note: Mapped[str | None] = mapped_column(String(200))
    # SHA-256 of the normalised pickup code; the code itself is shown to the volunteer only.
    code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    hold_transfer_id: Mapped[int | None] = mapped_column(BigInteger)
    capture_transfer_id: Mapped[int | None] = mapped_column(BigInteger)
    release_transfer_id: Mapped[int | None] = mapped_column(BigInteger)
    expires_at: Mapped[datetime] = mapped_column()
    merchant_ack_at: Mapped[datetime | None] = mapped_column()
    captured_at: Mapped[datetime | None] = mapped_column()
    released_at: Mapped[datetime | None] = mapped_column()
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlement.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PayCode(Base):
    """A volunteer's one-time code for the till (付款码): short-lived, used at most once."""

    __tablename__ = "pay_code"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    redemption_id: Mapped[int | None] = mapped_column(ForeignKey("redemption.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class SettlementKind(enum.StrEnum):
    paid = "paid"  # the community pays the merchant; the points go back to the community's issuing account
    donated = "donated"  # the merchant donates the goods; the points go to the community fund


class Settlement(Base):
    """A merchant's captured points for one period, moved out of its account by `Code.settlement` transfers."""

    __tablename__ = "settlement"
    __table_args__ = (
        UniqueConstraint("merchant_id", "period_start", "period_end"),
        CheckConstraint("points >= 0", name="points_not_negative"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    period_start: Mapped[datetime] = mapped_column()
    period_end: Mapped[datetime] = mapped_column()
    kind: Mapped[SettlementKind] = mapped_column(str_enum(SettlementKind))
    points: Mapped[int] = mapped_column(Integer)
    redemption_count: Mapped[int] = mapped_column(Integer)
    transfer_ids: Mapped[list] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReconciliationStatus(enum.StrEnum):
    queued = "queued"
    done = "done"


class MerchantReconciliation(Base):
    """A merchant's own CSV record for a period, matched by a worker against captured redemptions."""

    __tablename__ = "merchant_reconciliation"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    period_start: Mapped[datetime] = mapped_column()
    period_end: Mapped[datetime] = mapped_column()
    status: Mapped[ReconciliationStatus] = mapped_column(str_enum(ReconciliationStatus),
                                                         default=ReconciliationStatus.queued)
    csv_text: Mapped[str] = mapped_column(Text)
    uploaded_by: Mapped[str] = mapped_column(String(40))
    report: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
