"""A person's balances and history: the one read model behind the API (`/ledger/...`, `/hours/me/points`)
and the volunteer app's home page.

Reading opens nothing: a person whose account on a ledger was never opened has no account id and zero
balances. The person's accounts are looked up here only (`account_ids`, one query for both ledgers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from timebank.accounts import expiry as expiry_policy
from timebank.ledger import Ledger, OwnerKind, Transfer, expiry, queries
from timebank.ledger.models import Account
from timebank.ledger.queries import Balance

_ZERO = Balance(0, 0, 0, 0)


def account_ids(session: Session, person_id: int) -> dict[Ledger, int]:
    """The person's account ids by ledger (a ledger whose account was never opened is absent)."""
    rows = session.execute(select(Account.ledger, Account.id).where(
        Account.owner_kind == OwnerKind.volunteer.value, Account.owner_id == person_id))
    return {Ledger(book): account_id for book, account_id in rows}


def account_id(session: Session, person_id: int, book: Ledger) -> int | None:
    """The person's account id on `book`, or None if it was never opened."""
    return account_ids(session, person_id).get(Ledger(book))


@dataclass(frozen=True)
class BookBalance:
    """One ledger's balance of one account (all zero, and no account id, for an account never opened)."""

    ledger: Ledger
    account_id: int | None
    balance: Balance = _ZERO
    as_of: datetime | None = None

    @property
    def posted(self) -> int:
        return self.balance.net

    @property
    def pending(self) -> int:
        return self.balance.debits_pending

    @property
    def available(self) -> int:
        return self.balance.available


def book_balance(session: Session, account_id: int | None, book: Ledger, *,
                 as_of: datetime | None = None) -> BookBalance:
    """The balance of an account (now, or as of a time), or zeros when there is no account."""
    if account_id is None:
        return BookBalance(Ledger(book), None, as_of=as_of)
    return BookBalance(Ledger(book), account_id, queries.balance(session, account_id, as_of=as_of), as_of)


@dataclass(frozen=True)
class PersonBalances:
    person_id: int
    minutes: BookBalance
    points: BookBalance
    points_owed: int = 0  # still owed after an upheld complaint; repaid from the next points (hours.credit)


def points_owed(session: Session, person_id: int) -> int:
    """What the person's recovery account shows as owed (its debits not yet repaid)."""
    row = session.execute(select(Account.debits_posted, Account.credits_posted, Account.credits_pending).where(
        Account.owner_kind == OwnerKind.recovery.value, Account.owner_id == person_id,
        Account.ledger == Ledger.points.value)).first()
    return 0 if row is None else row.debits_posted - row.credits_posted - row.credits_pending


def for_person(session: Session, person_id: int) -> PersonBalances:
    """The person's minutes (permanent) and points (spendable: `available`) balances, and any debt."""
    ids = account_ids(session, person_id)
    return PersonBalances(person_id, book_balance(session, ids.get(Ledger.minutes), Ledger.minutes),
                          book_balance(session, ids.get(Ledger.points), Ledger.points),
                          points_owed(session, person_id))


@dataclass(frozen=True)
class Expiring:
    """The community's points-expiry policy for the person and the lots that expire within 30 days."""

    months: int | None
    lots: list = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(lot.amount for lot in self.lots)


def expiring_soon(session: Session, balances: PersonBalances) -> Expiring:
    months, _community = expiry_policy.policy_for_person(session, balances.person_id)
    if balances.points.account_id is None:
        return Expiring(months)
    return Expiring(months, expiry.expiring_soon(session, balances.points.account_id, months))


def history(session: Session, account_id: int, *, limit: int, before_id: int | None = None
            ) -> list[tuple[Transfer, int]]:
    """The account's transfers, newest first, each with its effect on the posted balance."""
    return [(t, queries.signed_amount(t, account_id))
            for t in queries.history(session, account_id, limit=limit, before_id=before_id)]
