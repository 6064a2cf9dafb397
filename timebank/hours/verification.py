"""Verification (审核) of attendance by a community admin, and complaints against a credit.

Accepting writes the Verification row and an outbox row (topic `credit`, dedupe key
`credit:attendance:<id>`) in the caller's transaction: the credit cannot be lost, and cannot be promised
twice (the attendance moves out of `pending`, the dedupe key is UNIQUE). The points are fixed here from the
task's rule (points per hour, capped per task) so the credit job only posts what was decided.
A complaint upheld later reverses the credit through the ledger (see `credit.reverse_attendance`).

One path for one decision or a batch (the single endpoint is a batch of one): `_read` locks the attendances
with their tasks' rules (Core rows), `_decide` checks each decision and builds its rows, `_write` records them
in a fixed few statements whatever the batch's size, including the residents' needs that accepted attendances
fulfil.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from sqlalchemy import Boolean, bindparam, insert, select, update
from sqlalchemy.orm import Session

from timebank.db_base import utcnow
from timebank.db_writes import combine, execute_combined, insert_row, row_params
from timebank.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RuleViolation, get_or_404
from timebank.hours import attendance as attendance_service
from timebank.hours import notices
from timebank.hours.models import (
    Attendance,
    AttendanceStatus,
    Complaint,
    ComplaintStatus,
    Decision,
    Need,
    NeedStatus,
    Task,
    Verification,
)
from timebank.ops import audit, outbox
from timebank.ops.models import AuditEntry, OutboxMessage
from timebank.people.access import ADMIN_ROLES, Actor

CREDIT_TOPIC = "credit"


def credit_dedupe_key(attendance_id: int) -> str:
    return f"credit:attendance:{attendance_id}"


def status_after(decision: Decision) -> AttendanceStatus:
    """The attendance's status once `decision` is recorded."""
    return AttendanceStatus.accepted if decision == Decision.accepted else AttendanceStatus.rejected


def points_for(task: Task, minutes: int) -> int:
    points = minutes * task.points_per_hour // 60
    return min(points, task.points_cap) if task.points_cap is not None else points


@functools.cache
def _decisions_read():
    """The attendances to decide, locked in id order (overlapping batches cannot deadlock), with their tasks'
    rules, as Core rows (built once, see db_writes)."""
    a, t = Attendance.__table__, Task.__table__
    return (select(a.c.id, a.c.status, a.c.minutes, a.c.person_id, a.c.org_path, a.c.community_id,
                   a.c.checked_in_at, t.c.need_id, t.c.category, t.c.points_per_hour, t.c.points_cap)
            .join(t, t.c.id == a.c.task_id)
            .where(a.c.id.in_(bindparam("ids", expanding=True))).order_by(a.c.id).with_for_update(of=a))


@functools.cache
def _needs_read():
    """The needs that accepted attendances fulfil, locked in id order."""
    n = Need.__table__
    return (select(n.c.id, n.c.status, n.c.org_path).where(n.c.id.in_(bindparam("ids", expanding=True)))
            .order_by(n.c.id).with_for_update())


@functools.cache
def _decision_write(dialect_name: str, returning_id: bool) -> tuple:
    """One decision's rows: verification (main), attendance status, audit entry, and the outbox message when
    accepted; one statement on PostgreSQL (see db_writes), run once per decision (executemany). With
    `returning_id` the verification's id comes back from the write itself."""
    main = insert_row(Verification.__table__, "v")
    if returning_id:
        main = main.returning(Verification.__table__.c.id)
    return tuple(combine(dialect_name, main, _status_update(), insert_row(AuditEntry.__table__, "au"),
                         _outbox_if_accepted()))


@functools.cache
def _outbox_if_accepted():
    """INSERT of the credit's outbox message, writing nothing when `ob_wanted` is false (a rejection)."""
    t = OutboxMessage.__table__
    columns = [c for c in t.columns if c.key != "id"]
    return insert(t).from_select([c.key for c in columns], select(
        *(bindparam(f"ob_{c.key}", type_=c.type) for c in columns)).where(bindparam("ob_wanted", type_=Boolean())))


@functools.cache
def _need_fulfil():
    n = Need.__table__
    return (update(n).where(n.c.id == bindparam("n_id"))
            .values(status=bindparam("n_status", type_=n.c.status.type), fulfilled_at=bindparam("n_at")))


@functools.cache
def _verification_ids():
    v = Verification.__table__
    return select(v.c.attendance_id, v.c.id).where(v.c.attendance_id.in_(bindparam("ids", expanding=True)))


@functools.cache
def _status_update():
    a = Attendance.__table__
    return update(a).where(a.c.id == bindparam("a_id")).values(status=bindparam("a_status", type_=a.c.status.type))


class _Verdict(NamedTuple):
    """A checked decision: the unsaved Verification, the parameters of `_decision_write`, and the need its
    acceptance fulfils (if any)."""

    verification: Verification
    params: dict
    need_id: int | None


def verify(session: Session, actor: Actor, attendance_id: int, *, decision: Decision, minutes: int | None = None,
           reason: str | None = None) -> Verification:
    """Accept (possibly trimming minutes) or reject one attendance awaiting verification: a batch of one."""
    found = _read(session, [attendance_id])
    verdict = _decide(actor, found.get(attendance_id), attendance_id, decision=decision, minutes=minutes,
                      reason=reason)
    return _write(session, actor, [verdict])[0]


def verify_many(session: Session, actor: Actor, items: list[dict]) -> list[Verification]:
    """Bulk verification: all items pass or none is written (the error names the failing attendance)."""
    ids = [item["attendance_id"] for item in items]
    if len(set(ids)) != len(ids):
        raise InvalidInput("duplicate_attendance")
    found = _read(session, ids)
    verdicts = []
    for item in items:
        try:
            verdicts.append(_decide(actor, found.get(item["attendance_id"]), item["attendance_id"],
                                    decision=item["decision"], minutes=item.get("minutes"),
                                    reason=item.get("reason")))
        except DomainError as exc:
            exc.extra.setdefault("attendance_id", item["attendance_id"])
            raise
    return _write(session, actor, verdicts)


def _read(session: Session, ids: list[int]) -> dict:
    """The attendances (locked) with their tasks' rules, by id: one query whatever the batch's size."""
    return {r.id: r for r in session.connection().execute(_decisions_read(), {"ids": sorted(ids)})}


def _decide(actor: Actor, row, attendance_id: int, *, decision: Decision, minutes: int | None,
            reason: str | None) -> _Verdict:
    """Check one decision on `row` (a `_decisions_read` row, or None) and build what records it. Writes
    nothing."""
    if row is None:
        raise NotFound("attendance_not_found")
    actor.require_on(ADMIN_ROLES, row.org_path)
    if actor.person_id is not None and actor.person_id == row.person_id:
        raise Forbidden("self_verification")
    if row.status == AttendanceStatus.open:
        raise Conflict("attendance_open")
    if row.status != AttendanceStatus.pending:
        raise Conflict("already_verified", status_now=str(row.status))
    if decision == Decision.accepted:
        accepted = row.minutes if minutes is None else minutes
        if not 1 <= accepted <= row.minutes:
            raise InvalidInput("minutes_out_of_range", attended=row.minutes)
        points = points_for(row, accepted)
    else:
        if not reason or not reason.strip():
            raise InvalidInput("reason_required", variant="rejection")
        accepted, points = 0, 0
    ver = Verification(attendance_id=row.id, decision=decision, minutes_attended=row.minutes,
                       minutes_accepted=accepted, points=points, category=row.category, person_id=row.person_id,
                       community_id=row.community_id, served_on=attendance_service.local_day(row.checked_in_at),
                       reason=reason, decided_by_id=actor.person_id or 0, decided_at=utcnow())
    before = {"status": "pending", "minutes": row.minutes}
    after = {"decision": str(decision), "minutes": accepted, "points": points, "reason": reason}
    v = Verification.__table__
    params = {
        "a_id": row.id, "a_status": status_after(decision),
        **row_params(v, "v", {c.key: getattr(ver, c.key) for c in v.columns if getattr(ver, c.key) is not None}),
        **row_params(AuditEntry.__table__, "au", _audit(actor, "attendance.verify", "attendance", row.id,
                                                        row.org_path, before, after)),
        **row_params(OutboxMessage.__table__, "ob", {"topic": CREDIT_TOPIC, "payload": {"attendance_id": row.id},
                                                     "dedupe_key": credit_dedupe_key(row.id)}),
        "ob_wanted": decision == Decision.accepted,
    }
    return _Verdict(ver, params, row.need_id if decision == Decision.accepted else None)


def _audit(actor: Actor, action: str, entity: str, entity_id: int, org_path: str | None, before: dict,
           after: dict) -> dict:
    return {"actor": actor.label, "action": action, "entity": entity, "entity_id": str(entity_id),
            "org_path": org_path, "before": before, "after": after, "request_id": audit.current_request_id()}


def _write(session: Session, actor: Actor, verdicts: list[_Verdict]) -> list[Verification]:
    """Record checked decisions, however many, in a fixed few statements: the needs they fulfil (a resident's
    need whose task is served moves from accepted to fulfilled, with its audit entry), then one `_decision_write`
    per decision (executemany: no RETURNING, whose multi-row form the driver would re-parse each time), then
    the new ids read back by attendance (UNIQUE). No ORM unit of work."""
    conn = session.connection()
    need_ids = sorted({v.need_id for v in verdicts if v.need_id is not None})
    if need_ids:
        now = utcnow()
        fulfilled = [n for n in conn.execute(_needs_read(), {"ids": need_ids}) if n.status == NeedStatus.accepted]
        if fulfilled:
            conn.execute(_need_fulfil(), [{"n_id": n.id, "n_status": NeedStatus.fulfilled, "n_at": now}
                                          for n in fulfilled])
            conn.execute(insert(AuditEntry), [
                _audit(actor, "need.fulfil", "need", n.id, n.org_path, {"status": str(NeedStatus.accepted)},
                       {"status": str(NeedStatus.fulfilled)}) for n in fulfilled])
            for n in fulfilled:
                _expire(session, Need, n.id, "status", "fulfilled_at")
    params = [v.params for v in verdicts]
    out = [v.verification for v in verdicts]
    dialect = session.get_bind().dialect.name
    if len(params) == 1:  # the busiest case, one decision: its id comes back with the write, in one round trip
        out[0].id = execute_combined(session, _decision_write(dialect, True), params[0]).scalar_one()
    else:  # executemany has no RETURNING for these statements: the ids are read back by attendance (UNIQUE)
        for stmt in _decision_write(dialect, False):
            conn.execute(stmt, params)
        new_ids = dict(conn.execute(_verification_ids(), {"ids": [ver.attendance_id for ver in out]}).all())
        for ver in out:
            ver.id = new_ids[ver.attendance_id]
    if any(p["ob_wanted"] for p in params):
        outbox.touch(session, CREDIT_TOPIC)  # the request's relay kick then wakes the credit drain
    for ver in out:
        _expire(session, Attendance, ver.attendance_id, "status")
    notices.attendance_decided(session, [(v.attendance_id, v.person_id, v.decision == Decision.accepted,
                                          v.minutes_accepted, v.points, v.reason) for v in out])
    for need_id in (n.id for n in fulfilled) if need_ids else ():
        notices.need_changed(session, session.get(Need, need_id), "need.fulfilled")
    return out


def _expire(session: Session, model, row_id: int, *attributes: str) -> None:
    """An object of `model` the caller already holds shows what was written (reloaded on next access)."""
    held = session.identity_map.get((model, (row_id,), None))
    if held is not None:
        session.expire(held, list(attributes))


def pending_stmt(community_id: int):
    return select(Attendance).where(Attendance.community_id == community_id,
                                    Attendance.status == AttendanceStatus.pending)


def file_complaint(session: Session, actor: Actor, attendance_id: int, *, text: str) -> Complaint:
    """A complaint against an accepted attendance: by the resident whose need it served, or an admin."""
    row = attendance_service.get(session, attendance_id)
    need = session.get(Need, row.task.need_id) if row.task.need_id else None
    if not (need is not None and actor.person_id == need.requester_id):
        actor.require_on(ADMIN_ROLES, row.org_path)
    if row.status != AttendanceStatus.accepted:
        raise Conflict("attendance_not_accepted")
    complaint = Complaint(attendance_id=row.id, filed_by_id=actor.person_id or 0, text=text,
                          status=ComplaintStatus.open)
    session.add(complaint)
    session.flush()
    audit.record(session, actor, "complaint.file", "complaint", complaint.id, org_path=row.org_path,
                 after={"attendance_id": row.id, "text": text})
    return complaint


def decide_complaint(session: Session, actor: Actor, complaint_id: int, *, uphold: bool, reason: str) -> Complaint:
    """Uphold (reverse the credit through the ledger) or dismiss a complaint; who and why are recorded."""
    from timebank.hours import credit

    complaint = get_or_404(session, Complaint, complaint_id, "complaint_not_found", with_for_update=True)
    row = attendance_service.get(session, complaint.attendance_id, lock=True)
    actor.require_on(ADMIN_ROLES, row.org_path)
    if complaint.status != ComplaintStatus.open:
        raise Conflict("complaint_decided")
    if not reason or not reason.strip():
        raise InvalidInput("reason_required")
    if uphold:
        if row.status != AttendanceStatus.accepted:
            raise RuleViolation("attendance_not_accepted", variant="decide")
        credit.reverse_attendance(session, actor, row, reason=reason)
    complaint.status = ComplaintStatus.upheld if uphold else ComplaintStatus.dismissed
    complaint.decided_by_id, complaint.decided_at, complaint.decision_reason = actor.person_id, utcnow(), reason
    session.flush()
    audit.record(session, actor, "complaint.decide", "complaint", complaint.id, org_path=row.org_path,
                 before={"status": "open"}, after={"status": str(complaint.status), "reason": reason})
    notices.complaint_decided(session, complaint, row)
    return complaint
