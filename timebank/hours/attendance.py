"""Attendance (签到签退): by the site's signed QR code, confirmed by the task's grid worker, or entered late
by an admin with a reason (补录).

Rules, checked with the person's row locked (FOR UPDATE) so two sessions of one person cannot race:
- the person holds an active claim on a published task, and the times fall in the task's window;
- no two sessions of one person overlap (any task); an open session blocks another check-in;
- zero and sub-minute sessions are refused (`attendance_too_short`);
- per task: one person's minutes on a task never exceed the task's length (clamped; none left → refused);
- per day: a person's minutes in one local (Asia/Shanghai) day never exceed the policy `daily_minutes_cap`
  (`orgs.setting`, default `DEFAULT_DAILY_MINUTES_CAP`; clamped; none left → refused).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from timebank.clock import DISPLAY_TZ
from timebank.db_base import utcnow
from timebank.errors import Conflict, Forbidden, InvalidInput, RuleViolation, get_or_404
from timebank.hours import checkin_tokens
from timebank.hours.models import Attendance, AttendanceSource, AttendanceStatus, Claim, ClaimStatus, Task, TaskStatus
from timebank.ops import audit
from timebank.people import orgs
from timebank.people.access import ADMIN_ROLES, FIELD_ROLES, READ_ROLES, Actor
from timebank.people.models import Person

DEFAULT_DAILY_MINUTES_CAP = 720
# Sessions that still count against caps and overlaps.
LIVE = (AttendanceStatus.open, AttendanceStatus.pending, AttendanceStatus.accepted)


def local_day(at: datetime) -> date:
    return at.astimezone(DISPLAY_TZ).date()


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=DISPLAY_TZ)
    return start, start + timedelta(days=1)


def _lock_person(session: Session, person_id: int) -> None:
    session.get(Person, person_id, with_for_update=True, populate_existing=True)


def _active_claim(session: Session, task: Task, person_id: int) -> Claim:
    claim = session.scalar(select(Claim).where(Claim.task_id == task.id, Claim.person_id == person_id))
    if claim is None or claim.status != ClaimStatus.active:
        raise RuleViolation("no_active_claim")
    if task.status != TaskStatus.published:
        raise Conflict("task_cancelled")
    return claim


def _check_no_overlap(session: Session, person_id: int, start: datetime, end: datetime | None,
                      exclude_id: int | None = None) -> None:
    far = datetime(9999, 1, 1, tzinfo=start.tzinfo)
    stmt = select(Attendance.id).where(
        Attendance.person_id == person_id, Attendance.status.in_(LIVE),
        Attendance.checked_in_at < (end or far),
        or_(Attendance.checked_out_at.is_(None), Attendance.checked_out_at > start),
    )
    if exclude_id is not None:
        stmt = stmt.where(Attendance.id != exclude_id)
    clash = session.scalar(stmt.limit(1))
    if clash is not None:
        raise RuleViolation("attendance_overlap", attendance_id=clash)


def _capped_minutes(session: Session, task: Task, person_id: int, start: datetime, end: datetime,
                    exclude_id: int | None = None) -> int:
    raw = int((end - start).total_seconds() // 60)
    if raw < 1:
        raise RuleViolation("attendance_too_short")
    others = select(func.coalesce(func.sum(Attendance.minutes), 0)).where(
        Attendance.person_id == person_id, Attendance.status.in_(LIVE), Attendance.minutes.is_not(None))
    if exclude_id is not None:
        others = others.where(Attendance.id != exclude_id)
    on_task = session.scalar(others.where(Attendance.task_id == task.id))
    task_left = task.length_minutes - on_task
    if task_left < 1:
        raise RuleViolation("task_cap_reached")
    day_start, day_end = _day_bounds(local_day(start))
    on_day = session.scalar(others.where(Attendance.checked_in_at >= day_start, Attendance.checked_in_at < day_end))
    cap = int(orgs.setting(session, task.community, "daily_minutes_cap", DEFAULT_DAILY_MINUTES_CAP))
    day_left = cap - on_day
    if day_left < 1:
        raise RuleViolation("daily_cap_reached", daily_minutes_cap=cap)
    return min(raw, task_left, day_left)


def _task_for_token(session: Session, secret_key: str, token: str) -> tuple[Task, checkin_tokens.ReadToken]:
    read = checkin_tokens.read(secret_key, token)
    task = session.get(Task, read.task_id)
    if task is None:
        raise InvalidInput("checkin_token_invalid")
    return task, read


def check_in(session: Session, actor: Actor, secret_key: str, token: str) -> Attendance:
    """Scan the site's QR code to start a session."""
    person_id = _person(actor)
    task, read = _task_for_token(session, secret_key, token)
    now = utcnow()
    checkin_tokens.check_window(task, now)
    _lock_person(session, person_id)
    claim = _active_claim(session, task, person_id)
    if now >= task.ends_at:
        raise RuleViolation("task_ended")
    _check_no_overlap(session, person_id, now, None)
    checkin_tokens.spend(session, read, person_id=person_id, purpose="check_in")
    row = Attendance(claim_id=claim.id, task_id=task.id, person_id=person_id, community_id=task.community_id,
                     org_path=task.community.path, checked_in_at=now, source=AttendanceSource.qr,
                     recorded_by_id=person_id, status=AttendanceStatus.open)
    session.add(row)
    session.flush()
    return row


def check_out(session: Session, actor: Actor, secret_key: str, token: str) -> Attendance:
    """Scan the site's QR code again to end the open session; its minutes go to verification."""
    person_id = _person(actor)
    task, read = _task_for_token(session, secret_key, token)
    now = utcnow()
    checkin_tokens.check_window(task, now)
    _lock_person(session, person_id)
    row = session.scalar(select(Attendance).where(
        Attendance.person_id == person_id, Attendance.task_id == task.id,
        Attendance.status == AttendanceStatus.open).with_for_update())
    if row is None:
        raise Conflict("not_checked_in")
    checkin_tokens.spend(session, read, person_id=person_id, purpose="check_out")
    row.minutes = _capped_minutes(session, task, person_id, row.checked_in_at, now, exclude_id=row.id)
    row.checked_out_at, row.checked_out_by_id, row.status = now, person_id, AttendanceStatus.pending
    session.flush()
    return row


def _recorded(session: Session, actor: Actor, claim_id: int, checked_in_at: datetime, checked_out_at: datetime,
              *, source: AttendanceSource, reason: str | None, roles) -> Attendance:
    claim = get_or_404(session, Claim, claim_id, "claim_not_found")
    task = claim.task
    actor.require_on(roles, task.org_path)
    if actor.person_id == claim.person_id:
        raise Forbidden("self_attendance")
    if checked_out_at <= checked_in_at:
        raise RuleViolation("attendance_too_short")
    if checked_out_at > utcnow() + timedelta(minutes=1):
        raise InvalidInput("time_in_future")
    if checked_in_at < task.starts_at - checkin_tokens.EARLY or checked_out_at > task.ends_at + checkin_tokens.LATE:
        raise RuleViolation("outside_task_window")
    _lock_person(session, claim.person_id)
    _active_claim(session, task, claim.person_id)
    _check_no_overlap(session, claim.person_id, checked_in_at, checked_out_at)
    minutes = _capped_minutes(session, task, claim.person_id, checked_in_at, checked_out_at)
    row = Attendance(claim_id=claim.id, task_id=task.id, person_id=claim.person_id, community_id=task.community_id,
                     org_path=task.community.path, checked_in_at=checked_in_at, checked_out_at=checked_out_at,
                     minutes=minutes, source=source, reason=reason, recorded_by_id=actor.person_id,
                     checked_out_by_id=actor.person_id, status=AttendanceStatus.pending)
    session.add(row)
    session.flush()
    audit.record(session, actor, f"attendance.{source}", "attendance", row.id, org_path=task.org_path,
                 after={"claim_id": claim.id, "in": checked_in_at.isoformat(), "out": checked_out_at.isoformat(),
                        "minutes": minutes, "reason": reason})
    return row


def confirm(session: Session, actor: Actor, *, claim_id: int, checked_in_at: datetime,
            checked_out_at: datetime) -> Attendance:
    """The task's grid worker (or an admin) confirms a session seen on site."""
    return _recorded(session, actor, claim_id, checked_in_at, checked_out_at, source=AttendanceSource.grid_worker,
                     reason=None, roles=FIELD_ROLES)


def late_entry(session: Session, actor: Actor, *, claim_id: int, checked_in_at: datetime,
               checked_out_at: datetime, reason: str) -> Attendance:
    """补录: an admin enters a session after the fact, with the reason (evidence) on record."""
    if not reason or not reason.strip():
        raise InvalidInput("reason_required", variant="late_entry")
    return _recorded(session, actor, claim_id, checked_in_at, checked_out_at, source=AttendanceSource.late_entry,
                     reason=reason.strip(), roles=ADMIN_ROLES)


def get(session: Session, attendance_id: int, *, lock: bool = False) -> Attendance:
    row = get_or_404(session, Attendance, attendance_id, "attendance_not_found", with_for_update=lock or None)
    return row


def get_visible(session: Session, actor: Actor, attendance_id: int) -> Attendance:
    row = get(session, attendance_id)
    if row.person_id != actor.person_id:
        actor.require_on(READ_ROLES | FIELD_ROLES, row.task.org_path)
    return row


def _person(actor: Actor) -> int:
    if actor.person_id is None:
        raise Forbidden("people_only")
    return actor.person_id
