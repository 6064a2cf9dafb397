"""The one write engine (post._apply) on whichever database the suite runs: what it writes reads back exactly as
the ORM reads it (the hash chain would break otherwise), and what it returns."""

from __future__ import annotations

from sqlalchemy import inspect

from timebank import ledger
from timebank.ledger import Code, Ledger, TransferSpec, chain
from timebank.ledger.models import Transfer
from timebank.ledger.post import Posted


def test_rows_written_read_back_as_written_and_hash_to_their_row_hash(session, books, credit):
    credit(books.alice, 100)
    h = ledger.hold(session, key="engine:hold", debit_account_id=books.alice.id, credit_account_id=books.shop.id,
                    amount=30, timeout_seconds=600, metadata={"note": "绿色", "n": [1, 2]})
    batch = ledger.linked(session, [
        TransferSpec(f"engine:b:{n}", books.alice.id, books.bob.id, 5, Ledger.points, Code.gift, {"n": n})
        for n in range(3)])
    c = ledger.capture(session, key="engine:capture", pending_id=h.id, amount=20)
    written_rows = [Posted.of(h), *batch, Posted.of(c)]  # as returned, before the commit expires h and c
    session.commit()
    session.expunge_all()
    for written in written_rows:
        stored = session.get(Transfer, written.id)
        assert stored.row_hash == written.row_hash == chain.hash_of(stored) == chain.hash_of(written)
        assert (stored.key, stored.amount, stored.phase, stored.pending_id, stored.meta, stored.created_at,
                stored.timeout_at) == (written.key, written.amount, written.phase, written.pending_id, written.meta,
                                       written.created_at, written.timeout_at)


def test_a_single_transfer_is_an_orm_transfer_in_the_session_and_a_batch_is_records(session, books, credit):
    t = credit(books.alice, 10)
    assert isinstance(t, Transfer) and inspect(t).persistent and not session.dirty
    assert session.get(Transfer, t.id) is t
    batch = ledger.linked(session, [TransferSpec("engine:r:1", books.alice.id, books.bob.id, 4, Ledger.points,
                                                 Code.gift)])
    assert [type(b) for b in batch] == [Posted] and batch[0].code_enum == Code.gift
    again = ledger.linked(session, [TransferSpec("engine:r:1", books.alice.id, books.bob.id, 4, Ledger.points,
                                                 Code.gift)])
    assert again == batch  # a repeat is the same record


def test_accounts_in_the_session_show_the_balances_just_written(session, books, credit):
    credit(books.alice, 10)
    assert books.alice.credits_posted == 10
    ledger.transfer(session, key="engine:gift", debit_account_id=books.alice.id, credit_account_id=books.bob.id,
                    amount=4, ledger=Ledger.points, code=Code.gift)
    assert (books.alice.debits_posted, books.bob.credits_posted) == (4, 4)
