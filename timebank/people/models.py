"""Who is who: the governance tree (区 / 街道 / 社区 / 网格 / 楼栋) with its party branches; people, their party
membership and the roles they hold on a part of the tree; the outside parties — employers (工作单位) that
receive reports and merchants (爱心商户) that redeem points — and the API keys they hold."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.db_base import Base, BigId, utcnow


class OrgKind(enum.StrEnum):
    district = "district"
    street = "street"
    community = "community"
    grid = "grid"
    building = "building"


# A child must be exactly one level below its parent.
ORG_LEVEL = {OrgKind.district: 0, OrgKind.street: 1, OrgKind.community: 2, OrgKind.grid: 3, OrgKind.building: 4}


class Org(Base):
    """A node of the tree. `path` ("/1/4/9/") makes subtree checks one indexed LIKE on any database."""

    __tablename__ = "org"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[OrgKind] = mapped_column(Enum(OrgKind, native_enum=False, length=16))
    name: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)
    path: Mapped[str] = mapped_column(String(255), default="", index=True)
    # Per-node policy: categories, points rules, caps, expiry months (read up the tree, nearest wins).
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    parent: Mapped[Org | None] = relationship(remote_side=[id])

    def is_within(self, ancestor_path: str) -> bool:
        return self.path.startswith(ancestor_path)


class Branch(Base):
    """党支部: a party branch attached to an org node (or to an employer's organisation)."""

    __tablename__ = "branch"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    org_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    org: Mapped[Org] = relationship()


Index("ix_org_kind_path", Org.kind, Org.path)


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Only a keyed hash (HMAC-SHA256) of the 身份证号 is kept: it can be matched, never read back.
    id_number_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    # 志愿者编号: shown wherever a person is named to others, never an ID number ("V" + the zero-padded id: stable,
    # community-independent, never reused). Assigned at registration, by sign-up and by import alike.
    volunteer_no: Mapped[str | None] = mapped_column(String(16), unique=True)
    home_org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Bumped to revoke every bearer token issued so far.
    token_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    home_org: Mapped[Org | None] = relationship()
    party_member: Mapped[PartyMember | None] = relationship(back_populates="person", uselist=False)
    grants: Mapped[list[RoleGrant]] = relationship(
        back_populates="person", foreign_keys="RoleGrant.person_id", cascade="all, delete-orphan"
    )


class PartyMemberStatus(enum.StrEnum):
    in_service = "in_service"  # 在职党员
    registered = "registered"  # 注册/流动党员
    retired = "retired"  # 离退休党员


class PartyMember(Base):
    __tablename__ = "party_member"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), unique=True)
    status: Mapped[PartyMemberStatus] = mapped_column(Enum(PartyMemberStatus, native_enum=False, length=16))
    branch_id: Mapped[int | None] = mapped_column(ForeignKey("branch.id"), index=True)
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employer.id"), index=True)
    joined_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(back_populates="party_member")
    branch: Mapped[Branch | None] = relationship()
    employer: Mapped[Employer | None] = relationship()  # noqa: F821 - resolved by the registry


class Role(enum.StrEnum):
    volunteer = "volunteer"
    grid_worker = "grid_worker"
    community_admin = "community_admin"
    street_admin = "street_admin"
    district_admin = "district_admin"
    auditor = "auditor"
    merchant_staff = "merchant_staff"  # a shop assistant's login, tied to one merchant
    employer_contact = "employer_contact"  # an employer's party secretary, tied to one employer


class RoleGrant(Base):
    """A role on an org subtree, or on one merchant / employer (exactly one target)."""

    __tablename__ = "role_grant"
    __table_args__ = (UniqueConstraint("person_id", "role", "org_id", "merchant_id", "employer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=24))
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchant.id"), index=True)
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employer.id"), index=True)
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(back_populates="grants", foreign_keys=[person_id])
    org: Mapped[Org | None] = relationship()


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
