"""Verification (审核) of attendance by a community admin, and complaints against a credit.

Accepting writes the Verification row and an outbox row (topic `credit`, dedupe key
`credit:attendance:<id>`) in the caller's transaction: the credit cannot be lost, and cannot be promised
twice (the attendance moves out of `pending`, the dedupe key is UNIQUE). The points are fixed here from the
task's rule (points per hour, capped per task) so the credit job only posts what was decided.
A complaint upheld later reverses the credit through the ledger (see `credit.reverse_attendance`).
"""

from __future__ import annotations

import functools

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from timebank.db_base import utcnow
from timebank.db_writes import combine, execute_combined, insert_row, row_params
from timebank.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RuleViolation, get_or_404
from timebank.hours import attendance as attendance_service
from timebank.hours import needs
from timebank.hours.models import (
    Attendance,
    AttendanceStatus,
    Complaint,
    ComplaintStatus,
    Decision,
    Need,
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


def _decision_select():
    """What `_decide` reads of an attendance and its task, as one Core row (the fast paths skip the ORM)."""
    a, t = Attendance.__table__, Task.__table__
    return (select(a.c.id, a.c.status, a.c.minutes, a.c.person_id, a.c.org_path, a.c.community_id,
                   a.c.checked_in_at, t.c.need_id, t.c.category, t.c.points_per_hour, t.c.points_cap)
            .join(t, t.c.id == a.c.task_id))


@functools.cache
def _decision_read():
    """The fast path's read: the attendance, locked, with the task's rule (built once, see db_writes)."""
    a = Attendance.__table__
    return _decision_select().where(a.c.id == bindparam("attendance_id")).with_for_update(of=a)


@functools.cache
def _decision_write(dialect_name: str, with_outbox: bool) -> tuple:
    """The fast path's write: verification (main, returning its id), attendance status, audit, outbox."""
    others = [_status_update(), insert_row(AuditEntry.__table__, "au")]
    if with_outbox:
        others.append(insert_row(OutboxMessage.__table__, "ob"))
    main = insert_row(Verification.__table__, "v").returning(Verification.__table__.c.id)
    return tuple(combine(dialect_name, main, *others))


def verify(session: Session, actor: Actor, attendance_id: int, *, decision: Decision, minutes: int | None = None,
           reason: str | None = None) -> Verification:
    """Accept (possibly trimming minutes) or reject one attendance awaiting verification.

    This is the busiest write, so the common case (a task not made from a resident's need) skips the ORM: one
    Core read locks the attendance and brings the task's rule, and one statement writes the decision, the
    attendance's status, the audit entry and the outbox message (see db_writes). The ORM path, which also
    marks the need fulfilled, is taken otherwise; both decide through `_decide`.
    """
    found = session.connection().execute(_decision_read(), {"attendance_id": attendance_id}).one_or_none()
    if found is None:
        raise NotFound("attendance_not_found")
    if found.need_id is not None:  # the need moves too: the ORM's flush writes it all
        row = session.scalar(select(Attendance).options(joinedload(Attendance.task))
                             .where(Attendance.id == attendance_id).with_for_update(of=Attendance))
        ver = _decide(session, actor, row, row.task, decision=decision, minutes=minutes, reason=reason)
        session.flush()
        return ver
    # `found` carries both the attendance's and the task's fields that `_decide` reads.
    batch = _Batch()
    ver = _decide(session, actor, found, found, decision=decision, minutes=minutes, reason=reason, batch=batch,
                  attach=False)
    status = status_after(decision)
    params = {"a_id": found.id, "a_status": status, **_verification_params(ver),
              **row_params(AuditEntry.__table__, "au", batch.audit[0])}
    if batch.outbox:
        params.update(row_params(OutboxMessage.__table__, "ob", batch.outbox[0]))
        outbox.touch(session, CREDIT_TOPIC)
    statements = _decision_write(session.get_bind().dialect.name, bool(batch.outbox))
    ver.id = execute_combined(session, statements, params).scalar_one()
    identity = session.identity_map.get((Attendance, (found.id,), None))
    if identity is not None:  # an Attendance the caller already holds shows the new status
        set_committed_value(identity, "status", status)
    return ver


def _verification_params(ver: Verification) -> dict:
    """The parameters of `insert_row(Verification.__table__, "v")` for an unsaved Verification."""
    table = Verification.__table__
    return row_params(table, "v", {c.key: getattr(ver, c.key) for c in table.columns
                                   if getattr(ver, c.key) is not None})


class _Batch:
    """Audit entries and outbox rows of a bulk verification, written by two executemany INSERTs.

    Through the ORM a batch of 250 became multi-row INSERT ... RETURNING statements thousands of parameters
    long, and the driver re-parsed each one in Python (too long for its statement cache): that, not the
    database, bounded bulk verification. Nobody needs these rows' ids, so they go in without RETURNING.
    """

    def __init__(self) -> None:
        self.audit: list[dict] = []
        self.outbox: list[dict] = []

    def write(self, session: Session) -> None:
        if self.audit:
            session.execute(insert(AuditEntry), self.audit)
        if self.outbox:
            session.execute(insert(OutboxMessage), self.outbox)
            outbox.touch(session, CREDIT_TOPIC)  # the request's relay kick then wakes the credit drain


def _decide(session: Session, actor: Actor, row: Attendance, task: Task, *, decision: Decision,
            minutes: int | None, reason: str | None, fulfilled: set[int] | None = None,
            batch: _Batch | None = None, attach: bool = True) -> Verification:
    """Check and record one decision; the rows are added, the caller flushes (once, for a whole batch).

    With `attach=False` nothing enters the session: the caller writes the returned Verification, the
    attendance's new status and the batch's rows itself."""
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
        points = points_for(task, accepted)
    else:
        if not reason or not reason.strip():
            raise InvalidInput("reason_required", variant="rejection")
        accepted, points = 0, 0
    if attach:
        row.status = status_after(decision)
    ver = Verification(attendance_id=row.id, decision=decision, minutes_attended=row.minutes,
                       minutes_accepted=accepted, points=points, category=task.category, person_id=row.person_id,
                       community_id=row.community_id, served_on=attendance_service.local_day(row.checked_in_at),
                       reason=reason, decided_by_id=actor.person_id or 0, decided_at=utcnow())
    if attach:
        session.add(ver)
    if decision == Decision.accepted:
        if batch is None:
            outbox.add(session, CREDIT_TOPIC, {"attendance_id": row.id}, dedupe_key=credit_dedupe_key(row.id))
        else:
            batch.outbox.append({"topic": CREDIT_TOPIC, "payload": {"attendance_id": row.id},
                                 "dedupe_key": credit_dedupe_key(row.id)})
        fulfilled = set() if fulfilled is None else fulfilled
        if task.need_id is not None and task.need_id not in fulfilled:
            needs.mark_fulfilled_by_service(session, actor, task.need_id)
            fulfilled.add(task.need_id)
    before = {"status": "pending", "minutes": row.minutes}
    after = {"decision": str(decision), "minutes": accepted, "points": points, "reason": reason}
    if batch is None:
        audit.record(session, actor, "attendance.verify", "attendance", row.id, org_path=row.org_path,
                     before=before, after=after)
    else:
        batch.audit.append({"actor": actor.label, "action": "attendance.verify", "entity": "attendance",
                            "entity_id": str(row.id), "org_path": row.org_path, "before": before, "after": after,
                            "request_id": audit.current_request_id()})
    return ver


def verify_many(session: Session, actor: Actor, items: list[dict]) -> list[Verification]:
    """Bulk verification: all items pass or none is written (the error names the failing attendance).

    One query reads the attendances (locked, in id order so overlapping batches cannot deadlock) with their
    tasks' rules; the writes are executemany statements built once (verifications, their ids read back,
    statuses, audit, outbox; see `_Batch`), so a batch costs a fixed few round trips and no ORM unit of work.
    """
    ids = [item["attendance_id"] for item in items]
    if len(set(ids)) != len(ids):
        raise InvalidInput("duplicate_attendance")
    found = {r.id: r for r in session.connection().execute(_decisions_read(), {"ids": sorted(ids)})}
    if any(r.need_id is not None for r in found.values()):
        return _verify_many_orm(session, actor, items)
    # The common case, as in `verify`: Core reads and writes, no ORM objects (`found` rows carry both the
    # attendance's and the task's fields); the writes are executemany statements built once.
    out, batch, statuses = [], _Batch(), []
    for item in items:
        try:
            row = found.get(item["attendance_id"])
            if row is None:
                raise NotFound("attendance_not_found")
            out.append(_decide(session, actor, row, row, decision=item["decision"], minutes=item.get("minutes"),
                               reason=item.get("reason"), batch=batch, attach=False))
        except DomainError as exc:
            exc.extra.setdefault("attendance_id", item["attendance_id"])
            raise
        statuses.append({"a_id": row.id, "a_status": status_after(item["decision"])})
    conn = session.connection()
    v = Verification.__table__
    # A plain executemany (no RETURNING: a multi-row INSERT ... RETURNING is one long statement the driver
    # parses anew each time), then the new ids read back by attendance (UNIQUE) in one query.
    conn.execute(insert_row(v, "v"), [_verification_params(ver) for ver in out])
    new_ids = dict(conn.execute(_verification_ids(), {"ids": ids}).all())
    for ver in out:
        ver.id = new_ids[ver.attendance_id]
    conn.execute(_status_update(), statuses)
    batch.write(session)
    return out


@functools.cache
def _decisions_read():
    """`_decision_read` for many attendances, locked in id order so overlapping batches cannot deadlock."""
    a = Attendance.__table__
    return (_decision_select().where(a.c.id.in_(bindparam("ids", expanding=True))).order_by(a.c.id)
            .with_for_update(of=a))


@functools.cache
def _verification_ids():
    v = Verification.__table__
    return select(v.c.attendance_id, v.c.id).where(v.c.attendance_id.in_(bindparam("ids", expanding=True)))


@functools.cache
def _status_update():
    a = Attendance.__table__
    return update(a).where(a.c.id == bindparam("a_id")).values(status=bindparam("a_status", type_=a.c.status.type))


def _verify_many_orm(session: Session, actor: Actor, items: list[dict]) -> list[Verification]:
    """Bulk verification through the ORM, for batches that touch residents' needs (marked fulfilled)."""
    ids = [item["attendance_id"] for item in items]
    rows = {a.id: a for a in session.scalars(
        select(Attendance).where(Attendance.id.in_(ids)).order_by(Attendance.id).with_for_update())}
    task_ids = {a.task_id for a in rows.values()}
    tasks = {t.id: t for t in session.scalars(select(Task).where(Task.id.in_(task_ids)))} if task_ids else {}
    out, fulfilled, batch = [], set(), _Batch()
    for item in items:
        try:
            row = rows.get(item["attendance_id"])
            if row is None:
                raise NotFound("attendance_not_found")
            out.append(_decide(session, actor, row, tasks[row.task_id], decision=item["decision"],
                               minutes=item.get("minutes"), reason=item.get("reason"), fulfilled=fulfilled,
                               batch=batch))
        except DomainError as exc:
            exc.extra.setdefault("attendance_id", item["attendance_id"])
            raise
    session.flush()
    batch.write(session)
    return out


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
    return complaint
