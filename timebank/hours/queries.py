"""Read views over service hours: my hours by category and month, a community's honour board (光荣榜).
Hours count once credited by the ledger and not reversed. Balances: `timebank.accounts.balances`."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from timebank.errors import InvalidInput
from timebank.hours.models import Verification
from timebank.people.models import Person


def _credited():
    return (Verification.credited_at.is_not(None), Verification.reversed_at.is_(None))


def my_hours(session: Session, person_id: int, *, year: int | None = None) -> dict:
    """Minutes and points by month and category, plus totals, from credited verifications."""
    stmt = (select(Verification.served_on, Verification.category, func.sum(Verification.minutes_accepted),
                   func.sum(Verification.points))
            .where(Verification.person_id == person_id, *_credited())
            .group_by(Verification.served_on, Verification.category))
    if year is not None:
        stmt = stmt.where(Verification.served_on >= date(year, 1, 1), Verification.served_on < date(year + 1, 1, 1))
    cells: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for served_on, category, minutes, points in session.execute(stmt):
        cell = cells[(served_on.strftime("%Y-%m"), category)]
        cell[0] += int(minutes)
        cell[1] += int(points)
    items = [{"month": m, "category": c, "minutes": v[0], "points": v[1]} for (m, c), v in sorted(cells.items())]
    return {"items": items, "total_minutes": sum(i["minutes"] for i in items),
            "total_points": sum(i["points"] for i in items)}


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date  # exclusive


def parse_period(text: str) -> Period:
    """"2025", "2025-H1", "2025-Q3" or "2025-07"."""
    m = re.fullmatch(r"(\d{4})(?:-(?:(H[12])|(Q[1-4])|(\d{2})))?", text or "")
    if not m:
        raise InvalidInput("invalid_period", variant="format")
    year = int(m.group(1))
    if m.group(2):
        first, months = (1 if m.group(2) == "H1" else 7), 6
    elif m.group(3):
        first, months = 3 * (int(m.group(3)[1]) - 1) + 1, 3
    elif m.group(4):
        first, months = int(m.group(4)), 1
        if not 1 <= first <= 12:
            raise InvalidInput("invalid_period", variant="month")
    else:
        first, months = 1, 12
    end_month = first + months
    end = date(year + (end_month - 1) // 12, (end_month - 1) % 12 + 1, 1)
    return Period(text, date(year, first, 1), end)


def honour_board(session: Session, community_id: int, period: Period, *, limit: int = 20) -> list[dict]:
    """The community's volunteers ranked by credited minutes in the period (ties: more points, then id)."""
    minutes = func.sum(Verification.minutes_accepted)
    points = func.sum(Verification.points)
    rows = session.execute(
        select(Verification.person_id, Person.name, minutes, points, func.count(Verification.id))
        .join(Person, Person.id == Verification.person_id)
        .where(Verification.community_id == community_id, *_credited(),
               Verification.served_on >= period.start, Verification.served_on < period.end)
        .group_by(Verification.person_id, Person.name)
        .order_by(minutes.desc(), points.desc(), Verification.person_id)
        .limit(limit)
    ).all()
    return [{"rank": i, "person_id": pid, "name": name, "minutes": int(m), "points": int(p), "services": int(n)}
            for i, (pid, name, m, p, n) in enumerate(rows, start=1)]
