"""Random sequences of every ledger operation against a simple in-memory model; all invariants after each step."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule, run_state_machine_as_test

from timebank import ledger
from timebank.db_base import utcnow
from timebank.ledger import Code, Ledger, OwnerKind, TransferSpec, expiry, holds
from timebank.ledger.errors import AlreadyReversed, HoldNotPending, InsufficientFunds
from timebank.ledger.verify import verify

_owner_ids = itertools.count(1_000_000)
_keys = itertools.count(1)
VOLUNTEERS = 3


def key(tag: str) -> str:
    return f"sm:{tag}:{next(_keys)}"


class LedgerMachine(RuleBasedStateMachine):
    session = None  # set by the test

    @initialize()
    def open_accounts(self):
        s = self.session
        community = self.community = next(_owner_ids)
        self.issuer = ledger.account_for(s, owner_kind=OwnerKind.issuer, owner_id=community, ledger=Ledger.points).id
        self.shop = ledger.account_for(s, owner_kind=OwnerKind.merchant, owner_id=community, ledger=Ledger.points).id
        self.fund = ledger.account_for(s, owner_kind=OwnerKind.community_fund, owner_id=community,
                                       ledger=Ledger.points).id
        self.sink = ledger.account_for(s, owner_kind=OwnerKind.expiry_sink, owner_id=community,
                                       ledger=Ledger.points).id
        self.vols = [ledger.account_for(s, owner_kind=OwnerKind.volunteer, owner_id=next(_owner_ids),
                                        ledger=Ledger.points).id for _ in range(VOLUNTEERS)]
        s.commit()
        self.model = {a: [0, 0, 0, 0] for a in (self.issuer, self.shop, self.fund, self.sink, *self.vols)}
        self.holds: dict[int, tuple[int, int, int]] = {}  # open holds: id -> (debit, credit, amount)
        self.posted: dict[int, tuple[int, int, int]] = {}  # reversible: id -> (debit, credit, amount)
        self.reversed: set[int] = set()

    # ---------------------------------------------------------------- model helpers
    def available(self, a: int) -> int:
        dp, cp, dpend, _ = self.model[a]
        return cp - dp - dpend

    def post(self, t, debit, credit, amount):
        self.model[debit][0] += amount
        self.model[credit][1] += amount
        self.posted[t.id] = (debit, credit, amount)

    def limited(self, a: int) -> bool:
        return a != self.issuer and a != self.sink

    def commit(self):
        self.session.commit()

    def refused(self):
        self.session.rollback()

    # ---------------------------------------------------------------- rules
    @rule(v=st.integers(0, VOLUNTEERS - 1), amount=st.integers(1, 60))
    def credit(self, v, amount):
        t = ledger.transfer(self.session, key=key("credit"), debit_account_id=self.issuer,
                            credit_account_id=self.vols[v], amount=amount, ledger=Ledger.points, code=Code.credit)
        self.commit()
        self.post(t, self.issuer, self.vols[v], amount)

    @rule(v=st.integers(0, VOLUNTEERS - 1), to=st.integers(0, VOLUNTEERS), amount=st.integers(1, 80))
    def gift(self, v, to, amount):
        target = self.fund if to == VOLUNTEERS else self.vols[to]
        if target == self.vols[v]:
            return
        try:
            t = ledger.transfer(self.session, key=key("gift"), debit_account_id=self.vols[v],
                                credit_account_id=target, amount=amount, ledger=Ledger.points, code=Code.gift)
        except InsufficientFunds:
            self.refused()
            assert self.available(self.vols[v]) < amount
            return
        self.commit()
        assert self.available(self.vols[v]) >= amount
        self.post(t, self.vols[v], target, amount)

    @rule(v=st.integers(0, VOLUNTEERS - 1), earn=st.integers(1, 40), spend=st.integers(1, 120))
    def linked_credit_then_spend(self, v, earn, spend):
        acc = self.vols[v]
        specs = [TransferSpec(key("lk"), self.issuer, acc, earn, Ledger.points, Code.credit),
                 TransferSpec(key("lk"), acc, self.shop, spend, Ledger.points, Code.settlement)]
        try:
            t1, t2 = ledger.linked(self.session, specs)
        except InsufficientFunds:
            self.refused()
            assert self.available(acc) + earn < spend
            return
        self.commit()
        self.post(t1, self.issuer, acc, earn)
        self.post(t2, acc, self.shop, spend)

    @rule(v=st.integers(0, VOLUNTEERS - 1), amount=st.integers(1, 60))
    def hold(self, v, amount):
        acc = self.vols[v]
        try:
            h = ledger.hold(self.session, key=key("hold"), debit_account_id=acc, credit_account_id=self.shop,
                            amount=amount, timeout_seconds=3600)
        except InsufficientFunds:
            self.refused()
            assert self.available(acc) < amount
            return
        self.commit()
        self.model[acc][2] += amount
        self.model[self.shop][3] += amount
        self.holds[h.id] = (acc, self.shop, amount)

    def _end_hold(self, hold_id):
        debit, credit, amount = self.holds.pop(hold_id)
        self.model[debit][2] -= amount
        self.model[credit][3] -= amount
        return debit, credit, amount

    @rule(data=st.data())
    def capture(self, data):
        if not self.holds:
            return
        hold_id = data.draw(st.sampled_from(sorted(self.holds)))
        amount = data.draw(st.integers(1, self.holds[hold_id][2]))
        t = ledger.capture(self.session, key=key("capture"), pending_id=hold_id, amount=amount)
        self.commit()
        debit, credit, _ = self._end_hold(hold_id)
        self.post(t, debit, credit, amount)
        with pytest.raises(HoldNotPending):
            ledger.release(self.session, key=key("late"), pending_id=hold_id)
        self.refused()

    @rule(data=st.data())
    def release(self, data):
        if not self.holds:
            return
        hold_id = data.draw(st.sampled_from(sorted(self.holds)))
        ledger.release(self.session, key=key("release"), pending_id=hold_id)
        self.commit()
        self._end_hold(hold_id)

    @rule()
    def holds_time_out(self):
        released = holds.release_expired(self.session, now=utcnow() + timedelta(hours=2), limit=10_000)
        self.commit()
        assert set(self.holds) <= set(released)
        for hold_id in list(self.holds):
            self._end_hold(hold_id)

    @rule(data=st.data())
    def reverse(self, data):
        if not self.posted:
            return
        tid = data.draw(st.sampled_from(sorted(self.posted)))
        debit, credit, amount = self.posted[tid]
        try:
            r = ledger.reverse(self.session, key=key("rev"), transfer_id=tid, reason="更正")
        except AlreadyReversed:
            self.refused()
            assert tid in self.reversed
            return
        except InsufficientFunds:
            self.refused()
            assert self.limited(credit) and self.available(credit) < amount
            return
        self.commit()
        assert tid not in self.reversed
        self.reversed.add(tid)
        self.post(r, credit, debit, amount)  # a reversal may itself be reversed later, once

    @rule(v=st.integers(0, VOLUNTEERS - 1))
    def points_expire(self, v):
        acc = ledger.account_for(self.session, owner_kind=OwnerKind.volunteer,
                                 owner_id=self.session.get(ledger.Account, self.vols[v]).owner_id,
                                 ledger=Ledger.points)
        due = self.available(acc.id)
        far = utcnow() + timedelta(days=400)
        t = expiry.expire_account(self.session, acc, months=12, community_id=self.community, now=far)
        self.commit()
        if due <= 0:
            assert t is None
            return
        assert (t.amount, t.credit_account_id) == (due, self.sink)
        self.post(t, acc.id, self.sink, due)

    # ---------------------------------------------------------------- invariants
    @invariant()
    def balances_match_the_model_and_never_overdraw(self):
        for a, (dp, cp, dpend, cpend) in self.model.items():
            b = ledger.balance(self.session, a)
            assert (b.debits_posted, b.credits_posted, b.debits_pending) == (dp, cp, dpend), a
            assert b.credits_pending == cpend
            if self.limited(a):
                assert b.available >= 0

    @invariant()
    def ledger_reconciles(self):
        run = verify(self.session, release_holds=False)
        self.session.rollback()
        assert run.ok, run.discrepancies


def test_random_operation_sequences_keep_every_invariant(session, app):
    LedgerMachine.session = session
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=12, stateful_step_count=12, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
