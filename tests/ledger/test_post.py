"""Unit tests of the ledger's public interface, one scenario per operation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from timebank import ledger
from timebank.db_base import utcnow
from timebank.ledger import Code, Ledger, OwnerKind, TransferSpec
from timebank.ledger.errors import (
    AccountNotFound,
    AlreadyReversed,
    HoldNotPending,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidAmount,
    LedgerMismatch,
)
from timebank.ledger.models import Transfer


def test_accounts_for_opens_the_missing_in_bulk_and_returns_the_existing(session, books):
    wanted = {(OwnerKind.volunteer, 101, Ledger.points, None), (OwnerKind.volunteer, 555, Ledger.points, None),
              (OwnerKind.volunteer, 555, Ledger.minutes, None), (OwnerKind.issuer, 1, Ledger.points, 1)}
    ids = ledger.accounts_for(session, wanted)
    assert ids[OwnerKind.volunteer, 101, Ledger.points] == books.alice.id
    assert ids[OwnerKind.issuer, 1, Ledger.points] == books.issuer_points.id
    new = session.get(ledger.Account, ids[OwnerKind.volunteer, 555, Ledger.minutes])
    assert new.cached and new.owner_id == 555 and new.ledger == "minutes"
    assert ledger.accounts_for(session, wanted) == ids  # a second call opens nothing new


def test_a_batch_posts_with_the_balances_of_every_account_it_touches(session, books, credit):
    credit(books.alice, 50)
    batch = ledger.linked(session, [
        TransferSpec(f"batch:{n}", books.alice.id, books.bob.id, 5, Ledger.points, Code.gift, {"n": n})
        for n in range(10)])
    assert [t.amount for t in batch] == [5] * 10 and len({t.id for t in batch}) == 10
    assert ledger.balance(session, books.alice.id).available == 0
    assert ledger.balance(session, books.bob.id).credits_posted == 50
    replay = ledger.linked(session, [TransferSpec(f"batch:{n}", books.alice.id, books.bob.id, 5, Ledger.points,
                                                  Code.gift, {"n": n}) for n in range(10)])
    assert [t.id for t in replay] == [t.id for t in batch]  # a repeat returns the first transfers
    with pytest.raises(InsufficientFunds):
        ledger.linked(session, [TransferSpec("batch:over", books.alice.id, books.bob.id, 1, Ledger.points,
                                             Code.gift)])


def test_account_for_opens_once_and_flags_spendable_accounts(session, books):
    again = ledger.account_for(session, owner_kind=OwnerKind.volunteer, owner_id=101, ledger=Ledger.points)
    assert again.id == books.alice.id
    assert books.alice.cached and books.shop.cached and books.fund.cached
    assert not books.issuer_points.cached and not books.sink.cached
    assert books.alice_minutes.id != books.alice.id


def test_credit_moves_points_from_issuer_to_volunteer(session, books, credit):
    t = credit(books.alice, 30)
    session.commit()
    assert (t.debit_account_id, t.credit_account_id, t.amount, t.code) == (books.issuer_points.id, books.alice.id,
                                                                          30, Code.credit)
    assert ledger.balance(session, books.alice.id).available == 30
    issuer = ledger.balance(session, books.issuer_points.id)
    assert (issuer.debits_posted, issuer.credits_posted) == (30, 0)


def test_repeat_of_a_key_returns_the_first_transfer_and_moves_nothing(session, books, credit):
    first = credit(books.alice, 30, key="credit:attendance:1:points")
    again = credit(books.alice, 30, key="credit:attendance:1:points")
    session.commit()
    assert again.id == first.id
    assert ledger.balance(session, books.alice.id).credits_posted == 30
    assert ledger.find_by_key(session, "credit:attendance:1:points").id == first.id
    assert ledger.find_by_key(session, "credit:attendance:2:points") is None


def test_same_key_with_other_fields_is_a_conflict(session, books, credit):
    credit(books.alice, 30, key="k1")
    with pytest.raises(IdempotencyConflict) as err:
        credit(books.alice, 31, key="k1")
    assert err.value.status == 409 and err.value.code == "idempotency_conflict"


def test_overdraft_is_refused(session, books, credit):
    credit(books.alice, 10)
    with pytest.raises(InsufficientFunds) as err:
        ledger.transfer(session, key="spend", debit_account_id=books.alice.id, credit_account_id=books.shop.id,
                        amount=11, ledger=Ledger.points, code=Code.settlement)
    assert err.value.status == 422
    assert ledger.balance(session, books.alice.id).available == 10


@pytest.mark.parametrize("amount", [0, -5, 1.5, "3", True, None])
def test_amount_must_be_a_positive_integer(session, books, amount):
    with pytest.raises(InvalidAmount):
        ledger.transfer(session, key="bad", debit_account_id=books.issuer_points.id,
                        credit_account_id=books.alice.id, amount=amount, ledger=Ledger.points, code=Code.credit)


def test_accounts_must_be_on_the_transfer_ledger(session, books):
    with pytest.raises(LedgerMismatch):
        ledger.transfer(session, key="x", debit_account_id=books.issuer_minutes.id,
                        credit_account_id=books.alice.id, amount=5, ledger=Ledger.points, code=Code.credit)


def test_unknown_account_is_not_found(session, books):
    with pytest.raises(AccountNotFound) as err:
        ledger.transfer(session, key="x", debit_account_id=books.issuer_points.id, credit_account_id=99999,
                        amount=5, ledger=Ledger.points, code=Code.credit)
    assert err.value.status == 404


def test_linked_batch_posts_all_or_nothing(session, books, credit):
    ok = ledger.linked(session, [
        TransferSpec("credit:attendance:9:minutes", books.issuer_minutes.id, books.alice_minutes.id, 90,
                     Ledger.minutes, Code.credit),
        TransferSpec("credit:attendance:9:points", books.issuer_points.id, books.alice.id, 15, Ledger.points,
                     Code.credit),
        TransferSpec("gift:1", books.alice.id, books.bob.id, 15, Ledger.points, Code.gift),
    ])
    session.commit()
    assert [t.amount for t in ok] == [90, 15, 15]
    assert ledger.balance(session, books.bob.id).available == 15
    with pytest.raises(InsufficientFunds) as err:
        ledger.linked(session, [
            TransferSpec("b:1", books.issuer_points.id, books.alice.id, 5, Ledger.points, Code.credit),
            TransferSpec("b:2", books.alice.id, books.bob.id, 6, Ledger.points, Code.gift),
        ])
    assert err.value.extra["index"] == 1
    session.commit()
    assert ledger.find_by_key(session, "b:1") is None
    assert ledger.balance(session, books.alice.id).available == 0
    # the whole batch again is a repeat
    again = ledger.linked(session, [
        TransferSpec("credit:attendance:9:minutes", books.issuer_minutes.id, books.alice_minutes.id, 90,
                     Ledger.minutes, Code.credit),
        TransferSpec("credit:attendance:9:points", books.issuer_points.id, books.alice.id, 15, Ledger.points,
                     Code.credit),
        TransferSpec("gift:1", books.alice.id, books.bob.id, 15, Ledger.points, Code.gift),
    ])
    assert [t.id for t in again] == [t.id for t in ok]


def test_hold_reserves_points_and_capture_posts_part_releasing_the_rest(session, books, credit):
    credit(books.alice, 100)
    h = ledger.hold(session, key="redemption:1:hold", debit_account_id=books.alice.id,
                    credit_account_id=books.shop.id, amount=60, timeout_seconds=600)
    bal = ledger.balance(session, books.alice.id)
    assert (bal.debits_pending, bal.available) == (60, 40)
    with pytest.raises(InsufficientFunds):
        ledger.hold(session, key="redemption:2:hold", debit_account_id=books.alice.id,
                    credit_account_id=books.shop.id, amount=41, timeout_seconds=600)
    c = ledger.capture(session, key="redemption:1:capture", pending_id=h.id, amount=45)
    session.commit()
    assert (c.amount, c.pending_id, c.code) == (45, h.id, Code.capture)
    bal = ledger.balance(session, books.alice.id)
    assert (bal.debits_posted, bal.debits_pending, bal.available) == (45, 0, 55)
    shop = ledger.balance(session, books.shop.id)
    assert (shop.credits_posted, shop.credits_pending) == (45, 0)
    assert ledger.capture(session, key="redemption:1:capture", pending_id=h.id, amount=45).id == c.id
    with pytest.raises(HoldNotPending):
        ledger.release(session, key="redemption:1:release", pending_id=h.id)


def test_capture_defaults_to_the_whole_hold(session, books, credit):
    credit(books.alice, 20)
    h = ledger.hold(session, key="h", debit_account_id=books.alice.id, credit_account_id=books.shop.id, amount=20,
                    timeout_seconds=60)
    assert ledger.capture(session, key="c", pending_id=h.id).amount == 20
    with pytest.raises(InvalidAmount):
        h2 = ledger.hold(session, key="h2", debit_account_id=books.shop.id, credit_account_id=books.alice.id,
                         amount=5, timeout_seconds=60)
        ledger.capture(session, key="c2", pending_id=h2.id, amount=6)


def test_release_voids_the_hold_once(session, books, credit):
    credit(books.alice, 20)
    h = ledger.hold(session, key="h", debit_account_id=books.alice.id, credit_account_id=books.shop.id, amount=20,
                    timeout_seconds=60)
    r = ledger.release(session, key="r", pending_id=h.id)
    session.commit()
    assert r.phase == "voided" and r.amount == 20
    assert ledger.balance(session, books.alice.id).available == 20
    assert ledger.balance(session, books.shop.id).credits_pending == 0
    with pytest.raises(HoldNotPending) as err:
        ledger.capture(session, key="c", pending_id=h.id)
    assert err.value.status == 409


def test_an_expired_hold_cannot_be_captured(session, books, credit):
    credit(books.alice, 20)
    h = ledger.hold(session, key="h", debit_account_id=books.alice.id, credit_account_id=books.shop.id, amount=5,
                    timeout_seconds=1)
    from timebank.ledger import post

    with pytest.raises(HoldNotPending):
        post._open_hold(session, h.id, now=utcnow() + timedelta(seconds=2))


def test_reverse_posts_the_opposite_once(session, books, credit):
    t = credit(books.alice, 30)
    r = ledger.reverse(session, key="reverse:attendance:1:points", transfer_id=t.id, reason="重复录入")
    session.commit()
    assert (r.debit_account_id, r.credit_account_id, r.amount, r.corrects_id, r.code) == (
        books.alice.id, books.issuer_points.id, 30, t.id, Code.reversal)
    assert r.meta == {"reason": "重复录入"}
    assert ledger.balance(session, books.alice.id).available == 0
    assert ledger.reverse(session, key="reverse:attendance:1:points", transfer_id=t.id, reason="重复录入").id == r.id
    with pytest.raises(AlreadyReversed) as err:
        ledger.reverse(session, key="another", transfer_id=t.id, reason="again")
    assert err.value.status == 409


def test_reversal_cannot_overdraw_a_spent_balance(session, books, credit):
    t = credit(books.alice, 30)
    ledger.transfer(session, key="spend", debit_account_id=books.alice.id, credit_account_id=books.shop.id,
                    amount=20, ledger=Ledger.points, code=Code.settlement)
    with pytest.raises(InsufficientFunds):
        ledger.reverse(session, key="rev", transfer_id=t.id, reason="错误")


def test_balance_as_of_a_past_time(session, books, credit):
    credit(books.alice, 10)
    session.commit()
    middle = utcnow()
    credit(books.alice, 5)
    session.commit()
    assert ledger.balance(session, books.alice.id, as_of=middle).available == 10
    assert ledger.balance(session, books.alice.id).available == 15
    assert ledger.balance(session, books.issuer_points.id, as_of=middle).debits_posted == 10


def refused(session, *statements: str) -> None:
    """Each raw statement fails in the database itself (and is rolled back)."""
    for sql in statements:
        with pytest.raises(DBAPIError):
            session.execute(text(sql))
        session.rollback()


def test_raw_update_or_delete_of_an_entry_is_refused(session, books, credit):
    t = credit(books.alice, 10)
    session.commit()
    refused(session, f"UPDATE ledger_transfer SET amount = 1000 WHERE id = {t.id}",
            f"DELETE FROM ledger_transfer WHERE id = {t.id}")
    assert session.get(Transfer, t.id).amount == 10


def test_the_database_refuses_an_entry_whose_accounts_do_not_exist_or_sit_on_another_ledger(session, books, credit):
    credit(books.alice, 10)
    session.commit()
    minutes_account = ledger.account_for(session, owner_kind=OwnerKind.volunteer, owner_id=999,
                                         ledger=Ledger.minutes)
    session.commit()
    insert = ("INSERT INTO ledger_transfer (key, ledger, debit_account_id, credit_account_id, amount, code, phase, "
              "created_at, row_hash) VALUES (:key, 'points', :debit, :credit, 1, 8, 'posted', :at, :hash)")
    for key, debit, credit_to in (("raw:ghost", books.alice.id, 10**9),          # no such account
                                  ("raw:ledger", books.alice.id, minutes_account.id)):  # a minutes account
        with pytest.raises(DBAPIError):
            session.execute(text(insert), {"key": key, "debit": debit, "credit": credit_to, "at": utcnow(),
                                           "hash": "0" * 64})
        session.rollback()
    assert session.scalar(text("SELECT count(*) FROM ledger_transfer WHERE key LIKE 'raw:%'")) == 0


def test_accounts_are_permanent(session, books, credit):
    credit(books.alice, 10)
    session.commit()
    refused(session, f"DELETE FROM ledger_account WHERE id = {books.alice.id}",
            f"UPDATE ledger_account SET ledger = 'minutes' WHERE id = {books.alice.id}")
    assert ledger.balance(session, books.alice.id).available == 10


def test_the_database_refuses_an_overdraft_even_behind_the_code(session, books, credit):
    credit(books.alice, 10)
    session.commit()
    with pytest.raises(DBAPIError):
        session.execute(text(f"UPDATE ledger_account SET debits_posted = 11 WHERE id = {books.alice.id}"))
    session.rollback()
    with pytest.raises(DBAPIError):  # unlimited accounts carry no cached balance
        session.execute(text(f"UPDATE ledger_account SET debits_posted = 1 WHERE id = {books.issuer_points.id}"))
    session.rollback()
