"""Timed-out holds end exactly once: released by the periodic job (and by reconciliation).

Exactly once is the database's doing: a release names its hold in `pending_id`, which is UNIQUE, and its
key is derived from the hold (`release:expired:<id>`), so two sweepers racing (or a sweeper racing a merchant's
capture) leave one resolution; the loser is skipped.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from timebank.db_base import utcnow
from timebank.ledger.errors import HoldNotPending
from timebank.ledger.models import Transfer
from timebank.ledger.post import release


def expired_hold_ids(session: Session, *, now: datetime | None = None, limit: int = 500) -> list[int]:
    resolution = aliased(Transfer)
    stmt = (select(Transfer.id)
            .where(Transfer.phase == "pending", Transfer.timeout_at <= (now or utcnow()),
                   ~select(resolution.id).where(resolution.pending_id == Transfer.id).exists())
            .order_by(Transfer.timeout_at).limit(limit))
    return list(session.scalars(stmt))


def release_expired(session: Session, *, now: datetime | None = None, limit: int = 500) -> list[int]:
    """Release up to `limit` holds past their timeout; returns the ids of the holds released. Flushes only."""
    released = []
    for hold_id in expired_hold_ids(session, now=now, limit=limit):
        try:
            release(session, key=f"release:expired:{hold_id}", pending_id=hold_id,
                    metadata={"reason": "timeout"})
        except HoldNotPending:  # captured or released meanwhile: that resolution stands
            continue
        released.append(hold_id)
    return released
