"""Cron: overdue needs go up the tree (`hours.escalation.sweep`), a page of needs per unit of work."""

from __future__ import annotations

from timebank import uow
from timebank.db_base import utcnow
from timebank.extensions import db
from timebank.hours import escalation

PAGE = 200
MAX_PAGES = 50  # a sweep takes at most 10,000 steps; the next run (15 minutes later) continues


def escalate_overdue_needs() -> int:
    """Every overdue need not escalated since its deadline goes up one level; the same clock for the whole run,
    so a page that finds nothing more ends it."""
    now, taken = utcnow(), 0
    for _ in range(MAX_PAGES):
        with uow.unit_of_work():
            page = escalation.sweep(db.session, now=now, limit=PAGE)
        taken += page
        if page == 0:
            break
    return taken
