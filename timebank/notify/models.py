"""Notifications: the inbox item a person reads, its deliveries per external channel with their attempts, a
person's preferences and contact addresses, and one-time codes."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from timebank.db_base import Base, BigId, EncryptedString, str_enum, utcnow


class Notification(Base):
    """One event told to one person: the in-app inbox item. UNIQUE (person, dedupe key): told once."""

    __tablename__ = "notification"
    __table_args__ = (
        UniqueConstraint("person_id", "dedupe_key"),
        Index("ix_notification_person_id_id", "person_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(120))
    title: Mapped[str] = mapped_column(String(120))
    body: Mapped[str] = mapped_column(String(1000))
    # Why external channels were skipped: "capped" (the person's daily cap was reached).
    note: Mapped[str | None] = mapped_column(String(40))
    read_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryState(enum.StrEnum):
    pending = "pending"  # due at next_attempt_at (deferred past quiet hours, or backing off)
    sent = "sent"
    dead = "dead"


class NotificationDelivery(Base):
    """One message over one external channel. `lease_until` is committed before the provider call, so a worker
    killed mid-send leaves a row that is retried once the lease runs out, under the same id, which goes to the
    provider as the idempotency id (out-trade-no) it dedupes on."""

    __tablename__ = "notification_delivery"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel"),
        Index("ix_notification_delivery_state_next", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    notification_id: Mapped[int | None] = mapped_column(ForeignKey("notification.id"), index=True)
    code_id: Mapped[int | None] = mapped_column(ForeignKey("one_time_code.id"), unique=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[DeliveryState] = mapped_column(str_enum(DeliveryState), default=DeliveryState.pending)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=6)
    resends: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column()
    provider_ref: Mapped[str | None] = mapped_column(String(120))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DeliveryAttempt(Base):
    """Each call to a provider, kept for the admins' view of failures."""

    __tablename__ = "notification_attempt"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("notification_delivery.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool] = mapped_column()
    error: Mapped[str | None] = mapped_column(String(500))
    elapsed_ms: Mapped[int] = mapped_column(Integer, default=0)


class NotifyPreference(Base):
    """The channels a person wants for one kind (an empty list: opted out). No row: the kind's defaults."""

    __tablename__ = "notify_preference"
    __table_args__ = (UniqueConstraint("person_id", "kind"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"))
    kind: Mapped[str] = mapped_column(String(40))
    channels: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotifyContact(Base):
    """Where a person is reached besides their phone: an e-mail address, a WeChat OpenID (kept encrypted)."""

    __tablename__ = "notify_contact"

    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(254))
    wechat_openid: Mapped[str | None] = mapped_column(EncryptedString())
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class OneTimeCode(Base):
    """A security code sent to a phone: only its hash is kept for checking; the sender reads `sealed`
    (encrypted at rest) once, and it is cleared when sent."""

    __tablename__ = "one_time_code"
    __table_args__ = (Index("ix_one_time_code_phone_purpose", "phone", "purpose", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64))
    sealed: Mapped[str | None] = mapped_column(EncryptedString())
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


