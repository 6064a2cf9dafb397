"""Ledger fixtures: a community's issuer and a few volunteer / merchant accounts, opened through the ledger."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

import pytest

from timebank import ledger
from timebank.ledger import Code, Ledger, OwnerKind

ON_PG = os.environ.get("TIMEBANK_DATABASE_URL", "").startswith(("postgres://", "postgresql"))


@contextlib.contextmanager
def behind_the_database(session):
    """Let a test alter the journal as an intruder with table-owner rights would: guards off, then back on."""
    from sqlalchemy import text

    if ON_PG:
        session.execute(text("ALTER TABLE ledger_transfer DISABLE TRIGGER ALL"))
        yield
        session.execute(text("ALTER TABLE ledger_transfer ENABLE TRIGGER ALL"))
        session.commit()
        return
    saved = session.execute(text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
                                 "AND tbl_name = 'ledger_transfer'")).all()
    for name, _sql in saved:
        session.execute(text(f"DROP TRIGGER {name}"))
    session.execute(text("PRAGMA foreign_keys = OFF"))
    yield
    for _name, sql in saved:
        session.execute(text(sql))
    session.commit()
    session.execute(text("PRAGMA foreign_keys = ON"))


@dataclass
class Books:
    issuer_points: ledger.Account
    issuer_minutes: ledger.Account
    alice: ledger.Account  # volunteer points
    bob: ledger.Account  # volunteer points
    alice_minutes: ledger.Account
    shop: ledger.Account  # merchant points
    fund: ledger.Account  # community fund points
    sink: ledger.Account  # expiry sink points


@pytest.fixture
def books(session) -> Books:
    def acc(kind, owner, led=Ledger.points):
        return ledger.account_for(session, owner_kind=kind, owner_id=owner, ledger=led, org_id=1)

    b = Books(
        issuer_points=acc(OwnerKind.issuer, 1), issuer_minutes=acc(OwnerKind.issuer, 1, Ledger.minutes),
        alice=acc(OwnerKind.volunteer, 101), bob=acc(OwnerKind.volunteer, 102),
        alice_minutes=acc(OwnerKind.volunteer, 101, Ledger.minutes), shop=acc(OwnerKind.merchant, 7),
        fund=acc(OwnerKind.community_fund, 1), sink=acc(OwnerKind.expiry_sink, 1),
    )
    session.commit()
    return b


@pytest.fixture
def credit(session, books):
    """Credit a volunteer's points from the issuer, as the service-hours credit path does."""
    seq = iter(range(1, 10**9))

    def give(account, amount, *, key=None):
        return ledger.transfer(session, key=key or f"test:credit:{next(seq)}", debit_account_id=books.issuer_points.id,
                               credit_account_id=account.id, amount=amount, ledger=Ledger.points, code=Code.credit)

    return give
