"""The transactional outbox: promise background work inside the caller's transaction; after commit the relay
hands each topic that was given work to RQ as one `drain(topic)` job (`timebank.workers.outbox`).

Which queue serves a topic is declared once, with its handler and batch size, in `timebank.workers.topics`;
the app factory installs the topic -> queue map here (`install_queues`), so this module needs no import of
the workers and the relay below the domains stays free of them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import redis
from flask import current_app
from rq import Queue
from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.db_base import utcnow
from timebank.ops.models import OutboxMessage, OutboxStatus

log = logging.getLogger("timebank.outbox")

DRAIN_JOB = "timebank.workers.outbox.drain"
DRAIN_BUDGET_SECONDS = 50
PENDING_KEY_TTL = 60
QUEUES_KEY = "timebank.topic_queues"


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


def install_queues(app, queues: dict[str, str]) -> None:
    """The app factory's hand-over of the declared topic -> queue map."""
    app.extensions[QUEUES_KEY] = dict(queues)


def pending_key(topic: str) -> str:
    return f"timebank:drain-pending:{topic}"


def kick(conn: redis.Redis, topics: Iterable[str]) -> list[str]:
    """Enqueue a drain for each topic that has none waiting. Raises RedisError when Redis is down."""
    queues = current_app.extensions[QUEUES_KEY]
    kicked = []
    for topic in sorted(set(topics)):
        queue_name = queues.get(topic)
        if queue_name is None:
            log.error("outbox topic has no handler", extra={"fields": {"topic": topic}})
            continue
        if not conn.set(pending_key(topic), "1", nx=True, ex=PENDING_KEY_TTL):
            continue
        try:
            Queue(queue_name, connection=conn).enqueue(
                DRAIN_JOB, topic, result_ttl=0, failure_ttl=24 * 3600, job_timeout=DRAIN_BUDGET_SECONDS * 3,
                description=f"drain outbox topic {topic}",
            )
        except Exception:
            conn.delete(pending_key(topic))
            raise
        kicked.append(topic)
    return kicked


def kick_quietly(conn_factory, topics: Iterable[str]) -> None:
    """The after-commit kick: a Redis outage only delays the work until the next sweep."""
    topics = set(topics)
    if not topics:
        return
    try:
        kick(conn_factory(), topics)
    except (redis.RedisError, OSError) as exc:
        log.warning("outbox kick failed; the sweep will retry", extra={"fields": {"error": str(exc)}})


def due_topics(session: Session) -> list[str]:
    rows = session.execute(
        select(OutboxMessage.topic).where(
            OutboxMessage.status == OutboxStatus.pending, OutboxMessage.available_at <= utcnow()
        ).distinct()
    )
    return [r[0] for r in rows]


def sweep(session: Session, conn: redis.Redis) -> list[str]:
    """Enqueue drains for every topic with due rows (cron, CLI, and after a Redis outage)."""
    return kick(conn, due_topics(session))
