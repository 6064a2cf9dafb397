"""PostgreSQL: racing claimants of one wish get exactly one claim; sweeps racing each other take one step."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from timebank.extensions import db
from timebank.hours.models import Need, NeedEscalation, WishClaim
from timebank.workers.jobs.needs import escalate_overdue_needs

pytestmark = pytest.mark.pg_only

ROUNDS = 15


def race(app, calls) -> list:
    """Run each call in its own thread (its own app context, so its own session), released together."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)

    def run(i, call):
        with app.app_context():
            barrier.wait()
            try:
                results[i] = call()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _claim(app, need_id, headers, body):
    def call():
        resp = app.test_client().post(f"/api/wishes/{need_id}/claims", json=body, headers=headers)
        return resp.status_code, (resp.json or {}).get("code")
    return call


def test_two_volunteers_claiming_one_wish_give_exactly_one_claim(app, client, world, session):
    p = world.people
    for round_no in range(ROUNDS):
        need = client.post("/api/needs", json={"org_id": p.tree.grid_a.id, "title": f"心愿{round_no}",
                                               "kind": "micro_wish"}, headers=p.resident).json
        racers = [p.vol1, p.vol2, p.vol3]
        results = race(app, [_claim(app, need["id"], h, {"way": "service"}) for h in racers])
        assert sorted(s for s, _ in results) == [201, 409, 409], results
        assert {c for s, c in results if s == 409} == {"wish_taken"}
        session.rollback()
        assert session.scalar(select(func.count()).select_from(WishClaim)
                              .where(WishClaim.need_id == need["id"])) == 1
        assert session.get(Need, need["id"]).status == "claimed"


def test_two_units_claiming_one_wish_give_exactly_one_claim(app, client, world, make_unit, session):
    p = world.people
    units = [make_unit(f"单位{i}") for i in range(2)]
    session.rollback()
    for round_no in range(ROUNDS):
        need = client.post("/api/needs", json={"org_id": p.tree.grid_b.id, "title": f"单位心愿{round_no}",
                                               "kind": "micro_wish"}, headers=p.resident).json
        results = race(app, [_claim(app, need["id"], h, {"way": "goods", "goods_description": "米面油",
                                                           "employer_id": u.id}) for u, _c, h in units])
        assert sorted(s for s, _ in results) == [201, 409], results
        session.rollback()
        assert session.scalar(select(func.count()).select_from(WishClaim)
                              .where(WishClaim.need_id == need["id"])) == 1


def test_sweeps_running_at_once_escalate_each_need_once(app, client, world, clock, session):
    p = world.people
    made = [client.post("/api/needs", json={"org_id": p.tree.grid_a.id, "title": f"需求{i}", "category": "金色助老"},
                        headers=p.resident).json["id"] for i in range(30)]
    clock.advance(hours=5)
    session.rollback()
    results = race(app, [escalate_overdue_needs for _ in range(4)])
    assert sum(results) == 30, results
    assert escalate_overdue_needs() == 0
    session.rollback()
    levels = session.execute(select(NeedEscalation.need_id, func.count()).group_by(NeedEscalation.need_id)).all()
    assert sorted(levels) == [(i, 1) for i in sorted(made)]
    assert {n.escalation_level for n in session.scalars(select(Need).where(Need.id.in_(made)))} == {1}


def test_people_escalating_one_need_at_once_take_one_step(app, client, world, session):
    p = world.people
    need = client.post("/api/needs", json={"org_id": p.tree.grid_a.id, "title": "路灯坏了"}, headers=p.resident).json

    def call(headers):
        return lambda: app.test_client().post(f"/api/needs/{need['id']}/escalations", json={"reason": "需社区协调"},
                                              headers=headers).status_code

    results = race(app, [call(p.worker_a), call(p.admin_a)])
    # The second waits for the first's lock, then finds the need at the community: one step, or two in order.
    session.rollback()
    steps = session.scalars(select(NeedEscalation).where(NeedEscalation.need_id == need["id"])
                            .order_by(NeedEscalation.level)).all()
    assert 201 in results
    assert [s.level for s in steps] == list(range(1, len(steps) + 1))
    assert session.get(Need, need["id"]).escalation_level == len(steps)
