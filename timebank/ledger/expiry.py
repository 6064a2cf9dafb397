"""Expiry of points by lots, oldest first, per community policy (`points_expiry_months`; None = off).

A lot is a posted credit into a volunteer's points account (service credit, gift received, adjustment, a
refund). Spending consumes the oldest lots first (FIFO), so the part of old lots still unspent is
    max(0, credits older than the cutoff - everything spent or reserved so far - what already expired)
where a transfer and its reversal cancel out entirely (a reversed credit is no lot, a refunded spending
is no spending, and reversal rows count on neither side). That needs no per-lot bookkeeping
rows: it is computed from the journal at the moment of expiry, and the expiry itself is an ordinary
transfer (code expiry) to the community's expiry sink, keyed per account and day, so reruns are no-ops.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from timebank.db_base import utcnow
from timebank.ledger.codes import Code, Ledger, OwnerKind
from timebank.ledger.models import Account, Transfer
from timebank.ledger.post import account_for, transfer

WARN_DAYS = 30


def months_before(moment: datetime, months: int) -> datetime:
    """The same instant `months` calendar months earlier (clamped to the month's last day)."""
    y, m = divmod(moment.year * 12 + (moment.month - 1) - months, 12)
    import calendar

    day = min(moment.day, calendar.monthrange(y, m + 1)[1])
    return moment.replace(year=y, month=m + 1, day=day)


@dataclass(frozen=True)
class Lot:
    transfer_id: int
    credited_at: datetime
    amount: int  # still unspent
    expires_at: datetime


def _cancelled(session: Session, account_id: int) -> set[int]:
    """The account's transfers whose effect a reversal undid. A reversal may itself be reversed (which restores
    what it undid), so a transfer is cancelled when its reversal is not cancelled in turn: the chains are walked
    here, from the journal's `corrects_id` links (each transfer is reversed at most once)."""
    links = dict(session.execute(select(Transfer.corrects_id, Transfer.id).where(
        Transfer.code == int(Code.reversal), Transfer.corrects_id.is_not(None),
        (Transfer.debit_account_id == account_id) | (Transfer.credit_account_id == account_id))).all())
    memo: dict[int, bool] = {}

    def cancelled(tid: int) -> bool:
        chain = []
        while tid not in memo:  # follow the chain to its end: the last reversal stands
            chain.append(tid)
            nxt = links.get(tid)
            if nxt is None:
                memo[tid] = False
                break
            tid = nxt
        for earlier in reversed(chain):
            nxt = links.get(earlier)
            memo[earlier] = nxt is not None and not memo[nxt]
        return memo[chain[0]] if chain else memo[tid]

    return {tid for tid in links if cancelled(tid)}


def _inflows(session: Session, account_id: int, cancelled: set[int]) -> list[tuple[int, int, datetime]]:
    rows = session.execute(select(Transfer.id, Transfer.amount, Transfer.created_at).where(
        Transfer.credit_account_id == account_id, Transfer.phase == "posted",
        Transfer.code != int(Code.reversal)).order_by(Transfer.id)).all()
    return [(tid, amount, at) for tid, amount, at in rows if tid not in cancelled]


def _consumed(session: Session, account_id: int, cancelled: set[int]) -> int:
    """Posted debits (spending, gifts out, expiry) and open holds; reversed pairs cancel out."""
    t = Transfer
    hold_res = aliased(Transfer)
    spent = sum(amount for tid, amount in session.execute(select(t.id, t.amount).where(
        t.debit_account_id == account_id, t.phase == "posted", t.code != int(Code.reversal)))
        if tid not in cancelled)
    held = session.scalar(select(func.coalesce(func.sum(t.amount), 0)).where(
        t.debit_account_id == account_id, t.phase == "pending",
        ~select(hold_res.id).where(hold_res.pending_id == t.id).exists())) or 0
    return int(spent) + int(held)


def open_lots(session: Session, account_id: int, months: int) -> list[Lot]:
    """The account's lots with something left, oldest first (FIFO against everything consumed)."""
    cancelled = _cancelled(session, account_id)
    left_to_consume = _consumed(session, account_id, cancelled)
    lots = []
    for tid, amount, created_at in _inflows(session, account_id, cancelled):
        used = min(amount, left_to_consume)
        left_to_consume -= used
        if amount - used > 0:
            lots.append(Lot(tid, created_at, amount - used, months_after(created_at, months)))
    return lots


def months_after(moment: datetime, months: int) -> datetime:
    return months_before(moment, -months)


def due(session: Session, account_id: int, months: int, *, now: datetime | None = None) -> int:
    now = now or utcnow()
    return sum(lot.amount for lot in open_lots(session, account_id, months) if lot.expires_at <= now)


def expiring_soon(session: Session, account_id: int, months: int | None, *, now: datetime | None = None,
                  days: int = WARN_DAYS) -> list[Lot]:
    """Lots that expire within the next `days` (the volunteer's warning list). Empty when expiry is off."""
    if not months:
        return []
    now = now or utcnow()
    horizon = now + timedelta(days=days)
    return [lot for lot in open_lots(session, account_id, months) if now < lot.expires_at <= horizon]


def expire_account(session: Session, account: Account, *, months: int, community_id: int,
                   now: datetime | None = None) -> Transfer | None:
    """Expire what is due on one volunteer points account (flush only)."""
    now = now or utcnow()
    amount = due(session, account.id, months, now=now)
    if amount <= 0:
        return None
    sink = account_for(session, owner_kind=OwnerKind.expiry_sink, owner_id=community_id, ledger=Ledger.points,
                       org_id=community_id)
    # Keyed by the day and by what the account had paid out so far: a rerun of the same job over the same
    # state repeats the key (a no-op), while lots falling due later the same day get an expiry of their own
    # instead of colliding with the morning's under a key that names a different amount.
    spent = session.scalar(select(Account.debits_posted).where(Account.id == account.id))
    return transfer(session, key=f"expiry:{account.id}:{now.date().isoformat()}:{spent}", debit_account_id=account.id,
                    credit_account_id=sink.id, amount=amount, ledger=Ledger.points, code=Code.expiry,
                    metadata={"months": months})


def volunteer_points_accounts(session: Session, *, after_id: int = 0, limit: int = 500) -> list[Account]:
    return list(session.scalars(select(Account).where(
        and_(Account.owner_kind == OwnerKind.volunteer.value, Account.ledger == Ledger.points.value,
             Account.id > after_id)).order_by(Account.id).limit(limit)))
