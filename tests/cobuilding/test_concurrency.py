"""PostgreSQL: two admins evaluating the same unit at the same moment, and two contacts submitting the same
report-in at the same moment, leave one row each; the loser is told 409, never 500."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from tests.cobuilding.conftest import report_in_body
from timebank.cobuilding.models import UnitEvaluation, UnitReportIn
from timebank.people.models import Role

pytestmark = pytest.mark.pg_only


def _race(app, calls) -> list[tuple[int, str | None]]:
    barrier = threading.Barrier(len(calls))
    results: list[tuple[int, str | None]] = []

    def run(path, body, headers):
        client = app.test_client()
        barrier.wait()
        resp = client.post(path, json=body, headers=headers)
        results.append((resp.status_code, (resp.json or {}).get("code")))

    threads = [threading.Thread(target=run, args=call) for call in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_one_evaluation_a_year_under_concurrency(app, client, session, tree, as_user, make_unit, unit_contact):
    unit = make_unit()
    _c, contact_h = unit_contact(unit)
    admins = [as_user(Role.community_admin, tree.community_a, name=f"书记{i}")[1] for i in range(6)]
    ri = client.post("/api/unit-report-ins", json=report_in_body(tree.community_a.id), headers=contact_h).json
    client.post(f"/api/unit-report-ins/{ri['id']}/acceptance", headers=admins[0])
    session.rollback()
    body = {"grade": "good", "scores": {"service": 5, "resources": 5, "agreement": 4}}
    results = _race(app, [(f"/api/unit-report-ins/{ri['id']}/evaluations", body, h) for h in admins])
    assert sorted(s for s, _ in results).count(201) == 1
    assert {(s, c) for s, c in results if s != 201} == {(409, "unit_already_evaluated")}
    session.rollback()
    assert session.scalar(select(func.count()).select_from(UnitEvaluation)) == 1


def test_one_live_report_in_per_unit_and_community_under_concurrency(app, session, tree, make_unit, unit_contact):
    unit = make_unit()
    contacts = [unit_contact(unit, name=f"联络人{i}")[1] for i in range(6)]
    session.rollback()
    results = _race(app, [("/api/unit-report-ins", report_in_body(tree.community_a.id), h) for h in contacts])
    assert sorted(s for s, _ in results).count(201) == 1
    assert {(s, c) for s, c in results if s != 201} == {(409, "already_reported_in")}
    session.rollback()
    assert session.scalar(select(func.count()).select_from(UnitReportIn)) == 1
