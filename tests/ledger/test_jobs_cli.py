"""The scheduled upkeep and the `timebank ledger verify` command."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from timebank import ledger
from timebank.accounts import expiry as expiry_policy
from timebank.db_base import utcnow
from timebank.ledger import expiry
from timebank.ledger.models import ReconciliationRun, Seal
from timebank.workers.jobs import ledger_maintenance as jobs


def test_verify_command_seals_and_reports_ok(session, runner, books, credit):
    credit(books.alice, 10)
    credit(books.bob, 5)
    session.commit()
    result = runner.invoke(args=["ledger", "verify"])
    assert result.exit_code == 0, result.output
    assert "OK" in result.output
    assert session.scalar(select(Seal.entry_count)) == 2
    assert session.scalar(select(ReconciliationRun.triggered_by)) == "cli"


def test_verify_command_fails_on_a_discrepancy(session, runner, books, credit):
    from sqlalchemy import text

    credit(books.alice, 10)
    session.commit()
    session.execute(text(f"UPDATE ledger_account SET credits_posted = 11 WHERE id = {books.alice.id}"))
    session.commit()
    result = runner.invoke(args=["ledger", "verify", "--json"])
    assert result.exit_code == 1
    assert "cached_balance_mismatch" in result.output


def test_reconcile_job_stores_a_run(session, books, credit):
    credit(books.alice, 3)
    session.commit()
    run_id = jobs.reconcile("test")
    run = session.get(ReconciliationRun, run_id)
    assert run.ok and run.entries_checked == 1 and run.seals_checked == 1


def test_release_job_ends_each_timed_out_hold_once(session, books, credit):
    credit(books.alice, 10)
    h = ledger.hold(session, key="h", debit_account_id=books.alice.id, credit_account_id=books.shop.id, amount=4,
                    timeout_seconds=1)
    session.commit()
    from timebank.ledger import holds

    assert holds.release_expired(session, now=utcnow() + timedelta(seconds=5)) == [h.id]
    session.commit()
    assert holds.release_expired(session, now=utcnow() + timedelta(seconds=5)) == []
    assert jobs.release_expired_holds() == 0
    assert ledger.balance(session, books.alice.id).available == 10


def test_points_expire_oldest_lots_first_per_community_policy(session, tree, make_person, books):
    from timebank.ledger import Code, Ledger, OwnerKind

    tree.community_a.settings = {"points_expiry_months": 36}
    session.commit()
    volunteer = make_person(name="张阿姨", home=tree.grid_a)
    acc = ledger.account_for(session, owner_kind=OwnerKind.volunteer, owner_id=volunteer.id, ledger=Ledger.points)
    for i, amount in enumerate((50, 30, 20)):
        ledger.transfer(session, key=f"c{i}", debit_account_id=books.issuer_points.id, credit_account_id=acc.id,
                        amount=amount, ledger=Ledger.points, code=Code.credit)
    ledger.transfer(session, key="spend", debit_account_id=acc.id, credit_account_id=books.shop.id, amount=60,
                    ledger=Ledger.points, code=Code.settlement)
    session.commit()
    # 60 spent: the first lot (50) is gone, 20 of the second lot (30) remains, all of the third.
    lots = expiry.open_lots(session, acc.id, 36)
    assert [lot.amount for lot in lots] == [20, 20]
    assert expiry.months_after(lots[0].credited_at, 36) == lots[0].expires_at
    three_years_on = lots[0].expires_at + timedelta(seconds=1)
    assert expiry.due(session, acc.id, 36, now=three_years_on) == 40
    soon = expiry.expiring_soon(session, acc.id, 36, now=lots[0].expires_at - timedelta(days=10))
    assert sum(lot.amount for lot in soon) == 40
    assert expiry.expiring_soon(session, acc.id, None) == []
    months, community_id = expiry_policy.policy_for_person(session, volunteer.id)
    assert (months, community_id) == (36, tree.community_a.id)
    t = expiry.expire_account(session, acc, months=36, community_id=community_id, now=three_years_on)
    session.commit()
    assert (t.amount, t.code) == (40, Code.expiry)
    assert ledger.balance(session, acc.id).available == 0
    assert expiry.due(session, acc.id, 36, now=three_years_on) == 0


def test_expiry_is_off_by_default(session, tree, make_person, books):
    from timebank.ledger import Code, Ledger, OwnerKind

    volunteer = make_person(name="李叔", home=tree.grid_b)
    acc = ledger.account_for(session, owner_kind=OwnerKind.volunteer, owner_id=volunteer.id, ledger=Ledger.points)
    ledger.transfer(session, key="c", debit_account_id=books.issuer_points.id, credit_account_id=acc.id, amount=9,
                    ledger=Ledger.points, code=Code.credit)
    session.commit()
    assert expiry_policy.policy_for_person(session, volunteer.id)[0] is None
    assert jobs.expire_points() == 0
    assert ledger.balance(session, acc.id).available == 9


def test_a_reversed_reversal_restores_the_lot_it_had_undone(session, tree, make_person, books):
    """credit → reversal → reversal of the reversal: the credit stands again, and so does its lot (and a third
    reversal undoes it once more)."""
    from timebank.ledger import Code, Ledger, OwnerKind

    volunteer = make_person(name="张阿姨", home=tree.grid_a)
    acc = ledger.account_for(session, owner_kind=OwnerKind.volunteer, owner_id=volunteer.id, ledger=Ledger.points)
    credit = ledger.transfer(session, key="c", debit_account_id=books.issuer_points.id, credit_account_id=acc.id,
                             amount=7, ledger=Ledger.points, code=Code.credit)
    undo = ledger.reverse(session, key="r1", transfer_id=credit.id, reason="更正")
    assert expiry.open_lots(session, acc.id, 12) == []
    redo = ledger.reverse(session, key="r2", transfer_id=undo.id, reason="撤销更正")
    [lot] = expiry.open_lots(session, acc.id, 12)
    assert (lot.transfer_id, lot.amount) == (credit.id, 7) == (credit.id, ledger.balance(session, acc.id).available)
    ledger.reverse(session, key="r3", transfer_id=redo.id, reason="再次更正")
    assert expiry.open_lots(session, acc.id, 12) == [] and ledger.balance(session, acc.id).available == 0
