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


def sent_today(session: Session, person_id: int, now: datetime) -> int:
    """Notifications given external channels today (Beijing day): what the daily cap counts."""
    return session.scalar(select(func.count(func.distinct(NotificationDelivery.notification_id))).where(
        NotificationDelivery.person_id == person_id, NotificationDelivery.notification_id.is_not(None),
        NotificationDelivery.created_at >= beijing_midnight(now))) or 0


# --- preferences and addresses ------------------------------------------------------------------------------


def channels_for(session: Session, person_id: int, kind: str) -> tuple[str, ...]:
    template = templates.get(kind)
    if template.security:
        return template.channels
    chosen = session.scalar(select(NotifyPreference.channels).where(
        NotifyPreference.person_id == person_id, NotifyPreference.kind == kind))
    return tuple(chosen) if chosen is not None else template.channels


def address(session: Session, person_id: int, channel: str) -> str | None:
    """Where `channel` reaches the person now (read at each attempt, so a changed address applies)."""
    if channel == templates.SMS:
        person = session.get(Person, person_id)
        return person.phone if person is not None and person.is_active else None
    contact = session.get(NotifyContact, person_id)
    if contact is None:
        return None
    return contact.email if channel == templates.EMAIL else contact.wechat_openid if channel == templates.WECHAT \
        else None


# --- the one entry point ------------------------------------------------------------------------------------


def notify(session: Session, person_id: int, kind: str, params: dict, dedupe_key: str) -> Notification | None:
    """Tell `person_id` about an event: the inbox row and its deliveries, written in the caller's transaction.

    Once per (person, dedupe key): a repeat returns the first notification, and the UNIQUE key refuses a
    concurrent twin at commit. Returns None when the person opted out of the kind (or is gone).
    """
    if kind not in templates.TEMPLATES or templates.get(kind).security:
        raise ValueError(f"unknown notification kind {kind!r}")  # a programming error, not a person's input
    existing = session.scalar(select(Notification).where(
        Notification.person_id == person_id, Notification.dedupe_key == dedupe_key))
    if existing is not None:
        existing.just_created = False
        return existing
    chosen = channels_for(session, person_id, kind)
    if not chosen or session.get(Person, person_id) is None:
        return None
    rules, now = policy(), utcnow()
    title, body = templates.render(kind, params)
    row = Notification(person_id=person_id, kind=kind, params=params, dedupe_key=dedupe_key, title=title[:120],
                       body=body[:1000], created_at=now)
    session.add(row)
    session.flush()
    row.just_created = True
    external = [c for c in chosen if c in templates.EXTERNAL and address(session, person_id, c)]
    if external and sent_today(session, person_id, now) >= rules.daily_cap:
        row.note, external = "capped", []
    due = quiet_until(now, rules) or now
    for channel in external:
        session.add(NotificationDelivery(notification_id=row.id, person_id=person_id, kind=kind, channel=channel,
                                         next_attempt_at=due, max_attempts=rules.max_attempts, created_at=now))
    if external:
        session.flush()
        message = outbox.add(session, TOPIC, {"notification_id": row.id})
        message.available_at = due
    return row


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
