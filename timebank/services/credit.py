"""The credit path: verified attendance → minutes and points through the ledger, and its reversal.

`post` is the outbox handler's body. For a whole batch of accepted attendances it posts, in one linked
ledger call (all or none), per attendance a minutes transfer (the community's issuer minutes account →
the volunteer's minutes account) and, when the rule gives points, a points transfer (issuer points →
volunteer points). Keys `credit:attendance:<id>:minutes|points` make a rerun return the first transfers, and
`Verification.credited_at` makes a rerun skip the row, so a job run twice credits once. One job drains a
batch of outbox rows, so throughput is not bounded by RQ's per-job overhead.

`reverse_attendance` undoes a credit when a complaint is upheld: opposite transfers through `ledger.reverse`
(keys `reverse:attendance:<id>:minutes|points`), never a delete.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank import ledger
from timebank.db_base import utcnow
from timebank.models.hours import Attendance, AttendanceStatus, Decision, Verification
from timebank.services import audit
from timebank.services.access import Actor

log = logging.getLogger("timebank.credit")


def credit_key(attendance_id: int, which: str) -> str:
    return f"credit:attendance:{attendance_id}:{which}"


def reverse_key(attendance_id: int, which: str) -> str:
    return f"reverse:attendance:{attendance_id}:{which}"


class _Accounts:
    """Account ids for a batch: the existing ones read in one query each per owner kind, the missing ones
    opened through `ledger.account_for` (get-or-open, safe under concurrency)."""

    def __init__(self, session: Session):
        self.session = session
        self.ids: dict[tuple, int] = {}

    def preload(self, kind, owner_ids: set[int]) -> None:
        rows = self.session.execute(select(ledger.Account.id, ledger.Account.owner_id, ledger.Account.ledger).where(
            ledger.Account.owner_kind == kind, ledger.Account.owner_id.in_(owner_ids)))
        for account_id, owner_id, book in rows:
            self.ids[(kind, owner_id, ledger.Ledger(book))] = account_id

    def __call__(self, kind, owner_id: int, book, org_id: int | None = None) -> int:
        key = (kind, owner_id, ledger.Ledger(book))
        if key not in self.ids:
            account = ledger.account_for(self.session, owner_kind=kind, owner_id=owner_id, ledger=book,
                                         org_id=org_id)
            self.ids[key] = account.id
        return self.ids[key]


def post(session: Session, attendance_ids: list[int]) -> int:
    """Credit the accepted, not yet credited attendances among `attendance_ids`. Returns how many."""
    if not attendance_ids:
        return 0
    rows = session.execute(
        select(Verification, Attendance.status, Attendance.task_id)
        .join(Attendance, Attendance.id == Verification.attendance_id)
        .where(Verification.attendance_id.in_(attendance_ids))
        .order_by(Verification.id)
        .with_for_update(of=Verification)
    ).all()
    todo = [(ver, task_id) for ver, status, task_id in rows
            if ver.decision == Decision.accepted and ver.credited_at is None and ver.reversed_at is None
            and status == AttendanceStatus.accepted]
    if not todo:
        return 0
    account = _Accounts(session)
    account.preload(ledger.OwnerKind.volunteer, {ver.person_id for ver, _ in todo})
    account.preload(ledger.OwnerKind.issuer, {ver.community_id for ver, _ in todo})
    specs: list[ledger.TransferSpec] = []
    for ver, task_id in todo:
        meta = {"attendance_id": ver.attendance_id, "task_id": task_id, "category": ver.category}
        specs.append(ledger.TransferSpec(
            key=credit_key(ver.attendance_id, "minutes"),
            debit_account_id=account(ledger.OwnerKind.issuer, ver.community_id, ledger.Ledger.minutes,
                                     ver.community_id),
            credit_account_id=account(ledger.OwnerKind.volunteer, ver.person_id, ledger.Ledger.minutes),
            amount=ver.minutes_accepted, ledger=ledger.Ledger.minutes, code=ledger.Code.credit, metadata=meta))
        if ver.points > 0:
            specs.append(ledger.TransferSpec(
                key=credit_key(ver.attendance_id, "points"),
                debit_account_id=account(ledger.OwnerKind.issuer, ver.community_id, ledger.Ledger.points,
                                         ver.community_id),
                credit_account_id=account(ledger.OwnerKind.volunteer, ver.person_id, ledger.Ledger.points),
                amount=ver.points, ledger=ledger.Ledger.points, code=ledger.Code.credit, metadata=meta))
    transfers = ledger.linked(session, specs)
    by_key = {spec.key: transfer for spec, transfer in zip(specs, transfers, strict=True)}
    now = utcnow()
    for ver, _task_id in todo:
        ver.minutes_transfer_id = by_key[credit_key(ver.attendance_id, "minutes")].id
        points = by_key.get(credit_key(ver.attendance_id, "points"))
        ver.points_transfer_id = points.id if points is not None else None
        ver.credited_at = now
    session.flush()
    log.info("credited", extra={"fields": {"attendances": len(todo), "transfers": len(specs)}})
    return len(todo)


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
