"""Reading the ledger: balances (now or as of a time), history with a keyset cursor, statements."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, aliased

from timebank.ledger.driver import run, statements
from timebank.ledger.errors import AccountNotFound
from timebank.ledger.models import Account, Transfer

MAX_PAGE = 200


@dataclass(frozen=True)
class Balance:
    debits_posted: int
    credits_posted: int
    debits_pending: int
    credits_pending: int
    # What the owner may spend: posted credits - posted debits - reserved (pending) debits.
    available: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "available", self.credits_posted - self.debits_posted - self.debits_pending)

    @property
    def net(self) -> int:
        return self.credits_posted - self.debits_posted


def _journal_balance(session: Session, account_id: int, as_of: datetime | None) -> Balance:
    """Balance summed from the journal: for unlimited accounts, and for any account as of a past time."""
    t = Transfer
    resolution = aliased(Transfer)

    def posted(side):
        stmt = select(func.coalesce(func.sum(t.amount), 0)).where(side == account_id, t.phase == "posted")
        return stmt.where(t.created_at <= as_of) if as_of is not None else stmt

    def pending(side):
        open_hold = ~select(resolution.id).where(resolution.pending_id == t.id).where(
            resolution.created_at <= as_of if as_of is not None else True).exists()
        stmt = select(func.coalesce(func.sum(t.amount), 0)).where(side == account_id, t.phase == "pending",
                                                                  open_hold)
        return stmt.where(t.created_at <= as_of) if as_of is not None else stmt

    row = session.execute(select(
        posted(t.debit_account_id).scalar_subquery(), posted(t.credit_account_id).scalar_subquery(),
        pending(t.debit_account_id).scalar_subquery(), pending(t.credit_account_id).scalar_subquery(),
    )).one()
    return Balance(*(int(v) for v in row))


def balance(session: Session, account_id: int, *, as_of: datetime | None = None) -> Balance:
    """Current balance (cached columns for limited accounts) or the balance as of `as_of` (journal)."""
    # The hot read: one primary-key lookup straight through the driver (see driver.run).
    rows = run(session, statements(session).balance, {"id": int(account_id)})
    row = rows[0] if rows else None
    if row is None:
        raise AccountNotFound(account_id=account_id)
    flags, dp, cp, dq, cq = row
    if as_of is None and flags & 3:
        return Balance(dp, cp, dq, cq)
    return _journal_balance(session, account_id, as_of)


def history(session: Session, account_id: int, *, limit: int = 50, before_id: int | None = None,
            start: datetime | None = None, end: datetime | None = None,
            codes: list[int] | None = None) -> list[Transfer]:
    """An account's transfers, newest first; page with `before_id` = the last id of the previous page.
    A caller may ask for one row beyond the largest page, to learn whether another page follows."""
    limit = max(1, min(limit, MAX_PAGE + 1))
    stmt = select(Transfer).where(or_(Transfer.debit_account_id == account_id,
                                      Transfer.credit_account_id == account_id))
    if before_id is not None:
        stmt = stmt.where(Transfer.id < before_id)
    if start is not None:
        stmt = stmt.where(Transfer.created_at >= start)
    if end is not None:
        stmt = stmt.where(Transfer.created_at < end)
    if codes:
        stmt = stmt.where(Transfer.code.in_(codes))
    return list(session.scalars(stmt.order_by(Transfer.id.desc()).limit(limit)))


def signed_amount(t: Transfer, account_id: int) -> int:
    """The transfer's effect on the account's posted balance (credit +, debit -; holds and releases 0)."""
    if t.phase != "posted":
        return 0
    return t.amount if t.credit_account_id == account_id else -t.amount


@dataclass(frozen=True)
class Statement:
    account_id: int
    start: datetime
    end: datetime
    opening: Balance
    closing: Balance
    credits: int
    debits: int
    lines: list[Transfer]
    truncated: bool


def statement(session: Session, account_id: int, *, start: datetime, end: datetime,
              max_lines: int = 1000) -> Statement:
    """Opening and closing balance of [start, end), totals, and the period's transfers (oldest first)."""
    if session.get(Account, account_id) is None:
        raise AccountNotFound(account_id=account_id)
    opening = _journal_balance(session, account_id, _just_before(start))
    closing = _journal_balance(session, account_id, _just_before(end))
    in_period = and_(Transfer.created_at >= start, Transfer.created_at < end, Transfer.phase == "posted")
    sums = session.execute(select(
        func.coalesce(func.sum(case((Transfer.credit_account_id == account_id, Transfer.amount), else_=0)), 0),
        func.coalesce(func.sum(case((Transfer.debit_account_id == account_id, Transfer.amount), else_=0)), 0),
    ).where(or_(Transfer.debit_account_id == account_id, Transfer.credit_account_id == account_id),
            in_period)).one()
    rows = list(session.scalars(
        select(Transfer).where(or_(Transfer.debit_account_id == account_id,
                                   Transfer.credit_account_id == account_id),
                               Transfer.created_at >= start, Transfer.created_at < end)
        .order_by(Transfer.id).limit(max_lines + 1)))
    return Statement(account_id=account_id, start=start, end=end, opening=opening, closing=closing,
                     credits=int(sums[0]), debits=int(sums[1]), lines=rows[:max_lines],
                     truncated=len(rows) > max_lines)


def _just_before(moment: datetime) -> datetime:
    from datetime import timedelta

    return moment - timedelta(microseconds=1)
