"""PostgreSQL: many volunteers racing for a few slots never get more claims than slots."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from timebank.hours.models import Claim, ClaimStatus
from timebank.people import security

from .conftest import publish

pytestmark = pytest.mark.pg_only


def test_claims_never_exceed_slots_under_concurrency(app, session, hours, clock, make_person):
    task = publish(app.test_client(), hours, clock, slots=3)
    racers = [make_person(f"志愿者{i}", hours.tree.grid_a) for i in range(12)]
    headers = [{"Authorization": "Bearer " + security.issue_token(app.config["SECRET_KEY"], p.id, p.token_version)}
               for p in racers]
    session.rollback()
    barrier = threading.Barrier(len(racers))
    results: list[tuple[int, str | None]] = []

    def race(h):
        client = app.test_client()
        barrier.wait()
        resp = client.post(f"/api/tasks/{task['id']}/claims", headers=h)
        results.append((resp.status_code, (resp.json or {}).get("code")))

    threads = [threading.Thread(target=race, args=(h,)) for h in headers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(s for s, _ in results).count(201) == 3
    assert {(s, c) for s, c in results if s != 201} == {(409, "task_full")}
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Claim).where(Claim.status == ClaimStatus.active)) == 3
    assert app.test_client().get(f"/api/tasks/{task['id']}", headers=headers[0]).json["claimed"] == 3
