"""Read views over service hours: my hours by category and month, a community's honour board (光荣榜).
Hours count once credited by the ledger and not reversed. Balances: `timebank.accounts.balances`."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from timebank.clock import DISPLAY_TZ
from timebank.errors import InvalidInput
from timebank.hours.models import (
    Attendance,
    AttendanceStatus,
    Claim,
    ClaimStatus,
    Complaint,
    ComplaintStatus,
    Task,
    Verification,
    WishClaim,
    WishClaimStatus,
)
from timebank.people.models import Person


def _credited():
    return (Verification.credited_at.is_not(None), Verification.reversed_at.is_(None))


def credited():
    """The WHERE terms of minutes that count: credited by the ledger and not reversed (boards, team hours)."""
    return _credited()


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


@dataclass(frozen=True)
class MySession:
    """One of a volunteer's sessions: the claim, its latest attendance and verification, and where it stands."""

    claim: Claim
    task: Task
    attendance: Attendance | None
    verification: Verification | None
    state: str  # a key of `labels.SESSION_STATES`
    reason: str | None  # why it was rejected or reversed, as the community wrote it


def session_state(claim: Claim, att: Attendance | None, ver: Verification | None, now) -> tuple[str, str | None]:
    """Where a session stands for the volunteer, and the reason a refusal gave."""
    if att is None:
        if claim.status == ClaimStatus.withdrawn:
            return "withdrawn", None
        if claim.status == ClaimStatus.no_show:
            return "no_show", None
        return ("not_attended" if claim.task.ends_at <= now else "claimed"), None
    if att.status == AttendanceStatus.open:
        return "checked_in", None
    if att.status == AttendanceStatus.pending:
        return "pending", None
    if att.status == AttendanceStatus.rejected:
        return "rejected", ver.reason if ver else None
    if att.status == AttendanceStatus.reversed:
        return "reversed", _reversal_reason(att)
    return ("credited" if ver is not None and ver.credited_at is not None else "accepted"), None


def _reversal_reason(att: Attendance) -> str | None:
    from sqlalchemy.orm import object_session

    session = object_session(att)
    return session.scalar(select(Complaint.decision_reason).where(
        Complaint.attendance_id == att.id, Complaint.status == ComplaintStatus.upheld)
        .order_by(Complaint.id.desc()).limit(1)) if session is not None else None


def my_sessions(session: Session, person_id: int, *, now, limit: int = 50,
                task_id: int | None = None) -> list[MySession]:
    """The volunteer's sessions, newest claim first, each with its real status and any refusal's reason."""
    stmt = select(Claim).where(Claim.person_id == person_id)
    if task_id is not None:
        stmt = stmt.where(Claim.task_id == task_id)
    claims = list(session.scalars(stmt.options(selectinload(Claim.task)).order_by(Claim.id.desc()).limit(limit)))
    latest: dict[int, Attendance] = {}
    if claims:
        for att in session.scalars(select(Attendance).where(Attendance.claim_id.in_([c.id for c in claims]))
                                   .options(selectinload(Attendance.verification)).order_by(Attendance.id)):
            latest[att.claim_id] = att
    out = []
    for claim in claims:
        att = latest.get(claim.id)
        ver = att.verification if att is not None else None
        state, reason = session_state(claim, att, ver, now)
        out.append(MySession(claim, claim.task, att, ver, state, reason))
    return out


def credited_services(session: Session, person_id: int, period: Period) -> list[dict]:
    """The person's services credited (and not reversed) with a service day in the period, oldest first."""
    rows = session.execute(
        select(Verification.served_on, Task.title, Verification.category, Verification.minutes_accepted,
               Verification.points)
        .join(Attendance, Attendance.id == Verification.attendance_id).join(Task, Task.id == Attendance.task_id)
        .where(Verification.person_id == person_id, *_credited(), Verification.served_on >= period.start,
               Verification.served_on < period.end)
        .order_by(Verification.served_on, Verification.id)).all()
    return [{"served_on": d, "task": title, "category": c, "minutes": int(m), "points": int(p)}
            for d, title, c, m, p in rows]


# --- micro-wishes claimed directly ---------------------------------------------------------------------------


def wish_counts(session: Session, period: Period, *, by: str = "community",
                community_ids: list[int] | None = None, employer_ids: list[int] | None = None) -> dict[int, dict]:
    """Micro-wishes fulfilled through a direct claim in `period` (by the Beijing day it was fulfilled) and the
    people they helped (惠及群众), per community or per unit (`by="employer"`).
    A claim counts once fulfilled (confirmed or not); `confirmed` says how many the residents confirmed."""
    key = WishClaim.employer_id if by == "employer" else WishClaim.community_id
    lo = datetime.combine(period.start, time(), tzinfo=DISPLAY_TZ).astimezone(UTC)
    hi = datetime.combine(period.end, time(), tzinfo=DISPLAY_TZ).astimezone(UTC)
    stmt = (select(key, func.count(WishClaim.id), func.coalesce(func.sum(WishClaim.people_helped), 0),
                   func.count(WishClaim.confirmed_at))
            .where(WishClaim.status.in_((WishClaimStatus.fulfilled, WishClaimStatus.confirmed)),
                   WishClaim.fulfilled_at >= lo, WishClaim.fulfilled_at < hi, key.is_not(None))
            .group_by(key))
    if community_ids is not None:
        stmt = stmt.where(WishClaim.community_id.in_(community_ids))
    if employer_ids is not None:
        stmt = stmt.where(WishClaim.employer_id.in_(employer_ids))
    return {k: {"wishes_fulfilled": int(n), "people_helped": int(helped), "confirmed": int(confirmed)}
            for k, n, helped, confirmed in session.execute(stmt)}
