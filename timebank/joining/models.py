"""The join request a community decides, and the record of each bulk import."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from timebank.db_base import Base, BigId, str_enum, utcnow
from timebank.people.models import Org, Person


class JoinStatus(enum.StrEnum):
    pending = "pending"
    approved = "approved"
    refused = "refused"


class JoinRequest(Base):
    """A self-registered person asks to join a community; until it is approved they have no home community (and so
    cannot claim tasks)."""

    __tablename__ = "join_request"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("org.id"), index=True)
    community_path: Mapped[str] = mapped_column(String(255), index=True)
    status: Mapped[JoinStatus] = mapped_column(str_enum(JoinStatus), default=JoinStatus.pending)
    reason: Mapped[str | None] = mapped_column(String(200))
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    decided_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    community: Mapped[Org] = relationship(foreign_keys=[community_id])


# At most one pending request per person; the database refuses a second.
Index("uq_join_request_pending_person", JoinRequest.person_id, unique=True,
      sqlite_where=text("status = 'pending'"), postgresql_where=text("status = 'pending'"))


class ImportBatch(Base):
    """One committed bulk import, for the audit: who, when, which file (its SHA-256), how it went."""

    __tablename__ = "import_batch"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    actor: Mapped[str] = mapped_column(String(40))  # "person:12" — who imported
    org_id: Mapped[int | None] = mapped_column(ForeignKey("org.id"), index=True)  # the community admin's scope
    employer_id: Mapped[int | None] = mapped_column(ForeignKey("employer.id"), index=True)  # an employer's import
    file_name: Mapped[str] = mapped_column(String(200))
    file_digest: Mapped[str] = mapped_column(String(64), index=True)
    mode: Mapped[str] = mapped_column(String(16))  # all_or_nothing / valid_only
    total_rows: Mapped[int] = mapped_column(Integer)
    created: Mapped[int] = mapped_column(Integer)
    unchanged: Mapped[int] = mapped_column(Integer)
    refused: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
