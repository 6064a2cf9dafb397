"""Promise background work inside the caller's transaction; the relay hands it to RQ after commit."""

from __future__ import annotations

from sqlalchemy.orm import Session

from timebank.ops.models import OutboxMessage


def add(session: Session, topic: str, payload: dict, *, dedupe_key: str | None = None) -> OutboxMessage:
    message = OutboxMessage(topic=topic, payload=payload, dedupe_key=dedupe_key)
    session.add(message)
    touch(session, topic)
    return message


def touch(session: Session, topic: str) -> None:
    """Note that this transaction gave `topic` work (for rows written without `add`, e.g. in bulk)."""
    session.info.setdefault("outbox_topics", set()).add(topic)


def touched_topics(session: Session) -> set[str]:
    """Topics given work in this session's transaction (cleared by the caller after the kick)."""
    return session.info.pop("outbox_topics", set())
