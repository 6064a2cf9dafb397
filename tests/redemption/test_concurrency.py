"""PostgreSQL under real concurrency: many volunteers after the last units, one volunteer on two devices, and
capture / cancel / refuse / expiry racing on the same holds. Stock and points never go below zero, and every
hold ends captured or released exactly once."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from timebank import ledger
from timebank.db_base import utcnow
from timebank.extensions import db
from timebank.people.access import SYSTEM
from timebank.redemption import redemptions as redemption_service
from timebank.redemption import rewards
from timebank.redemption.models import Redemption, RedemptionStatus, Reward

pytestmark = pytest.mark.pg_only


def _race(app, calls):
    """Run every call at once (a barrier releases them together), each in its own app context and session."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        with app.app_context():
            barrier.wait()
            try:
                return call()
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def _post(app, path, headers, body=None):
    def call():
        resp = app.test_client().post(path, json=body or {}, headers=headers)
        return resp.status_code, resp.get_json()

    return call


def _assert_holds_ended_once(session):
    """Every held redemption has one hold; every finished one exactly one capture or release in the ledger."""
    session.rollback()
    for red in session.scalars(select(Redemption)):
        resolutions = session.scalars(select(ledger.Transfer).where(ledger.Transfer.pending_id == red.hold_transfer_id)
                                      ).all()
        if red.status == RedemptionStatus.held:
            assert resolutions == []
        elif red.status == RedemptionStatus.captured:
            assert [t.code for t in resolutions] == [int(ledger.Code.capture)]
        else:
            assert [t.code for t in resolutions] in ([int(ledger.Code.release)], [])
    session.rollback()


def test_many_volunteers_race_for_the_last_units(app, session, shop, tree, volunteer):
    last = rewards.create_reward(session, SYSTEM, merchant_id=shop.merchant.id, name="限量月饼", points_price=100,
                                 stock=3, community_ids=[tree.community_a.id])
    session.commit()
    crowd = [volunteer(points=100, name=f"志愿者{i}") for i in range(12)]
    results = _race(app, [_post(app, "/api/redemptions", {**h, "Idempotency-Key": f"last-{i}"},
                                {"reward_id": last.id}) for i, (_, h) in enumerate(crowd)])
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 3, 422: 9}, results
    assert {body["code"] for status, body in results if status == 422} == {"out_of_stock"}
    session.rollback()
    assert session.get(Reward, last.id).stock == 0
    winners = {body["person_id"] for status, body in results if status == 201}
    for person, _ in crowd:
        expected = 0 if person.id in winners else 100
        assert rewards.available_points(session, person.id) == expected
    _assert_holds_ended_once(session)


def test_one_volunteer_on_two_devices_cannot_spend_the_same_points_twice(app, session, shop, volunteer):
    person, headers = volunteer(points=150)  # enough for one 100-point reward, not two
    for round_ in range(3):
        results = _race(app, [_post(app, "/api/redemptions", {**headers, "Idempotency-Key": f"d{round_}-{d}"},
                                    {"reward_id": shop.reward.id}) for d in ("phone", "tablet")])
        statuses = sorted(status for status, _ in results)
        if round_ == 0:
            assert statuses == [201, 422], results
            assert [b["code"] for s, b in results if s == 422] == ["insufficient_funds"]
        else:
            assert statuses == [422, 422]
        session.rollback()
        assert rewards.available_points(session, person.id) == 50
        session.rollback()
    assert session.get(Reward, shop.reward.id).stock == 9
    account = rewards.volunteer_account(session, person.id)
    bal = ledger.balance(session, account.id)
    assert bal.available >= 0 and bal.debits_pending == 100
    session.rollback()


def test_same_idempotency_key_from_two_devices_redeems_once(app, session, shop, volunteer):
    person, headers = volunteer(points=1000)
    results = _race(app, [_post(app, "/api/redemptions", {**headers, "Idempotency-Key": "same"},
                                {"reward_id": shop.reward.id}) for _ in range(2)])
    assert [s for s, _ in results] == [201, 201]
    assert results[0][1]["id"] == results[1][1]["id"]
    session.rollback()
    assert session.scalar(select(func.count(Redemption.id))) == 1
    assert rewards.available_points(session, person.id) == 900
    session.rollback()


def test_per_person_limit_holds_across_two_devices(app, session, shop, tree, volunteer):
    once = rewards.create_reward(session, SYSTEM, merchant_id=shop.merchant.id, name="每人一次", points_price=10,
                                 per_person_limit=1, limit_period="ever", community_ids=[tree.community_a.id])
    session.commit()
    _, headers = volunteer(points=1000)
    results = _race(app, [_post(app, "/api/redemptions", {**headers, "Idempotency-Key": f"lim-{d}"},
                                {"reward_id": once.id}) for d in range(4)])
    assert Counter(s for s, _ in results) == {201: 1, 422: 3}
    assert {b["code"] for s, b in results if s == 422} == {"limit_reached"}


def test_capture_cancel_refuse_and_expiry_race_and_each_hold_ends_once(app, session, shop, volunteer):
    people = [volunteer(points=100, name=f"志愿者{i}") for i in range(6)]
    opened = []
    for i, (_, headers) in enumerate(people):
        resp = app.test_client().post("/api/redemptions", json={"reward_id": shop.reward.id},
                                      headers={**headers, "Idempotency-Key": f"r-{i}"})
        opened.append(resp.get_json())
    later = utcnow() + timedelta(days=3)

    def expire(red_id):
        def call():
            try:
                changed = redemption_service.expire_one(db.session, red_id, now=later)
                db.session.commit()
                return ("expire", changed)
            except Exception as exc:  # noqa: BLE001 - the race's loser reports what stopped it
                db.session.rollback()
                return ("expire", type(exc).__name__)
        return call

    calls = []
    for (_, headers), body in zip(people, opened, strict=True):
        calls += [
            _post(app, "/api/redemptions/confirm", shop.key_headers, {"code": body["code"]}),
            _post(app, "/api/redemptions/confirm", shop.key_headers, {"code": body["code"]}),
            _post(app, f"/api/redemptions/{body['id']}/cancel", headers),
            _post(app, f"/api/redemptions/{body['id']}/refuse", shop.key_headers, {"reason": "并发"}),
            expire(body["id"]),
        ]
    results = _race(app, calls)
    assert all(r[0] in (200, 409, "expire") for r in results), results
    session.rollback()
    reds = session.scalars(select(Redemption)).all()
    assert {r.status for r in reds} <= {RedemptionStatus.captured, RedemptionStatus.released}
    captured = sum(r.status == RedemptionStatus.captured for r in reds)
    _assert_holds_ended_once(session)
    # Stock: one unit out per capture, every release put its unit back.
    assert session.get(Reward, shop.reward.id).stock == 10 - captured
    merchant_account = rewards.merchant_account(session, session.get(type(shop.merchant), shop.merchant.id))
    assert ledger.balance(session, merchant_account.id).credits_posted == 100 * captured
    for person, _ in people:
        assert rewards.available_points(session, person.id) >= 0
    session.rollback()
