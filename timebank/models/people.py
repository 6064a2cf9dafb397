"""People, their party membership, and the roles they hold on a part of the tree."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Enum, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.db_base import Base, BigId, utcnow
from timebank.models.org import Branch, Org


class Person(Base):
    __tablename__ = "person"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(60))
    phone: Mapped[str] = mapped_column(String(20), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Only a keyed hash (HMAC-SHA256) of the 身份证号 is kept: it can be matched, never read back.
    id_number_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
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
