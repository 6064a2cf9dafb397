"""The credit path: verified attendance → minutes and points through the ledger, and its reversal.

`post` is the outbox handler's body. For a whole batch of accepted attendances it posts, in one linked
ledger call (all or none), per attendance a minutes transfer (the community's issuer minutes account →
the volunteer's minutes account) and, when the rule gives points, a points transfer (issuer points →
volunteer points). Keys `credit:attendance:<id>:minutes|points` make a rerun return the first transfers, and
`Verification.credited_at` makes a rerun skip the row, so a job run twice credits once. One job drains a
batch of outbox rows, so throughput is not bounded by RQ's per-job overhead, and a batch costs a fixed
number of statements (see `post`).

`reverse_attendance` undoes a credit when a complaint is upheld: opposite transfers through `ledger.reverse`
(keys `reverse:attendance:<id>:minutes|points`), never a delete.
"""

from __future__ import annotations

import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from timebank import ledger
from timebank.db_base import utcnow
from timebank.hours import notices
from timebank.hours.models import Attendance, AttendanceStatus, Decision, Verification
from timebank.ops import audit
from timebank.people.access import Actor

log = logging.getLogger("timebank.credit")


def credit_key(attendance_id: int, which: str) -> str:
    return f"credit:attendance:{attendance_id}:{which}"


def reverse_key(attendance_id: int, which: str) -> str:
    return f"reverse:attendance:{attendance_id}:{which}"


def post(session: Session, attendance_ids: list[int]) -> int:
    """Credit the accepted, not yet credited attendances among `attendance_ids`. Returns how many.

    A fixed number of statements per batch, whatever its size: one locking read of the creditable
    verifications (the WHERE is re-checked on the latest row version after a lock wait, so a verification a
    concurrent job credited or reversed meanwhile drops out), one or three for the accounts (opened in bulk
    when missing), the ledger's linked batch, and one bulk UPDATE of the verifications.
    """
    if not attendance_ids:
        return 0
    todo = _creditable(session, attendance_ids)
    if not todo:
        return 0
    specs = _credit_specs(session, todo)
    transfers = ledger.linked(session, specs)
    by_key = {spec.key: transfer.id for spec, transfer in zip(specs, transfers, strict=True)}
    now = utcnow()
    session.execute(update(Verification), [
        {"id": v.id, "minutes_transfer_id": by_key[credit_key(v.attendance_id, "minutes")],
         "points_transfer_id": by_key.get(credit_key(v.attendance_id, "points")), "credited_at": now}
        for v in todo])
    log.info("credited", extra={"fields": {"attendances": len(todo), "transfers": len(specs)}})
    notices.points_credited(session, todo)
    return len(todo)


def _creditable(session: Session, attendance_ids: list[int]) -> list:
    """The accepted, uncredited, unreversed verifications among these attendances, locked (the WHERE is
    re-checked on the latest row version after a lock wait)."""
    return session.execute(
        select(Verification.id, Verification.attendance_id, Verification.person_id, Verification.community_id,
               Verification.minutes_accepted, Verification.points, Verification.category, Attendance.task_id)
        .join(Attendance, Attendance.id == Verification.attendance_id)
        .where(Verification.attendance_id.in_(attendance_ids), Verification.decision == Decision.accepted,
               Verification.credited_at.is_(None), Verification.reversed_at.is_(None),
               Attendance.status == AttendanceStatus.accepted)
        .order_by(Verification.id)
        .with_for_update(of=Verification)
    ).all()


def _credit_specs(session: Session, todo: list) -> list[ledger.TransferSpec]:
    """Minutes (and points, when the rule gives any) from the community's issuer to the volunteer, keyed per
    attendance; the accounts are opened in bulk when missing."""
    minutes, points = ledger.Ledger.minutes, ledger.Ledger.points
    issuer, volunteer = ledger.OwnerKind.issuer, ledger.OwnerKind.volunteer
    wanted = set()
    for v in todo:
        wanted.add((issuer, v.community_id, minutes, v.community_id))
        wanted.add((volunteer, v.person_id, minutes, None))
        if v.points > 0:
            wanted.add((issuer, v.community_id, points, v.community_id))
            wanted.add((volunteer, v.person_id, points, None))
    account = ledger.accounts_for(session, wanted)
    specs: list[ledger.TransferSpec] = []
    for v in todo:
        meta = {"attendance_id": v.attendance_id, "task_id": v.task_id, "category": v.category}
        specs.append(ledger.TransferSpec(
            key=credit_key(v.attendance_id, "minutes"), debit_account_id=account[issuer, v.community_id, minutes],
            credit_account_id=account[volunteer, v.person_id, minutes], amount=v.minutes_accepted,
            ledger=minutes, code=ledger.Code.credit, metadata=meta))
        if v.points > 0:
            specs.append(ledger.TransferSpec(
                key=credit_key(v.attendance_id, "points"), debit_account_id=account[issuer, v.community_id, points],
                credit_account_id=account[volunteer, v.person_id, points], amount=v.points, ledger=points,
                code=ledger.Code.credit, metadata=meta))
    return specs


def reverse_attendance(session: Session, actor: Actor, attendance: Attendance, *, reason: str) -> None:
    """Reverse an accepted attendance's credit (or stop it, if the job has not posted it yet)."""
    ver = session.scalar(select(Verification).where(Verification.attendance_id == attendance.id)
                         .with_for_update())
    reversed_ids = {}
    if ver.credited_at is not None:
        for which, transfer_id in (("minutes", ver.minutes_transfer_id), ("points", ver.points_transfer_id)):
            if transfer_id is not None:
                transfer = ledger.reverse(session, key=reverse_key(attendance.id, which), transfer_id=transfer_id,
                                          reason=reason)
                reversed_ids[which] = transfer.id
    ver.reversed_at = utcnow()
    attendance.status = AttendanceStatus.reversed
    session.flush()
    audit.record(session, actor, "attendance.reverse_credit", "attendance", attendance.id,
                 org_path=attendance.org_path, before={"status": "accepted"},
                 after={"status": "reversed", "reason": reason, "reversal_transfer_ids": reversed_ids,
                        "was_credited": ver.credited_at is not None})
