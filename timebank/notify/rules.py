"""Telling a person: the inbox row, the deliveries per channel, and the rules that decide them — the person's
preferences per kind, quiet hours (22:00–08:00 Beijing time: deferred to 08:00, never dropped), a daily cap on
external messages, and a dedupe key so each event is told once. Security codes are exempt from all three.

`notify` is called by the domain rule (or the job) that causes the event, in its transaction; it flushes and
never commits. The sender (`delivery`) reads the rows the outbox hands it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask import current_app, has_app_context
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from timebank import clock
from timebank.db_base import utcnow
from timebank.errors import Forbidden, InvalidInput
from timebank.notify import templates
from timebank.notify.models import Notification, NotificationDelivery, NotifyContact, NotifyPreference
from timebank.ops import outbox
from timebank.people.access import Actor
from timebank.people.models import Person

TOPIC = "notify.deliver"


@dataclass(frozen=True)
class Policy:
    daily_cap: int = 10  # external messages (SMS, e-mail, WeChat) per person per Beijing day; the inbox is uncapped
    quiet_start: int = 22  # Beijing hour
    quiet_end: int = 8
    max_attempts: int = 6


def policy() -> Policy:
    """The deployment's policy (`TIMEBANK_NOTIFY_*`, read in config.py), or the defaults outside an app."""
    if not has_app_context():
        return Policy()
    cfg = current_app.config
    return Policy(int(cfg.get("NOTIFY_DAILY_CAP", 10)), int(cfg.get("NOTIFY_QUIET_START", 22)),
                  int(cfg.get("NOTIFY_QUIET_END", 8)), int(cfg.get("NOTIFY_MAX_ATTEMPTS", 6)))


# --- quiet hours and the cap --------------------------------------------------------------------------------


def quiet_until(now: datetime, rules: Policy | None = None) -> datetime | None:
    """The end of the quiet hours `now` falls in (UTC), or None outside them."""
    rules = rules or policy()
    local = now.astimezone(clock.DISPLAY_TZ)
    start, end = rules.quiet_start, rules.quiet_end
    inside = (local.hour >= start or local.hour < end) if start > end else start <= local.hour < end
    if not inside:
        return None
    day = local.date() if local.hour < end else local.date() + timedelta(days=1)
    return datetime.combine(day, time(end), tzinfo=clock.DISPLAY_TZ).astimezone(now.tzinfo)


def beijing_midnight(now: datetime) -> datetime:
    local = now.astimezone(clock.DISPLAY_TZ)
    return datetime.combine(local.date(), time(0), tzinfo=clock.DISPLAY_TZ).astimezone(now.tzinfo)


# --- preferences and addresses ------------------------------------------------------------------------------


def channels_for(session: Session, person_id: int, kind: str) -> tuple[str, ...]:
    template = templates.get(kind)
    return template.channels if template.security else _channels_of(session, [person_id], kind)[person_id]


def address(session: Session, person_id: int, channel: str) -> str | None:
    """Where `channel` reaches the person now (read at each attempt, so a changed address applies)."""
    person = session.get(Person, person_id) if channel == templates.SMS else None
    return _address_of(channel, person.phone if person is not None and person.is_active else None,
                       None if channel == templates.SMS else session.get(NotifyContact, person_id))


# --- the one entry point ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One person to tell about one event of a kind (`notify_many` takes many at once)."""

    person_id: int
    params: dict
    dedupe_key: str


def notify(session: Session, person_id: int, kind: str, params: dict, dedupe_key: str) -> Notification | None:
    """Tell `person_id` about an event: the inbox row and its deliveries, written in the caller's transaction.

    Once per (person, dedupe key): a repeat returns the first notification, and the UNIQUE key refuses a
    concurrent twin at commit. Returns None when the person opted out of the kind (or is gone).
    """
    return notify_many(session, kind, [Event(person_id, params, dedupe_key)])[0]


BATCH = 500  # events read and written per round: the IN lists stay well inside every database's limits


def notify_many(session: Session, kind: str, events: list[Event]) -> list[Notification | None]:
    """`notify` for many people at once (a sweep's page of expiry warnings): the same rules, read with one query
    each for the whole batch and written in bulk, and one outbox message for all of its deliveries. Returns, per
    event, what `notify` would have; a key repeated inside the batch shares its first event's row."""
    if kind not in templates.TEMPLATES or templates.get(kind).security:
        raise ValueError(f"unknown notification kind {kind!r}")  # a programming error, not a person's input
    result: list[Notification | None] = []
    for start in range(0, len(events), BATCH):
        result.extend(_notify_batch(session, kind, events[start:start + BATCH]))
    return result


def _notify_batch(session: Session, kind: str, events: list[Event]) -> list[Notification | None]:
    person_ids = sorted({e.person_id for e in events})
    known: dict[tuple[int, str], Notification] = {(n.person_id, n.dedupe_key): n for n in session.scalars(
        select(Notification).where(Notification.person_id.in_(person_ids),
                                   Notification.dedupe_key.in_({e.dedupe_key for e in events})))}
    for row in known.values():
        row.just_created = False
    chosen = _channels_of(session, person_ids, kind)
    phones = dict(session.execute(select(Person.id, Person.phone).where(Person.id.in_(person_ids),
                                                                        Person.is_active.is_(True))).all())
    present = set(session.scalars(select(Person.id).where(Person.id.in_(person_ids))))
    contacts = {c.person_id: c for c in session.scalars(select(NotifyContact).where(
        NotifyContact.person_id.in_(person_ids)))} if any(
        set(chosen.get(p, ())) & {templates.EMAIL, templates.WECHAT} for p in person_ids) else {}
    rules, now = policy(), utcnow()
    counted: dict[int, int] | None = None
    results: list[Notification | None] = []
    fresh: list[tuple[Notification, list[str]]] = []
    for event in events:
        row = known.get((event.person_id, event.dedupe_key))
        if row is not None:
            results.append(row)
            continue
        channels = chosen.get(event.person_id, ())
        if not channels or event.person_id not in present:
            results.append(None)
            continue
        title, body = templates.render(kind, event.params)
        row = Notification(person_id=event.person_id, kind=kind, params=event.params, dedupe_key=event.dedupe_key,
                           title=title[:120], body=body[:1000], created_at=now)
        row.just_created = True
        external = [c for c in channels if c in templates.EXTERNAL
                    and _address_of(c, phones.get(event.person_id), contacts.get(event.person_id))]
        if external:
            if counted is None:
                counted = _sent_today_of(session, person_ids, now)
            if counted.get(event.person_id, 0) >= rules.daily_cap:
                row.note, external = "capped", []
            else:
                counted[event.person_id] = counted.get(event.person_id, 0) + 1
        known[(event.person_id, event.dedupe_key)] = row
        fresh.append((row, external))
        results.append(row)
    if not fresh:
        return results
    session.add_all([row for row, _ in fresh])
    session.flush()
    due = quiet_until(now, rules) or now
    deliveries = [NotificationDelivery(notification_id=row.id, person_id=row.person_id, kind=kind, channel=channel,
                                       next_attempt_at=due, max_attempts=rules.max_attempts, created_at=now)
                  for row, external in fresh for channel in external]
    if deliveries:
        session.add_all(deliveries)
        session.flush()
        queue_deliveries(session, [d.id for d in deliveries], due)
    return results


def _channels_of(session: Session, person_ids: list[int], kind: str) -> dict[int, tuple[str, ...]]:
    """Each person's channels for `kind`: their preference, else the kind's default."""
    default = templates.get(kind).channels
    chosen = {pid: default for pid in person_ids}
    for pid, channels in session.execute(select(NotifyPreference.person_id, NotifyPreference.channels).where(
            NotifyPreference.person_id.in_(person_ids), NotifyPreference.kind == kind)):
        chosen[pid] = tuple(channels)
    return chosen


def _address_of(channel: str, phone: str | None, contact: NotifyContact | None) -> str | None:
    if channel == templates.SMS:
        return phone
    if contact is None:
        return None
    return contact.email if channel == templates.EMAIL else contact.wechat_openid if channel == templates.WECHAT \
        else None


def _sent_today_of(session: Session, person_ids: list[int], now: datetime) -> dict[int, int]:
    """Notifications given external channels today (Beijing day) per person: what the daily cap counts."""
    return dict(session.execute(
        select(NotificationDelivery.person_id, func.count(func.distinct(NotificationDelivery.notification_id)))
        .where(NotificationDelivery.person_id.in_(person_ids), NotificationDelivery.notification_id.is_not(None),
               NotificationDelivery.created_at >= beijing_midnight(now))
        .group_by(NotificationDelivery.person_id)).all())


def told_now(row: Notification | None) -> bool:
    """Whether `notify` wrote this notification just now (not a repeat of its dedupe key, not opted out)."""
    return bool(row is not None and getattr(row, "just_created", False))


def queue_deliveries(session: Session, delivery_ids: list[int], due: datetime) -> None:
    """Hand deliveries to the sender at `due` (a resend, a code)."""
    message = outbox.add(session, TOPIC, {"delivery_ids": list(delivery_ids)})
    message.available_at = due


# --- the inbox ----------------------------------------------------------------------------------------------


def _person(actor: Actor) -> int:
    if actor.person_id is None:
        raise Forbidden("not_a_person", variant="inbox")
    return actor.person_id


def inbox_stmt(actor: Actor, *, unread_only: bool = False):
    """The actor's own notifications (the translator pages newest first, keyset on id)."""
    stmt = select(Notification).where(Notification.person_id == _person(actor))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return stmt


def unread_count(session: Session, actor: Actor) -> int:
    return session.scalar(select(func.count(Notification.id)).where(
        Notification.person_id == _person(actor), Notification.read_at.is_(None))) or 0


def mark_read(session: Session, actor: Actor, *, ids: list[int] | None = None, everything: bool = False) -> int:
    """Mark the actor's own notifications read (others' ids are silently not theirs to mark). Flushes."""
    if not everything and not ids:
        raise InvalidInput("notification_ids_required")
    stmt = update(Notification).where(Notification.person_id == _person(actor), Notification.read_at.is_(None))
    if not everything:
        stmt = stmt.where(Notification.id.in_(ids))
    result = session.execute(stmt.values(read_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount


# --- preferences --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    channels: dict[str, tuple[str, ...]]  # kind -> channels (every kind a person can choose for)
    email: str | None
    wechat_openid: str | None


def choosable_kinds() -> list[str]:
    return [k for k, t in templates.TEMPLATES.items() if not t.security]


def preferences(session: Session, actor: Actor) -> Preferences:
    person_id = _person(actor)
    contact = session.get(NotifyContact, person_id)
    return Preferences({k: channels_for(session, person_id, k) for k in choosable_kinds()},
                       contact.email if contact else None, contact.wechat_openid if contact else None)


def set_preferences(session: Session, actor: Actor, *, channels: dict[str, list[str]] | None = None,
                    email: str | None = None, wechat_openid: str | None = None,
                    clear: tuple[str, ...] = ()) -> Preferences:
    """Choose channels per kind (an empty list opts out; security codes cannot be chosen) and set addresses."""
    person_id = _person(actor)
    for kind, chosen in (channels or {}).items():
        if kind not in templates.TEMPLATES:
            raise InvalidInput("notification_kind_unknown", kind=kind)
        if templates.get(kind).security:
            raise InvalidInput("notification_kind_required", kind=kind)
        unknown = [c for c in chosen if c not in templates.CHANNELS]
        if unknown:
            raise InvalidInput("notification_channel_unknown", channel=unknown[0])
        row = session.scalar(select(NotifyPreference).where(NotifyPreference.person_id == person_id,
                                                            NotifyPreference.kind == kind))
        if row is None:
            row = NotifyPreference(person_id=person_id, kind=kind)
            session.add(row)
        row.channels = [c for c in templates.CHANNELS if c in chosen]
        row.updated_at = utcnow()
    if email is not None or wechat_openid is not None or clear:
        contact = session.get(NotifyContact, person_id) or NotifyContact(person_id=person_id)
        session.add(contact)
        if email is not None:
            contact.email = email
        if wechat_openid is not None:
            contact.wechat_openid = wechat_openid
        for name in clear:
            setattr(contact, name, None)
        contact.updated_at = utcnow()
    session.flush()
    return preferences(session, actor)


def join_decided(session: Session, person_id: int, *, request_id: int, org_name: str, approved: bool,
                 reason: str | None = None) -> Notification | None:
    """A request to join an org (the join flow of sign-up) was decided. `people` sits below this package, so
    the flow calls this function rather than `notify` with its own texts."""
    params = {"org": org_name, "decision": "已通过" if approved else "未通过",
              "reason": f"原因：{reason}" if reason and not approved else ""}
    return notify(session, person_id, "join.decided", params, f"join.decided:{request_id}")
