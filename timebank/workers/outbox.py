"""The outbox drain (the relay that enqueues it is `timebank.ops.outbox.kick`).

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

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from timebank import uow
from timebank.db_base import utcnow
from timebank.ops import outbox as outbox_service
from timebank.ops.models import OutboxMessage, OutboxStatus
from timebank.ops.outbox import DRAIN_BUDGET_SECONDS, due_topics, pending_key
from timebank.workers.topics import TOPICS, Topic

log = logging.getLogger("timebank.outbox")


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
    spec = TOPICS[topic]
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
            uow.commit(session)
            handled += len(ids)
            continue
        except Exception:
            uow.rollback(session)
            log.warning("outbox batch failed; retrying one by one", extra={"fields": {"topic": topic}})
        for message_id in ids:
            handled += _handle_one(session, spec, message_id, max_attempts)
    return handled


def _handle_one(session: Session, spec: Topic, message_id: int, max_attempts: int) -> int:
    rows = _claim(session, spec.name, 1, only_id=message_id)
    if not rows:
        uow.rollback(session)
        return 0
    try:
        spec.handler(session, rows)
        _mark_done(session, rows)
        uow.commit(session)
        return 1
    except Exception as exc:
        uow.rollback(session)
        message = session.get(OutboxMessage, message_id, with_for_update=True)
        message.attempts += 1
        message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
        if message.attempts >= max_attempts:
            message.status = OutboxStatus.dead
            log.error("outbox message dead", extra={"fields": {"id": message_id, "topic": spec.name}})
        else:
            message.available_at = utcnow() + backoff(message.attempts)
        uow.commit(session)
        log.warning("outbox message failed", exc_info=True, extra={"fields": {"id": message_id}})
        return 0


def drain(topic: str) -> int:
    """The RQ job. Runs inside the app context that the timebank worker provides.

    Each batch ends in `uow.commit`, which also wakes the topics a handler gave work to (a rendered report
    queues its delivery); this topic is woken again if rows are still due, rather than waiting for the sweep.
    """
    from flask import current_app

    from timebank.extensions import db, redis_ext

    redis_ext.connection.delete(pending_key(topic))
    handled = drain_topic(db.session, topic, max_attempts=current_app.config["OUTBOX_MAX_ATTEMPTS"])
    still_due = topic in due_topics(db.session)
    uow.rollback(db.session)
    if still_due:
        outbox_service.kick_quietly(lambda: redis_ext.connection, {topic})
    return handled


def sweep_job() -> list[str]:
    """Cron entry: hand every due topic to a drain."""
    from timebank.extensions import db, redis_ext

    try:
        return outbox_service.sweep(db.session, redis_ext.connection)
    finally:
        uow.rollback()
