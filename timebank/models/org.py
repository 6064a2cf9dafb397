"""The governance tree (区 / 街道 / 社区 / 网格 / 楼栋) and the party branches attached to it."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, String
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
