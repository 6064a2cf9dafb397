"""What the service-hours flow tells people, through `timebank.notify`: one function per event, called by the
rule (or the job, or the cron sweep) that causes it, in its transaction. The texts are in `notify.templates`."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.db_base import utcnow
from timebank.hours.models import (
    Attendance,
    Claim,
    ClaimStatus,
    Complaint,
    Need,
    NeedEscalation,
    NeedStatus,
    Task,
    TaskStatus,
    WishClaim,
)
from timebank.notify import Event, notify, notify_many, told_now
from timebank.notify.templates import beijing
from timebank.people.access import FIELD_ROLES
from timebank.people.models import Org, RoleGrant

REMIND_BEFORE = timedelta(hours=2)


def remind_starting(session: Session, *, now: datetime | None = None, limit: int = 1000) -> int:
    """Cron: each active claim on a task that starts within two hours is reminded once (per start time)."""
    now = now or utcnow()
    rows = session.execute(
        select(Claim.id, Claim.person_id, Task.id, Task.title, Task.place, Task.starts_at)
        .join(Task, Task.id == Claim.task_id)
        .where(Claim.status == ClaimStatus.active, Task.status == TaskStatus.published,
               Task.starts_at > now, Task.starts_at <= now + REMIND_BEFORE)
        .order_by(Task.starts_at, Claim.id).limit(limit)).all()
    told = 0
    for claim_id, person_id, _task_id, title, place, starts_at in rows:
        key = f"task.starting:claim:{claim_id}:{starts_at.isoformat()}"
        told += told_now(notify(session, person_id, "task.starting",
                       {"task": title, "place": place, "starts_at": beijing(starts_at)}, key))
    return told


def _claimants(session: Session, task_id: int) -> list[tuple[int, int]]:
    return session.execute(select(Claim.id, Claim.person_id).where(
        Claim.task_id == task_id, Claim.status == ClaimStatus.active).order_by(Claim.id)).all()


def task_changed(session: Session, task: Task, *, change: str) -> int:
    """A published task's time or place changed: every active claimant is told (once per new time and place)."""
    params = {"task": task.title, "change": change, "starts_at": beijing(task.starts_at), "place": task.place}
    stamp = f"{task.starts_at.isoformat()}:{task.place}"
    return sum(told_now(notify(session, person_id, "task.changed", params, f"task.changed:{task.id}:{stamp}"))
               for _claim_id, person_id in _claimants(session, task.id))


def task_cancelled(session: Session, task: Task, *, reason: str) -> int:
    """A task was cancelled: every active claimant is told, once."""
    params = {"task": task.title, "starts_at": beijing(task.starts_at), "reason": reason}
    return sum(told_now(notify(session, person_id, "task.cancelled", params, f"task.cancelled:{task.id}"))
               for _claim_id, person_id in _claimants(session, task.id))


def attendance_decided(session: Session, decisions: list[tuple[int, int, bool, int, int, str | None]]) -> None:
    """(attendance id, person id, accepted, minutes, points, reason) for each verification just written."""
    titles = dict(session.execute(select(Attendance.id, Task.title).join(Task, Task.id == Attendance.task_id)
                                  .where(Attendance.id.in_([d[0] for d in decisions]))).all())
    for attendance_id, person_id, accepted, minutes, points, reason in decisions:
        if accepted:
            notify(session, person_id, "attendance.verified",
                   {"task": titles.get(attendance_id, ""), "minutes": minutes, "points": points},
                   f"attendance.verified:{attendance_id}")
        else:
            notify(session, person_id, "attendance.rejected",
                   {"task": titles.get(attendance_id, ""), "reason": reason or ""},
                   f"attendance.rejected:{attendance_id}")


def points_credited(session: Session, credited: list) -> None:
    """After the credit job posted: `credited` are `credit._creditable` rows."""
    titles = dict(session.execute(select(Task.id, Task.title).where(
        Task.id.in_({row.task_id for row in credited}))).all())
    for row in credited:
        notify(session, row.person_id, "points.credited",
               {"task": titles.get(row.task_id, ""), "minutes": row.minutes_accepted, "points": row.points or 0},
               f"points.credited:attendance:{row.attendance_id}")


def complaint_decided(session: Session, complaint: Complaint, attendance: Attendance) -> None:
    """The complainant and the volunteer concerned both learn the decision."""
    task = session.get(Task, attendance.task_id)
    decision = "投诉成立，相应服务时长和积分已冲回" if complaint.status == "upheld" else "投诉不成立"
    params = {"task": task.title, "decision": decision, "reason": complaint.decision_reason or ""}
    for person_id in {complaint.filed_by_id, attendance.person_id}:
        if person_id:
            notify(session, person_id, "complaint.decided", params, f"complaint.decided:{complaint.id}")


def need_changed(session: Session, need: Need, kind: str, *, task: Task | None = None) -> None:
    """The resident who posted a need learns it was accepted, published as a task, fulfilled or closed."""
    params = {"need": need.title}
    if task is not None:
        params["starts_at"] = beijing(task.starts_at)
    if kind == "need.closed" and need.reject_reason:  # refused before any task, or closed after: said as it was
        params["reason"] = (f"未被受理，原因：{need.reject_reason}" if need.status == NeedStatus.rejected
                            else f"原因：{need.reject_reason}")
    notify(session, need.requester_id, kind, params, f"{kind}:{need.id}")


# --- deadlines, escalation and micro-wish claims ---------------------------------------------------------------

ADMINS_TOLD = 20  # the receiving org's admins told of an escalation: bounded, lowest ids first


def need_escalated(session: Session, need: Need, step: NeedEscalation, *, to_org: Org) -> None:
    """The resident learns their need went up a level; the grid workers and admins holding a role on the org it
    reached (on that node itself, at most `ADMINS_TOLD`) get one inbox message each."""
    params = {"need": need.title, "org": to_org.name}
    notify(session, need.requester_id, "need.escalated", params, f"need.escalated:{need.id}:{step.level}")
    staff = list(session.scalars(select(RoleGrant.person_id).where(
        RoleGrant.org_id == to_org.id, RoleGrant.role.in_(FIELD_ROLES)).distinct()
        .order_by(RoleGrant.person_id).limit(ADMINS_TOLD)))
    if staff:
        notify_many(session, "need.escalated_to_you",
                    [Event(pid, params, f"need.escalated_to_you:{need.id}:{step.level}") for pid in staff])


def wish_claim_changed(session: Session, claim: WishClaim, need: Need, kind: str) -> None:
    """`wish.claimed` / `wish.fulfilled` to the resident, `wish.confirmed` to whoever claimed (the volunteer, or the
    unit's contact who claimed for it)."""
    params = {"need": need.title}
    to = claim.person_id if kind == "wish.confirmed" else need.requester_id
    notify(session, to, kind, params, f"{kind}:{claim.id}")
