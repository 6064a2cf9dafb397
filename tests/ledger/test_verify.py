"""Reconciliation catches what the triggers cannot: rows altered behind the database's back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.ledger.conftest import ON_PG, behind_the_database
from timebank import ledger
from timebank.db_base import utcnow
from timebank.ledger import chain
from timebank.ledger.models import Seal
from timebank.ledger.verify import verify


def seal_now(session) -> Seal | None:
    high = chain.watermark(session)
    session.commit()
    row = chain.seal(session, up_to=high)
    session.commit()
    return row


def kinds(run) -> set[str]:
    return {d["kind"] for d in run.discrepancies}


@pytest.fixture
def busy(session, books, credit):
    """A small but varied ledger: credits, a gift, a captured and an open hold, a reversal."""
    t = credit(books.alice, 100)
    credit(books.bob, 40)
    ledger.transfer(session, key="gift:1", debit_account_id=books.alice.id, credit_account_id=books.bob.id,
                    amount=10, ledger="points", code=ledger.Code.gift, metadata={"note": "给妈妈"})
    h = ledger.hold(session, key="redemption:1:hold", debit_account_id=books.bob.id,
                    credit_account_id=books.shop.id, amount=30, timeout_seconds=600)
    ledger.capture(session, key="redemption:1:capture", pending_id=h.id, amount=20)
    ledger.hold(session, key="redemption:2:hold", debit_account_id=books.alice.id,
                credit_account_id=books.shop.id, amount=5, timeout_seconds=600)
    wrong = credit(books.alice, 7)
    ledger.reverse(session, key="reverse:1", transfer_id=wrong.id, reason="测试")
    session.commit()
    return t


def test_a_clean_ledger_verifies(session, busy):
    assert seal_now(session).entry_count == 8
    run = verify(session, triggered_by="test")
    session.commit()
    assert run.ok, run.discrepancies
    assert (run.entries_checked, run.seals_checked, run.discrepancy_count) == (8, 1, 0)


def test_timed_out_holds_are_released_by_reconciliation_exactly_once(session, busy, books):
    later = utcnow() + timedelta(seconds=601)
    run = verify(session, now=later)
    session.commit()
    assert run.holds_released == 1 and run.ok
    assert ledger.balance(session, books.alice.id).debits_pending == 0
    assert verify(session, now=later).holds_released == 0


def test_an_altered_amount_is_caught(session, busy, books):
    with behind_the_database(session):
        session.execute(text(f"UPDATE ledger_transfer SET amount = 1 WHERE id = {busy.id}"))
    run = verify(session)
    assert not run.ok
    assert {"row_altered", "cached_balance_mismatch"} <= kinds(run)
    assert {"kind": "row_altered", "transfer_id": busy.id} in run.discrepancies


def test_a_rewritten_row_hash_is_caught_by_its_seal(session, busy):
    seal_now(session)
    forged = chain.row_hash(key=busy.key, ledger=busy.ledger, debit_account_id=busy.debit_account_id,
                            credit_account_id=busy.credit_account_id, amount=1, code=busy.code, phase=busy.phase,
                            pending_id=None, corrects_id=None, timeout_at=None, meta=busy.meta,
                            created_at=busy.created_at)
    with behind_the_database(session):
        session.execute(text("UPDATE ledger_transfer SET amount = 1, row_hash = :h WHERE id = :id"),
                        {"h": forged, "id": busy.id})
    run = verify(session)
    assert "sealed_block_changed" in kinds(run)
    assert "row_altered" not in kinds(run)


def test_a_removed_row_is_caught(session, busy):
    seal_now(session)
    last_id = session.scalar(text("SELECT max(id) FROM ledger_transfer"))
    with behind_the_database(session):
        session.execute(text(f"DELETE FROM ledger_transfer WHERE id = {last_id}"))
    run = verify(session)
    assert "sealed_block_changed" in kinds(run)


def test_a_tampered_cached_balance_is_caught(session, busy, books):
    session.execute(text(f"UPDATE ledger_account SET credits_posted = credits_posted + 5 WHERE id = {books.bob.id}"))
    session.commit()
    run = verify(session)
    assert [d for d in run.discrepancies if d["kind"] == "cached_balance_mismatch"][0]["account_id"] == books.bob.id
    assert "ledger_not_zero_sum" in kinds(run)


def test_hashes_agree_between_python_and_the_database(session, busy):
    if not ON_PG:
        pytest.skip("the server-side hash exists on PostgreSQL only")
    mismatched = session.execute(text(f"SELECT id FROM ledger_transfer WHERE row_hash <> {chain.ROW_HASH_SQL}"))
    assert mismatched.all() == []
