"""Sending deliveries: take a lease (committed before any provider call), read what to send, call the channel
outside any transaction (`channels`), record each attempt. A worker killed mid-send leaves leased rows that
`due_ids` finds again once the lease runs out; the retry goes out under the same delivery id, which the
provider receives as its idempotency id (`out_id` / `client_msg_id`) and sends once. Failures back off
exponentially; after `max_attempts` a delivery is dead, listed for admins and re-sendable.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from timebank.db_base import utcnow
from timebank.errors import Conflict, Forbidden, get_or_404
from timebank.notify import rules, templates
from timebank.notify.channels import Message, Outcome
from timebank.notify.models import (
    DeliveryAttempt,
    DeliveryState,
    Notification,
    NotificationDelivery,
    NotifyContact,
    OneTimeCode,
)
from timebank.ops import audit
from timebank.people.access import ADMIN_ROLES, Actor
from timebank.people.models import Org, Person

LEASE_MARGIN_SECONDS = 30.0
BACKOFF_BASE_SECONDS = 5.0
BACKOFF_CAP_SECONDS = 3600.0


def backoff(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential with equal jitter, so a provider outage's retries spread out."""
    ceiling = min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=ceiling / 2 + (rng or random).uniform(0, ceiling / 2))


def ids_of_notification(session: Session, notification_id: int) -> list[int]:
    return list(session.scalars(select(NotificationDelivery.id).where(
        NotificationDelivery.notification_id == notification_id).order_by(NotificationDelivery.id)))


def _due_clause(now: datetime):
    return (NotificationDelivery.state == DeliveryState.pending, NotificationDelivery.next_attempt_at <= now,
            or_(NotificationDelivery.lease_until.is_(None), NotificationDelivery.lease_until <= now))


def due_ids(session: Session, *, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Pending deliveries whose time has come and whose lease (if any) ran out: backed off, deferred, or
    interrupted by a killed worker."""
    now = now or utcnow()
    return list(session.scalars(select(NotificationDelivery.id).where(*_due_clause(now))
                                .order_by(NotificationDelivery.next_attempt_at).limit(limit)))


def prepare(session: Session, delivery_ids: list[int], *, timeout: float,
            now: datetime | None = None) -> list[Message]:
    """Lease the due ones among `delivery_ids` and read what to send (flushes; the caller commits before sending).

    One lease covers the whole chunk, sent one after another. Inside quiet hours a delivery that is not a
    security code is deferred to their end instead (no attempt is counted)."""
    now = now or utcnow()
    policy = rules.policy()
    quiet_end = rules.quiet_until(now, policy)
    ids = sorted(set(delivery_ids))
    if quiet_end is not None:
        session.execute(update(NotificationDelivery)
                        .where(NotificationDelivery.id.in_(ids), NotificationDelivery.code_id.is_(None),
                               *_due_clause(now))
                        .values(next_attempt_at=quiet_end).execution_options(synchronize_session=False))
    lease = now + timedelta(seconds=timeout * max(len(ids), 1) + LEASE_MARGIN_SECONDS)
    won = list(session.scalars(update(NotificationDelivery)
                               .where(NotificationDelivery.id.in_(ids), *_due_clause(now))
                               .values(lease_until=lease, attempts=NotificationDelivery.attempts + 1)
                               .returning(NotificationDelivery.id).execution_options(synchronize_session=False)))
    if not won:
        return []
    rows = session.scalars(select(NotificationDelivery).where(NotificationDelivery.id.in_(won))
                           .execution_options(populate_existing=True)).all()
    _load_what_they_name(session, rows)
    return [_message(session, row) for row in sorted(rows, key=lambda r: r.id)]


def _load_what_they_name(session: Session, rows) -> None:
    """One query per kind of row a chunk's messages read (notifications, people, contacts, codes), so that
    `_message` finds them in the session instead of asking once per delivery."""
    wanted = ((Notification, {r.notification_id for r in rows if r.notification_id is not None}),
              (Person, {r.person_id for r in rows if r.person_id is not None}),
              (NotifyContact, {r.person_id for r in rows if r.person_id is not None and r.channel != templates.SMS}),
              (OneTimeCode, {r.code_id for r in rows if r.code_id is not None}))
    for model, keys in wanted:
        if keys:
            key_column = model.person_id if model is NotifyContact else model.id
            session.scalars(select(model).where(key_column.in_(keys))).all()


def _message(session: Session, row: NotificationDelivery) -> Message:
    template = templates.get(row.kind)
    if row.code_id is not None:
        code = session.get(OneTimeCode, row.code_id)
        params = {"code": code.sealed or "", "purpose": templates.PURPOSES.get(code.purpose, code.purpose),
                  "minutes": str(int((code.expires_at - code.created_at).total_seconds() // 60))}
        target = code.phone
        at = code.created_at
    else:
        note = session.get(Notification, row.notification_id)
        params, at = note.params, note.created_at
        target = rules.address(session, row.person_id, row.channel)
    title, body = templates.render(row.kind, params)
    return Message(row.id, row.kind, row.channel, target, title, body, params, template.sms_template,
                   template.wechat_template, templates.wechat_data(row.kind, params, at))


def record(session: Session, outcomes: list[tuple[int, Outcome]], *, now: datetime | None = None,
           rng: random.Random | None = None) -> dict[int, str]:
    """Store each attempt and its delivery's new state (flushes): {delivery id: "sent" | "retry" | "dead"}."""
    now = now or utcnow()
    results = {}
    ids = [delivery_id for delivery_id, _ in outcomes]
    by_id = {row.id: row for row in session.scalars(
        select(NotificationDelivery).where(NotificationDelivery.id.in_(ids)).order_by(NotificationDelivery.id)
        .with_for_update().execution_options(populate_existing=True))}
    codes = [by_id[i].code_id for i in ids if by_id[i].code_id is not None]
    if codes:
        session.scalars(select(OneTimeCode).where(OneTimeCode.id.in_(codes))).all()
    for delivery_id, outcome in outcomes:
        row = by_id[delivery_id]
        session.add(DeliveryAttempt(delivery_id=delivery_id, at=now, ok=outcome.ok,
                                    error=(outcome.error or None) and outcome.error[:500],
                                    elapsed_ms=int(outcome.elapsed * 1000)))
        row.lease_until = None
        if outcome.ok:
            row.state, row.sent_at, row.provider_ref, row.last_error = DeliveryState.sent, now, \
                outcome.provider_ref, None
        else:
            row.last_error = outcome.error
            if not outcome.retryable or row.attempts >= row.max_attempts:
                row.state = DeliveryState.dead
            else:
                row.next_attempt_at = now + backoff(row.attempts, rng)
        if row.code_id is not None and row.state != DeliveryState.pending:
            session.get(OneTimeCode, row.code_id).sealed = None  # the code's only readable copy is gone
        results[delivery_id] = "sent" if row.state == DeliveryState.sent else (
            "dead" if row.state == DeliveryState.dead else "retry")
    session.flush()
    return results


# --- admins: failed and dead deliveries ---------------------------------------------------------------------


def _scope(actor: Actor):
    paths = actor.paths_for(ADMIN_ROLES)
    if not paths:
        raise Forbidden("out_of_scope")
    return or_(*(Org.path.startswith(p, autoescape=True) for p in paths))


def failed_stmt(actor: Actor, *, dead_only: bool = False):
    """Dead deliveries, and pending ones whose last attempt failed, of people in the admin's scope."""
    stmt = (select(NotificationDelivery).join(Person, Person.id == NotificationDelivery.person_id)
            .join(Org, Org.id == Person.home_org_id)
            .where(_scope(actor), NotificationDelivery.notification_id.is_not(None)))
    if dead_only:
        stmt = stmt.where(NotificationDelivery.state == DeliveryState.dead)
    else:
        stmt = stmt.where(or_(NotificationDelivery.state == DeliveryState.dead,
                              (NotificationDelivery.state == DeliveryState.pending)
                              & NotificationDelivery.last_error.is_not(None)))
    return stmt


def resend(session: Session, actor: Actor, delivery_id: int) -> NotificationDelivery:
    """An admin puts a dead delivery back in the queue with a fresh attempt budget (flushes)."""
    row = get_or_404(session, NotificationDelivery, delivery_id, "notification_delivery_not_found",
                     with_for_update=True)
    person = session.get(Person, row.person_id) if row.person_id else None
    if row.code_id is not None or person is None or person.home_org is None:
        raise Conflict("notification_not_resendable")
    actor.require_on(ADMIN_ROLES, person.home_org.path)
    if row.state != DeliveryState.dead:
        raise Conflict("notification_not_dead")
    row.state, row.attempts, row.lease_until = DeliveryState.pending, 0, None
    row.resends += 1
    row.next_attempt_at = utcnow()
    session.flush()
    audit.record(session, actor, "notification.resend", "notification_delivery", row.id,
                 org_path=person.home_org.path)
    rules.queue_deliveries(session, [row.id], row.next_attempt_at)
    return row
