"""The outbox relay and drain.

A request writes outbox rows in its own transaction. After commit (and every few seconds from cron)
the relay enqueues at most one `drain(topic)` job per topic, deduplicated by a Redis key. The drain
claims rows in batches (FOR UPDATE SKIP LOCKED on PostgreSQL), runs the topic's handler on the whole
batch in one transaction, and marks them done: throughput is not bounded by RQ's per-job overhead.
A batch that fails is retried row by row, so one poison message is isolated, backed off and finally
marked dead; nothing is lost while Redis is down, because the rows wait in the database.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from timebank.db_base import utcnow
from timebank.ops import outbox as outbox_service
from timebank.ops.models import OutboxMessage, OutboxStatus
from timebank.workers import registry

log = logging.getLogger("timebank.outbox")

DRAIN_BUDGET_SECONDS = 50
PENDING_KEY_TTL = 60


_LOADED: dict[str, registry.Topic] | None = None


def _topics() -> dict[str, registry.Topic]:
    """The registry, loaded once per process: `registry.load()` walks the jobs package on every call, which
    cost every writing request a directory scan. The dict is the registry's own, so later registrations show."""
    global _LOADED
    if _LOADED is None:
        _LOADED = registry.load()
    return _LOADED


def pending_key(topic: str) -> str:
    return f"timebank:drain-pending:{topic}"


def kick(conn: redis.Redis, topics) -> list[str]:
    """Enqueue a drain for each topic that has none waiting. Raises RedisError when Redis is down."""
    from timebank.workers.queues import queue

    topics_map = _topics()
    kicked = []
    for topic in sorted(set(topics)):
        spec = topics_map.get(topic)
        if spec is None:
            log.error("outbox topic has no handler", extra={"fields": {"topic": topic}})
            continue
        if not conn.set(pending_key(topic), "1", nx=True, ex=PENDING_KEY_TTL):
            continue
        try:
            queue(spec.queue).enqueue(
                drain, topic, result_ttl=0, failure_ttl=24 * 3600, job_timeout=DRAIN_BUDGET_SECONDS * 3,
                description=f"drain outbox topic {topic}",
            )
        except Exception:
            conn.delete(pending_key(topic))
            raise
        kicked.append(topic)
    return kicked


def kick_quietly(conn_factory, topics) -> None:
    """The after-commit kick: a Redis outage only delays the work until the next sweep."""
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


def _claim(session: Session, topic: str, limit: int, only_id: int | None = None) -> list[OutboxMessage]:
    stmt = (
        select(OutboxMessage)
        .where(OutboxMessage.topic == topic, OutboxMessage.status == OutboxStatus.pending,
               OutboxMessage.available_at <= utcnow())
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if only_id is not None:
        stmt = stmt.where(OutboxMessage.id == only_id)
    return list(session.scalars(stmt))


def _mark_done(session: Session, messages: list[OutboxMessage]) -> None:
    session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_([m.id for m in messages]))
        .values(status=OutboxStatus.done, done_at=utcnow(), attempts=OutboxMessage.attempts + 1)
        .execution_options(synchronize_session=False)
    )


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** attempts, 3600))


def drain_topic(session: Session, topic: str, *, max_attempts: int = 8, budget: float = DRAIN_BUDGET_SECONDS) -> int:
    """Handle due rows of `topic` until none are left or the time budget is spent. Commits per batch."""
    spec = registry.load()[topic]
    handled = 0
    deadline = time.monotonic() + budget
    while time.monotonic() < deadline:
        batch = _claim(session, topic, spec.batch_size)
        if not batch:
            break
        ids = [m.id for m in batch]
        try:
            spec.handler(session, batch)
            _mark_done(session, batch)
            session.commit()
            handled += len(ids)
            continue
        except Exception:
            session.rollback()
            log.warning("outbox batch failed; retrying one by one", extra={"fields": {"topic": topic}})
        for message_id in ids:
            handled += _handle_one(session, spec, message_id, max_attempts)
    return handled


def _handle_one(session: Session, spec: registry.Topic, message_id: int, max_attempts: int) -> int:
    rows = _claim(session, spec.name, 1, only_id=message_id)
    if not rows:
        session.rollback()
        return 0
    try:
        spec.handler(session, rows)
        _mark_done(session, rows)
        session.commit()
        return 1
    except Exception as exc:
        session.rollback()
        message = session.get(OutboxMessage, message_id, with_for_update=True)
        message.attempts += 1
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if message.attempts >= max_attempts:
            message.status = OutboxStatus.dead
            log.error("outbox message dead", extra={"fields": {"id": message_id, "topic": spec.name}})
        else:
            message.available_at = utcnow() + backoff(message.attempts)
        session.commit()
        log.warning("outbox message failed", exc_info=True, extra={"fields": {"id": message_id}})
        return 0


def drain(topic: str) -> int:
    """The RQ job. Runs inside the app context that the timebank worker provides."""
    from flask import current_app

    from timebank.extensions import db, redis_ext

    redis_ext.connection.delete(pending_key(topic))
    handled = drain_topic(db.session, topic, max_attempts=current_app.config["OUTBOX_MAX_ATTEMPTS"])
    # Handlers may promise further work (a rendered report queues its delivery): wake those topics now,
    # and this one again if rows are still due, rather than waiting for the sweep.
    follow_up = outbox_service.touched_topics(db.session)
    if topic in due_topics(db.session):
        follow_up.add(topic)
    db.session.rollback()
    kick_quietly(lambda: redis_ext.connection, follow_up)
    return handled


def sweep_job() -> list[str]:
    """Cron entry: hand every due topic to a drain."""
    from timebank.extensions import db, redis_ext

    try:
        return sweep(db.session, redis_ext.connection)
    finally:
        db.session.rollback()
