"""What a person is told about their points outside the hours flow: a gift received, and points about to expire
(30 and 7 days ahead, once per lot), through `timebank.notify`. Lots are read through the ledger's read models;
the ledger itself knows nothing of this."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from timebank.accounts import expiry as expiry_policy
from timebank.db_base import utcnow
from timebank.ledger import Transfer, expiry
from timebank.notify import Event, notify, notify_many, told_now
from timebank.notify.templates import beijing
from timebank.people.models import Person

WARN_AT_DAYS = (30, 7)


def gift_received(session: Session, gift: Transfer, giver: Person, recipient_id: int, note: str | None) -> None:
    notify(session, recipient_id, "gift.received",
           {"giver": giver.name, "points": gift.amount, "note": note or "（无）"}, f"gift.received:{gift.id}")


def warn_expiring(session: Session, *, after_account_id: int = 0, limit: int = 500,
                  now: datetime | None = None) -> tuple[int, int | None]:
    """Cron, one page of volunteer points accounts: each lot expiring within 30 days gets the 30-day warning,
    and within 7 days the 7-day one, each once (keyed by lot and threshold). Returns (warnings, next cursor)."""
    now = now or utcnow()
    accounts = expiry.volunteer_points_accounts(session, after_id=after_account_id, limit=limit)
    events: list[Event] = []
    for account in accounts:
        months, _community = expiry_policy.policy_for_person(session, account.owner_id)
        for lot in expiry.expiring_soon(session, account.id, months, now=now, days=max(WARN_AT_DAYS)):
            days_left = max((lot.expires_at - now).days, 0)
            threshold = WARN_AT_DAYS[1] if days_left < WARN_AT_DAYS[1] else WARN_AT_DAYS[0]
            params = {"points": lot.amount, "expires_on": beijing(lot.expires_at), "days": days_left}
            events.append(Event(account.owner_id, params, f"points.expiring:{lot.transfer_id}:{threshold}"))
    told = sum(told_now(row) for row in notify_many(session, "points.expiring", events))
    return told, (accounts[-1].id if len(accounts) == limit else None)
