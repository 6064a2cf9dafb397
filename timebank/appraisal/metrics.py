"""The figures of an appraisal, per member and period, read from the hours records and the ledger.

Set-based: one query per kind of fact for a whole report's members (an employer's), then assembled per
member (their part in projects and micro-wishes comes from `projects.queries.member_part`, the same way).
Minutes and points are the ledger's own amounts — the credit transfers named by each verification,
less the reversal transfers that correct them — so a report's totals equal the journal, and every entry
lists the transfer ids and attendance ids it counted. A member whose records do not agree with the ledger
(a verification naming a transfer that is missing, or that credits someone else) gets a `MemberError`
instead of figures: that member's entry fails with the reason, the rest of the report goes on.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased

from timebank.appraisal.models import ReportIn, ReportInStatus
from timebank.clock import utc_bounds
from timebank.hours.models import (
    Attendance,
    Claim,
    ClaimStatus,
    Complaint,
    ComplaintStatus,
    Decision,
    Need,
    NeedKind,
    NeedStatus,
    Rating,
    Task,
    TaskScope,
    Verification,
)
from timebank.ledger import Account, Transfer
from timebank.people.models import Org
from timebank.projects import queries as projects_queries

DEFAULT_LATE_WITHDRAWAL_HOURS = 24
FULFILLED = (NeedStatus.fulfilled, NeedStatus.closed)


class MemberError(Exception):
    """This member's records cannot be reported as they stand; the reason goes on the entry."""


@dataclass(frozen=True)
class Member:
    person_id: int
    party_member_id: int


def _blank(person_id: int) -> dict:
    return {
        "report_in": {"status": "not_reported", "community": None, "community_id": None, "reported_on": None},
        "minutes": {"credited": 0, "reversed": 0, "net": 0, "awaiting_credit": 0,
                    "by_category": {}, "by_month": {}},
        "points": {"credited": 0, "reversed": 0, "net": 0},
        "tasks": {"individual": 0, "organisation": 0},
        "micro_wishes": 0,
        "projects": {"count": 0, "minutes": 0},
        "wishes_claimed": 0,
        "ratings": {"count": 0, "mean": None, "stars": []},
        "late_withdrawals": 0,
        "no_shows": 0,
        "corrections": [],
        "trace": {"transfer_ids": [], "attendance_ids": []},
    }


def compute(session: Session, members: list[Member], *, starts_on: date, ends_on: date,
            late_withdrawal_hours: int = DEFAULT_LATE_WITHDRAWAL_HOURS) -> dict[int, dict | MemberError]:
    """{person_id: metrics dict, or the MemberError that stops that member}."""
    person_ids = [m.person_id for m in members]
    out: dict[int, dict | MemberError] = {pid: _blank(pid) for pid in person_ids}
    if not person_ids:
        return out
    _report_ins(session, members, ends_on, out)
    served_needs = _service(session, person_ids, starts_on, ends_on, out)
    _ratings(session, served_needs, out)
    _claims(session, person_ids, starts_on, ends_on, late_withdrawal_hours, out)
    _projects(session, person_ids, starts_on, ends_on, out)
    for metrics in out.values():
        if isinstance(metrics, dict):
            m = metrics["minutes"]
            m["by_category"] = dict(sorted(m["by_category"].items()))
            m["by_month"] = dict(sorted(m["by_month"].items()))
            metrics["trace"]["transfer_ids"].sort()
            metrics["trace"]["attendance_ids"] = sorted(set(metrics["trace"]["attendance_ids"]))
    return out


def _report_ins(session: Session, members: list[Member], ends_on: date, out: dict) -> None:
    by_member = {m.party_member_id: m.person_id for m in members}
    rows = session.execute(
        select(ReportIn.party_member_id, ReportIn.status, ReportIn.reported_on, ReportIn.community_id, Org.name)
        .join(Org, Org.id == ReportIn.community_id)
        .where(ReportIn.party_member_id.in_(list(by_member)), ReportIn.reported_on <= ends_on,
               ReportIn.status.not_in([ReportInStatus.rejected, ReportInStatus.moved]))
        .order_by(ReportIn.id)).all()
    for member_id, status, reported_on, community_id, name in rows:  # the latest wins
        out[by_member[member_id]]["report_in"] = {"status": str(status), "community": name,
                                                  "community_id": community_id,
                                                  "reported_on": reported_on.isoformat()}


def _service(session: Session, person_ids: list[int], starts_on: date, ends_on: date, out: dict) -> dict:
    """Verified minutes and points (ledger amounts), tasks, micro-wishes, corrections. Returns served needs."""
    rows = _verified(session, person_ids, starts_on, ends_on)
    credits, reversals = _credit_transfers(session, person_ids, starts_on, ends_on)
    reasons = _complaint_reasons(session, [r.attendance_id for r in rows if r.reversed_at is not None])
    tasks: dict[int, dict[str, set]] = defaultdict(lambda: {"individual": set(), "organisation": set()})
    wishes: dict[int, set] = defaultdict(set)
    served_needs: dict[int, set] = defaultdict(set)
    for r in rows:
        metrics = out[r.person_id]
        if isinstance(metrics, MemberError):
            continue
        if r.credited_at is None:
            if r.reversed_at is None:
                metrics["minutes"]["awaiting_credit"] += r.minutes_accepted
            continue
        try:
            counted = _add_credited(metrics, r, credits, reversals, reasons)
        except MemberError as exc:
            out[r.person_id] = exc
            continue
        if counted:
            tasks[r.person_id][str(r.scope)].add(r.task_id)
            if r.need_id is not None:
                served_needs[r.person_id].add(r.need_id)
                if r.kind == NeedKind.micro_wish and r.need_status in FULFILLED:
                    wishes[r.person_id].add(r.need_id)
    for pid, metrics in out.items():
        if isinstance(metrics, dict):
            metrics["tasks"] = {"individual": len(tasks[pid][TaskScope.individual.value]),
                                "organisation": len(tasks[pid][TaskScope.organisation.value])}
            metrics["micro_wishes"] = len(wishes[pid])
            metrics["points"]["net"] = metrics["points"]["credited"] - metrics["points"]["reversed"]
    return served_needs


def _in_period(person_ids: list[int], starts_on: date, ends_on: date) -> tuple:
    return (Verification.person_id.in_(person_ids), Verification.decision == Decision.accepted,
            Verification.served_on >= starts_on, Verification.served_on <= ends_on)


def _verified(session: Session, person_ids: list[int], starts_on: date, ends_on: date) -> list:
    """The members' accepted verifications served in the period, with their tasks and needs."""
    return session.execute(
        select(Verification.id, Verification.attendance_id, Verification.person_id, Verification.category,
               Verification.served_on, Verification.minutes_accepted, Verification.minutes_transfer_id,
               Verification.points_transfer_id, Verification.credited_at, Verification.reversed_at,
               Task.id.label("task_id"), Task.scope, Task.title.label("task_title"), Need.id.label("need_id"),
               Need.kind, Need.status.label("need_status"))
        .join(Attendance, Attendance.id == Verification.attendance_id)
        .join(Task, Task.id == Attendance.task_id)
        .outerjoin(Need, Need.id == Task.need_id)
        .where(*_in_period(person_ids, starts_on, ends_on))
        .order_by(Verification.id)).all()


def _credit_transfers(session: Session, person_ids: list[int], starts_on: date, ends_on: date
                      ) -> tuple[dict[int, tuple], dict[int, tuple]]:
    """The ledger's rows, joined through the same verifications (no long id lists to send): the credit
    transfers each verification names (by id), and the reversals that correct them (by the corrected id)."""
    in_period = (*_in_period(person_ids, starts_on, ends_on), Verification.credited_at.is_not(None))
    credits: dict[int, tuple] = {}
    reversals: dict[int, tuple] = {}
    for column in (Verification.minutes_transfer_id, Verification.points_transfer_id):
        for t in session.execute(
                select(Transfer.id, Transfer.amount, Transfer.ledger, Account.owner_kind, Account.owner_id)
                .join(Verification, Transfer.id == column).join(Account, Account.id == Transfer.credit_account_id)
                .where(*in_period)):
            credits[t.id] = t
        for t in session.execute(select(Transfer.id, Transfer.amount, Transfer.corrects_id, Transfer.meta)
                                 .join(Verification, Transfer.corrects_id == column).where(*in_period)):
            reversals[t.corrects_id] = t
    return credits, reversals


def _add_credited(metrics: dict, r, credits: dict, reversals: dict, reasons: dict) -> bool:
    """Count one credited verification into a member's figures (net of any reversal, with the correction and
    its reason listed); True when it still counts as service (tasks, needs, wishes)."""
    minutes = _credited(credits, r.minutes_transfer_id, r, "minutes")
    points = _credited(credits, r.points_transfer_id, r, "points") if r.points_transfer_id else None
    trace = metrics["trace"]
    trace["attendance_ids"].append(r.attendance_id)
    net = minutes.amount
    metrics["minutes"]["credited"] += minutes.amount
    trace["transfer_ids"].append(minutes.id)
    if points is not None:
        metrics["points"]["credited"] += points.amount
        trace["transfer_ids"].append(points.id)
    reversed_minutes = reversals.get(minutes.id)
    if reversed_minutes is not None:
        net -= reversed_minutes.amount
        metrics["minutes"]["reversed"] += reversed_minutes.amount
        trace["transfer_ids"].append(reversed_minutes.id)
    if points is not None and (reversed_points := reversals.get(points.id)) is not None:
        metrics["points"]["reversed"] += reversed_points.amount
        trace["transfer_ids"].append(reversed_points.id)
    if r.reversed_at is not None or reversed_minutes is not None:
        reason = reasons.get(r.attendance_id) or ((reversed_minutes.meta or {}).get("reason")
                                                  if reversed_minutes is not None else None)
        metrics["corrections"].append({
            "attendance_id": r.attendance_id, "task": r.task_title, "served_on": r.served_on.isoformat(),
            "minutes": minutes.amount, "reversal_transfer_id": reversed_minutes.id if reversed_minutes else None,
            "reason": reason or ""})
    metrics["minutes"]["net"] += net
    by_cat = metrics["minutes"]["by_category"]
    by_cat[r.category] = by_cat.get(r.category, 0) + net
    month = r.served_on.strftime("%Y-%m")
    metrics["minutes"]["by_month"][month] = metrics["minutes"]["by_month"].get(month, 0) + net
    return reversed_minutes is None and r.reversed_at is None


def _credited(credits: dict, transfer_id: int | None, row, book: str):
    t = credits.get(transfer_id)
    if t is None:
        raise MemberError(f"ledger_mismatch: verification {row.id} names {book} transfer {transfer_id}, "
                          "which is not in the ledger")
    if str(t.ledger) != book or str(t.owner_kind) != "volunteer" or t.owner_id != row.person_id:
        raise MemberError(f"ledger_mismatch: {book} transfer {t.id} of verification {row.id} does not credit "
                          f"person {row.person_id}'s {book} account")
    return t


def _complaint_reasons(session: Session, attendance_ids: list[int]) -> dict[int, str]:
    reasons: dict[int, str] = {}
    for chunk in _chunks(attendance_ids):
        for attendance_id, reason in session.execute(
                select(Complaint.attendance_id, Complaint.decision_reason)
                .where(Complaint.attendance_id.in_(chunk), Complaint.status == ComplaintStatus.upheld)
                .order_by(Complaint.id)):
            reasons[attendance_id] = reason or ""
    return reasons


def _ratings(session: Session, served_needs: dict[int, set], out: dict) -> None:
    need_ids = sorted({n for needs in served_needs.values() for n in needs})
    stars: dict[int, int] = {}
    for chunk in _chunks(need_ids):
        for need_id, value in session.execute(select(Rating.need_id, Rating.stars).where(Rating.need_id.in_(chunk))):
            stars[need_id] = value
    for pid, needs in served_needs.items():
        metrics = out[pid]
        if isinstance(metrics, MemberError):
            continue
        values = [stars[n] for n in sorted(needs) if n in stars]
        metrics["ratings"] = {"count": len(values), "mean": round(sum(values) / len(values), 2) if values else None,
                              "stars": values}


def _claims(session: Session, person_ids: list[int], starts_on: date, ends_on: date, late_hours: int,
            out: dict) -> None:
    start, end = utc_bounds(starts_on, ends_on)
    task = aliased(Task)
    rows = session.execute(
        select(Claim.person_id, Claim.status, Claim.withdrawn_at, task.starts_at)
        .join(task, task.id == Claim.task_id)
        .where(Claim.person_id.in_(person_ids), Claim.status.in_([ClaimStatus.withdrawn, ClaimStatus.no_show]),
               and_(task.starts_at >= start, task.starts_at < end))).all()
    late = timedelta(hours=late_hours)
    for pid, status, withdrawn_at, starts_at in rows:
        metrics = out[pid]
        if isinstance(metrics, MemberError):
            continue
        if status == ClaimStatus.no_show:
            metrics["no_shows"] += 1
        elif withdrawn_at is not None and starts_at - withdrawn_at <= late:
            metrics["late_withdrawals"] += 1


def _projects(session: Session, person_ids: list[int], starts_on: date, ends_on: date, out: dict) -> None:
    """项目与微心愿: the projects each member served in (credited minutes on project tasks) and the micro-wishes
    they claimed themselves and fulfilled, one query per fact for all members."""
    for pid, part in projects_queries.member_part(session, person_ids, starts_on, ends_on).items():
        metrics = out[pid]
        if isinstance(metrics, MemberError):
            continue
        metrics["projects"] = {"count": part["projects"], "minutes": part["project_minutes"]}
        metrics["wishes_claimed"] = part["wishes_claimed"]


def _chunks(ids: list[int], size: int = 900):
    for i in range(0, len(ids), size):
        yield ids[i:i + size]
