"""The declarative base shared by every model, Flask-free so `timebank.ledger` can import it."""

from __future__ import annotations

import base64
import enum
import hashlib
from datetime import UTC, datetime

from cryptography.fernet import Fernet
from sqlalchemy import BigInteger, DateTime, Enum, Integer, MetaData, String, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, registry

from timebank import clock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments INTEGER PRIMARY KEY, PostgreSQL wants BIGINT for a province's volume.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on both databases (SQLite drops the offset, so we restore it)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; timebank stores UTC-aware times only")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


_FERNET: Fernet | None = None


def configure_data_key(key: str) -> None:
    """Set the key that `EncryptedString` columns use (create_app calls this with DATA_KEY, else SECRET_KEY).
    Any string will do: the Fernet key is derived from it."""
    global _FERNET
    _FERNET = Fernet(base64.urlsafe_b64encode(hashlib.sha256(b"timebank-data-key:" + key.encode()).digest()))


class EncryptedString(TypeDecorator):
    """A string kept encrypted at rest (Fernet: AES-128-CBC with an HMAC), for secrets the service must use again
    and so cannot hash like passwords (webhook signing secrets): a copy of the database alone does not reveal
    them. Values written before a column was encrypted (no prefix) are read as they are and encrypted when
    next written."""

    impl = String(255)
    cache_ok = True
    PREFIX = "enc1:"

    def process_bind_param(self, value: str | None, dialect):
        if value is None:
            return None
        if _FERNET is None:
            raise RuntimeError("no data key configured (timebank.db_base.configure_data_key)")
        return self.PREFIX + _FERNET.encrypt(value.encode()).decode()

    def process_result_value(self, value: str | None, dialect):
        if value is None or not value.startswith(self.PREFIX):
            return value
        if _FERNET is None:
            raise RuntimeError("no data key configured (timebank.db_base.configure_data_key)")
        return _FERNET.decrypt(value[len(self.PREFIX):].encode()).decode()


def str_enum(cls: type[enum.Enum], length: int = 16) -> Enum:
    """An enum stored as its string value in a VARCHAR (no native PostgreSQL type to migrate on change)."""
    return Enum(cls, native_enum=False, length=length)


# `info` key of a constraint that PostgreSQL enforces with a statement-level trigger instead (the constraint then
# exists only on SQLite); `include_object` keeps Alembic's autogenerate from asking for it there.
ENFORCED_BY_TRIGGER_ON_POSTGRESQL = "enforced_by_trigger_on_postgresql"


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Alembic hook: do not demand a constraint the database enforces by trigger (see the key above)."""
    if type_ == "foreign_key_constraint" and not reflected and compare_to is None:
        return not obj.info.get(ENFORCED_BY_TRIGGER_ON_POSTGRESQL)
    return True


def utcnow() -> datetime:
    """The service clock (`timebank.clock`): column defaults read the same time as the rules."""
    return clock.utcnow()


class Base(DeclarativeBase):
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )
