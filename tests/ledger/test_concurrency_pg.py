"""PostgreSQL under concurrency: many threads spending from one account and crediting one issuer at once.

Never a negative balance, never a lost update, never a deadlock reaching the caller, holds end exactly once.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from timebank import ledger
from timebank.extensions import db
from timebank.ledger import Code, Ledger, OwnerKind
from timebank.ledger.errors import HoldNotPending, InsufficientFunds
from timebank.ledger.verify import verify

pytestmark = pytest.mark.pg_only
THREADS = 8


def in_thread(app, fn):
    """Run fn(session) in a fresh app context (its own session and connection) and commit."""
    with app.app_context():
        try:
            result = fn(db.session)
            db.session.commit()
            return result
        except BaseException:
            db.session.rollback()
            raise
        finally:
            db.session.remove()


@pytest.fixture
def pool(session):
    issuer = ledger.account_for(session, owner_kind=OwnerKind.issuer, owner_id=1, ledger=Ledger.points)
    shop = ledger.account_for(session, owner_kind=OwnerKind.merchant, owner_id=1, ledger=Ledger.points)
    spender = ledger.account_for(session, owner_kind=OwnerKind.volunteer, owner_id=1, ledger=Ledger.points)
    others = [ledger.account_for(session, owner_kind=OwnerKind.volunteer, owner_id=100 + i, ledger=Ledger.points)
              for i in range(THREADS)]
    ledger.transfer(session, key="seed", debit_account_id=issuer.id, credit_account_id=spender.id, amount=500,
                    ledger=Ledger.points, code=Code.credit)
    session.commit()
    return issuer.id, shop.id, spender.id, [o.id for o in others]


def test_spending_and_crediting_at_once_loses_nothing(app, session, pool):
    issuer, shop, spender, others = pool
    rounds = 30
    outcome = {"spent": 0, "refused": 0, "credited": 0}
    lock = threading.Lock()

    def worker(n):
        for i in range(rounds):
            def spend(s, i=i):
                return ledger.transfer(s, key=f"spend:{n}:{i}", debit_account_id=spender, credit_account_id=shop,
                                       amount=3, ledger=Ledger.points, code=Code.settlement)

            def give(s, i=i):
                # the spender is topped up too, so its row is both debited and credited concurrently
                target = spender if i % 5 == 0 else others[n]
                return ledger.transfer(s, key=f"credit:{n}:{i}", debit_account_id=issuer,
                                       credit_account_id=target, amount=1, ledger=Ledger.points, code=Code.credit)
            try:
                in_thread(app, spend)
                with lock:
                    outcome["spent"] += 1
            except InsufficientFunds:
                with lock:
                    outcome["refused"] += 1
            in_thread(app, give)
            with lock:
                outcome["credited"] += 1

    with ThreadPoolExecutor(THREADS) as ex:
        for f in [ex.submit(worker, n) for n in range(THREADS)]:
            f.result()  # re-raises anything but the expected refusals: no deadlock reached us

    session.expire_all()
    topups = THREADS * len(range(0, rounds, 5))
    b = ledger.balance(session, spender)
    assert b.available >= 0
    assert b.credits_posted == 500 + topups
    assert b.debits_posted == 3 * outcome["spent"]
    assert outcome["spent"] + outcome["refused"] == THREADS * rounds
    assert outcome["refused"] > 0  # the account really ran dry under contention
    assert ledger.balance(session, shop).credits_posted == 3 * outcome["spent"]
    assert ledger.balance(session, issuer).debits_posted == 500 + outcome["credited"]
    run = verify(session)
    assert run.ok, run.discrepancies


def test_the_same_key_posted_at_once_posts_once(app, session, pool):
    issuer, _shop, spender, _ = pool
    barrier = threading.Barrier(THREADS)

    def post(_n):
        def fn(s):
            barrier.wait()
            return ledger.transfer(s, key="credit:attendance:77:points", debit_account_id=issuer,
                                   credit_account_id=spender, amount=9, ledger=Ledger.points,
                                   code=Code.credit).id
        return in_thread(app, fn)

    with ThreadPoolExecutor(THREADS) as ex:
        ids = list(ex.map(post, range(THREADS)))
    assert len(set(ids)) == 1
    session.expire_all()
    assert ledger.balance(session, spender).credits_posted == 509


def test_a_hold_ends_exactly_once_when_capture_and_release_race(app, session, pool):
    _issuer, shop, spender, _ = pool
    holds = []
    for i in range(10):
        holds.append(ledger.hold(session, key=f"h{i}", debit_account_id=spender, credit_account_id=shop,
                                 amount=10, timeout_seconds=600).id)
    session.commit()

    def end(args):
        hold_id, how = args

        def fn(s):
            if how == "capture":
                return ledger.capture(s, key=f"c{hold_id}", pending_id=hold_id, amount=4).code
            return ledger.release(s, key=f"r{hold_id}", pending_id=hold_id).code
        try:
            return in_thread(app, fn)
        except HoldNotPending:
            return None

    jobs = [(h, how) for h in holds for how in ("capture", "release")]
    with ThreadPoolExecutor(THREADS) as ex:
        results = list(ex.map(end, jobs))
    for i in range(len(holds)):
        pair = results[2 * i: 2 * i + 2]
        assert sum(r is not None for r in pair) == 1
    session.expire_all()
    b = ledger.balance(session, spender)
    captured = sum(1 for r in results if r == Code.capture)
    assert (b.debits_pending, b.debits_posted) == (0, 4 * captured)
    assert verify(session).ok
