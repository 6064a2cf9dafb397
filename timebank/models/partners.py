"""Outside parties: employers (工作单位) that receive reports, merchants (爱心商户) that redeem points."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.db_base import Base, BigId, utcnow
from timebank.models.org import Org


class Employer(Base):
    __tablename__ = "employer"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)  # 统一社会信用代码
    # The district (or street) that registered the unit; its admins manage it.
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(60))
    contact_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    org: Mapped[Org] = relationship()


class MerchantStatus(enum.StrEnum):
    active = "active"
    suspended = "suspended"


class Merchant(Base):
    __tablename__ = "merchant"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    credit_code: Mapped[str] = mapped_column(String(18), unique=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    status: Mapped[MerchantStatus] = mapped_column(
        Enum(MerchantStatus, native_enum=False, length=16), default=MerchantStatus.active
    )
    contact_name: Mapped[str | None] = mapped_column(String(60))
    contact_phone: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    org: Mapped[Org] = relationship()


class ApiKeyOwner(enum.StrEnum):
    merchant = "merchant"
    employer = "employer"


class ApiKey(Base):
    """Machine credentials. Only a SHA-256 of the high-entropy secret is kept; the key is shown once."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    owner_kind: Mapped[ApiKeyOwner] = mapped_column(Enum(ApiKeyOwner, native_enum=False, length=16))
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchant.id"), index=True)
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employer.id"), index=True)
    label: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column()
