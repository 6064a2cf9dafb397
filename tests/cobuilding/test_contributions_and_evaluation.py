"""Contributions that are not hours are recorded against the agreement (a correction reverses, never edits),
the community evaluates the unit once a year (双评议), and another community sees neither."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.cobuilding.conftest import report_in_body
from timebank.clock import local_today
from timebank.cobuilding.models import Contribution, UnitEvaluation
from timebank.people.models import Role

SCORES = {"service": 5, "resources": 4, "agreement": 5}


@pytest.fixture
def accepted(client, tree, as_user, make_unit, unit_contact):
    """A unit reported in to community A with two resources, accepted by A's admin."""
    unit = make_unit()
    contact, contact_h = unit_contact(unit)
    _admin, admin_h = as_user(Role.community_admin, tree.community_a)
    ri = client.post("/api/unit-report-ins", json=report_in_body(tree.community_a.id), headers=contact_h).json
    assert client.post(f"/api/unit-report-ins/{ri['id']}/acceptance", headers=admin_h).status_code == 200
    return {"unit": unit, "ri": ri, "contact_h": contact_h, "admin_h": admin_h}


def test_contributions_are_recorded_and_corrected_by_reversal(client, session, accepted):
    ri, admin_h = accepted["ri"], accepted["admin_h"]
    url = f"/api/unit-report-ins/{ri['id']}/contributions"
    venue = ri["resources"][0]["id"]
    today = local_today().isoformat()
    funds = client.post(url, json={"kind": "funds", "description": "重阳节慰问经费", "amount_yuan": "5000.50",
                                   "on_date": today}, headers=admin_h)
    assert funds.status_code == 201, funds.json
    assert funds.json["amount_fen"] == 500050 and funds.json["amount_yuan"] == "5000.50"
    room = client.post(url, json={"kind": "venue", "description": "活动室借用", "quantity": "3 次", "on_date": today,
                                  "resource_id": venue}, headers=admin_h)
    assert room.status_code == 201 and room.json["resource_id"] == venue

    by_unit = client.post(url, json={"kind": "goods", "description": "大米", "quantity": "50 袋", "on_date": today},
                          headers=accepted["contact_h"])
    assert by_unit.status_code == 403  # the community records what it received
    wrong = client.post(url, json={"kind": "funds", "description": "x", "amount_yuan": "1.005", "on_date": today},
                        headers=admin_h)
    assert wrong.status_code == 422
    no_amount = client.post(url, json={"kind": "funds", "description": "x", "on_date": today}, headers=admin_h)
    assert no_amount.status_code == 422 and no_amount.json["code"] == "contribution_amount"
    future = (local_today() + timedelta(days=3)).isoformat()
    ahead = client.post(url, json={"kind": "goods", "description": "x", "quantity": "1", "on_date": future},
                        headers=admin_h)
    assert ahead.status_code == 422 and ahead.json["code"] == "date_in_future"
    before = client.post(url, json={"kind": "goods", "description": "x", "quantity": "1", "on_date": "2001-01-01"},
                         headers=admin_h)
    assert before.status_code == 422 and before.json["code"] == "contribution_outside_term"

    reversal = client.post(f"/api/contributions/{funds.json['id']}/reversal", json={"reason": "金额录错，应为 500 元"},
                           headers=admin_h)
    assert reversal.status_code == 201 and reversal.json["amount_fen"] == -500050
    assert reversal.json["reverses_id"] == funds.json["id"]
    twice = client.post(f"/api/contributions/{funds.json['id']}/reversal", json={"reason": "再次"}, headers=admin_h)
    assert twice.status_code == 409 and twice.json["code"] == "contribution_already_reversed"
    of_reversal = client.post(f"/api/contributions/{reversal.json['id']}/reversal", json={"reason": "x"},
                              headers=admin_h)
    assert of_reversal.status_code == 409 and of_reversal.json["code"] == "contribution_is_reversal"
    client.post(url, json={"kind": "funds", "description": "重阳节慰问经费", "amount_yuan": "500", "on_date": today},
                headers=admin_h)

    listed = client.get(url, headers=accepted["contact_h"]).json
    assert listed["net_fen"] == 50000 and len(listed["items"]) == 4
    original = session.get(Contribution, funds.json["id"])
    assert original.amount_fen == 500050  # never edited


def test_a_contribution_needs_an_agreement_in_force(client, tree, as_user, make_unit, unit_contact):
    unit = make_unit()
    _c, contact_h = unit_contact(unit)
    _a, admin_h = as_user(Role.community_admin, tree.community_a)
    ri = client.post("/api/unit-report-ins", json=report_in_body(tree.community_a.id), headers=contact_h).json
    resp = client.post(f"/api/unit-report-ins/{ri['id']}/contributions",
                       json={"kind": "goods", "description": "x", "quantity": "1",
                             "on_date": local_today().isoformat()}, headers=admin_h)
    assert resp.status_code == 409 and resp.json["code"] == "agreement_not_in_force"


def test_the_community_evaluates_a_unit_once_a_year(client, session, accepted):
    ri, admin_h = accepted["ri"], accepted["admin_h"]
    url = f"/api/unit-report-ins/{ri['id']}/evaluations"
    body = {"grade": "good", "scores": SCORES, "comment": "积极参与社区治理"}
    first = client.post(url, json=body, headers=admin_h)
    assert first.status_code == 201, first.json
    assert first.json["year"] == local_today().year and first.json["grade_label"] == "好"
    assert first.json["scores"] == SCORES
    second = client.post(url, json={**body, "grade": "poor"}, headers=admin_h)
    assert second.status_code == 409 and second.json["code"] == "unit_already_evaluated"
    by_unit = client.post(url, json=body, headers=accepted["contact_h"])
    assert by_unit.status_code == 403
    bad_score = client.post(url, json={**body, "year": local_today().year - 1,
                                       "scores": {**SCORES, "service": 6}}, headers=admin_h)
    assert bad_score.status_code == 422
    next_year = client.post(url, json={**body, "year": local_today().year + 1}, headers=admin_h)
    assert next_year.status_code == 422 and next_year.json["code"] == "evaluation_year"
    seen = client.get(url, headers=accepted["contact_h"]).json["items"]
    assert [(e["year"], e["grade"]) for e in seen] == [(local_today().year, "good")]
    assert session.query(UnitEvaluation).count() == 1


def test_another_community_sees_neither_the_resources_nor_the_evaluation(client, tree, as_user, accepted,
                                                                         make_unit, unit_contact):
    ri, admin_h = accepted["ri"], accepted["admin_h"]
    client.post(f"/api/unit-report-ins/{ri['id']}/evaluations", json={"grade": "good", "scores": SCORES},
                headers=admin_h)
    _b, other_h = as_user(Role.community_admin, tree.community_b)
    _aud, auditor_b = as_user(Role.auditor, tree.community_b)
    for headers in (other_h, auditor_b):
        for path in ("", "/resources", "/evaluations", "/contributions"):
            resp = client.get(f"/api/unit-report-ins/{ri['id']}{path}", headers=headers)
            assert resp.status_code == 403 and resp.json["code"] == "out_of_scope", (path, resp.json)
            assert "活动室" not in resp.get_data(as_text=True)
        listed = client.get(f"/api/unit-report-ins?community_id={tree.community_a.id}", headers=headers)
        assert listed.status_code == 403
        mine = client.get(f"/api/unit-report-ins?community_id={tree.community_b.id}", headers=headers)
        assert mine.status_code == 200 and mine.json["items"] == []
    for path, body in (("/evaluations", {"grade": "poor", "scores": SCORES}),
                       ("/acceptance", None), ("/rejection", {"reason": "x"}),
                       ("/contributions", {"kind": "goods", "description": "x", "quantity": "1",
                                           "on_date": local_today().isoformat()})):
        resp = client.post(f"/api/unit-report-ins/{ri['id']}{path}", json=body, headers=other_h)
        assert resp.status_code == 403, (path, resp.json)
    # Another unit's contact sees none of it either; the street above both communities does.
    _o, other_unit_h = unit_contact(make_unit("市水务集团"), name="水务书记")
    assert client.get(f"/api/unit-report-ins/{ri['id']}/evaluations", headers=other_unit_h).status_code == 403
    _s, street_h = as_user(Role.street_admin, tree.street)
    assert client.get(f"/api/unit-report-ins/{ri['id']}/evaluations", headers=street_h).status_code == 200
    assert client.get(f"/api/unit-report-ins?community_id={tree.street.id}", headers=street_h).json["items"]


def test_the_database_holds_once_a_year_even_past_the_rule(session, accepted):
    from sqlalchemy.exc import IntegrityError

    session.rollback()
    row = session.scalar(select(UnitEvaluation))
    assert row is None
    ev = dict(report_in_id=accepted["ri"]["id"], employer_id=accepted["unit"].id,
              community_id=accepted["ri"]["community_id"], community_path="/x/", year=2026, grade="good",
              service_score=5, resources_score=5, agreement_score=5)
    session.add(UnitEvaluation(**ev))
    session.commit()
    session.add(UnitEvaluation(**ev))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()
