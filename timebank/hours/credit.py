"""The credit path: verified attendance → minutes and points through the ledger, and its reversal.

`post` is the outbox handler's body. For a whole batch of accepted attendances it posts, in one linked
ledger call (all or none), per attendance a minutes transfer (the community's issuer minutes account →
the volunteer's minutes account) and, when the rule gives points, a points transfer (issuer points →
volunteer points). Keys `credit:attendance:<id>:minutes|points` make a rerun return the first transfers, and
`Verification.credited_at` makes a rerun skip the row, so a job run twice credits once. One job drains a
batch of outbox rows, so throughput is not bounded by RQ's per-job overhead, and a batch costs a fixed
number of statements (see `post`).

`reverse_attendance` undoes a credit when a complaint is upheld — never a delete, always new entries — and an
upheld complaint always takes effect, whatever the volunteer did with the points meanwhile:
- the minutes are reversed in full (`reverse:attendance:<id>:minutes`);
- the points are taken back from what the volunteer can spend now (`reverse:attendance:<id>:points`). Points
  held for a pending redemption stay held (the merchant was promised them), and the spendable balance is never
  overdrawn;
- whatever could not be taken is owed (`reverse:attendance:<id>:points_owed`): a transfer from the volunteer's
  recovery account, which then shows the debt, to the issuer. The issuer gets the full amount back at once;
- a debt is repaid before anything else from the next points the volunteer is credited (in the same linked
  batch as the credit) and from points a released hold gives back (`recover_owed`), until it is settled. The
  recovery account can never be repaid beyond what is owed (the ledger's credit limit on it).
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
    specs += _repayment_specs(session, todo, specs)
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
        if ver.minutes_transfer_id is not None:
            reversed_ids["minutes"] = ledger.reverse(session, key=reverse_key(attendance.id, "minutes"),
                                                     transfer_id=ver.minutes_transfer_id, reason=reason).id
        if ver.points_transfer_id is not None:
            reversed_ids.update(_reverse_points(session, attendance.id, ver.points_transfer_id, reason))
    ver.reversed_at = utcnow()
    attendance.status = AttendanceStatus.reversed
    session.flush()
    audit.record(session, actor, "attendance.reverse_credit", "attendance", attendance.id,
                 org_path=attendance.org_path, before={"status": "accepted"},
                 after={"status": "reversed", "reason": reason, "reversal_transfer_ids": reversed_ids,
                        "was_credited": ver.credited_at is not None})


def _reverse_points(session: Session, attendance_id: int, transfer_id: int, reason: str) -> dict[str, int]:
    """Take the credited points back from what can be spent now; what cannot be taken becomes a debt."""
    original = session.get(ledger.Transfer, transfer_id)
    account = session.scalar(select(ledger.Account).where(ledger.Account.id == original.credit_account_id)
                             .with_for_update().execution_options(populate_existing=True))
    spendable = max(0, account.credits_posted - account.debits_posted - account.debits_pending)
    take = min(spendable, original.amount)
    owed = original.amount - take
    if owed == 0:
        return {"points": ledger.reverse(session, key=reverse_key(attendance_id, "points"), transfer_id=transfer_id,
                                         reason=reason).id}
    recovery = ledger.account_for(session, owner_kind=ledger.OwnerKind.recovery, owner_id=account.owner_id,
                                  ledger=ledger.Ledger.points)
    specs: list[tuple[str, ledger.TransferSpec]] = []
    if take:
        specs.append(("points", ledger.TransferSpec(
            key=reverse_key(attendance_id, "points"), debit_account_id=account.id,
            credit_account_id=original.debit_account_id, amount=take, ledger=ledger.Ledger.points,
            code=ledger.Code.reversal, metadata={"reason": reason, "owed": owed}, corrects_id=original.id)))
    specs.append(("points_owed", ledger.TransferSpec(
        key=reverse_key(attendance_id, "points_owed"), debit_account_id=recovery.id,
        credit_account_id=original.debit_account_id, amount=owed, ledger=ledger.Ledger.points,
        code=ledger.Code.reversal, metadata={"reason": reason, "owed_for": original.id},
        corrects_id=None if take else original.id)))
    posted = ledger.linked(session, [spec for _, spec in specs])
    return {name: row.id for (name, _), row in zip(specs, posted, strict=True)}


def owed_points(session: Session, person_ids: list[int]) -> dict[int, tuple[int, int]]:
    """person id → (recovery account id, points still owed) for those who owe anything."""
    if not person_ids:
        return {}
    rows = session.execute(select(ledger.Account.owner_id, ledger.Account.id, ledger.Account.debits_posted,
                                  ledger.Account.credits_posted, ledger.Account.credits_pending)
                           .where(ledger.Account.owner_kind == ledger.OwnerKind.recovery.value,
                                  ledger.Account.ledger == ledger.Ledger.points.value,
                                  ledger.Account.owner_id.in_(person_ids))).all()
    return {r.owner_id: (r.id, r.debits_posted - r.credits_posted - r.credits_pending) for r in rows
            if r.debits_posted - r.credits_posted - r.credits_pending > 0}


def _repayment_specs(session: Session, todo: list, specs: list[ledger.TransferSpec]) -> list[ledger.TransferSpec]:
    """Debts first: from each indebted volunteer's points in this batch, what they owe (posted after the credits
    in the same linked batch, so all of it or none)."""
    credited: dict[int, tuple[int, int, int]] = {}  # person → (first attendance id, points account, points)
    for v, spec in ((v, spec) for v in todo for spec in specs if spec.key == credit_key(v.attendance_id, "points")):
        first, account_id, total = credited.get(v.person_id, (v.attendance_id, spec.credit_account_id, 0))
        credited[v.person_id] = (first, account_id, total + spec.amount)
    out = []
    for person_id, (recovery_id, owed) in owed_points(session, list(credited)).items():
        first, account_id, total = credited[person_id]
        out.append(ledger.TransferSpec(
            key=f"recover:credit:{first}", debit_account_id=account_id, credit_account_id=recovery_id,
            amount=min(owed, total), ledger=ledger.Ledger.points, code=ledger.Code.recovery,
            metadata={"repays": "upheld complaint", "from_attendance_id": first}))
    return out


def recover_owed(session: Session, person_id: int, *, key: str) -> int:
    """Repay a volunteer's debt from what they can spend now (after a hold is released). Returns the amount."""
    owed = owed_points(session, [person_id]).get(person_id)
    if owed is None:
        return 0
    recovery_id, amount_owed = owed
    account = session.scalar(select(ledger.Account).where(
        ledger.Account.owner_kind == ledger.OwnerKind.volunteer.value, ledger.Account.owner_id == person_id,
        ledger.Account.ledger == ledger.Ledger.points.value).with_for_update()
        .execution_options(populate_existing=True))
    spendable = 0 if account is None else account.credits_posted - account.debits_posted - account.debits_pending
    amount = min(amount_owed, spendable)
    if amount <= 0:
        return 0
    ledger.transfer(session, key=key, debit_account_id=account.id, credit_account_id=recovery_id, amount=amount,
                    ledger=ledger.Ledger.points, code=ledger.Code.recovery, metadata={"repays": "upheld complaint"})
    return amount
