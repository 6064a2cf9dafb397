"""Fixtures for projects: the needs world (service-hours people, a street and a district admin), a unit reported in
to 幸福社区 with its resource list and a contact, and a helper that posts needs — all through the app's API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.cobuilding.conftest import report_in_body
from tests.hours.conftest import attend
from tests.needs.conftest import Needs, hours, make_unit, world  # noqa: F401 - fixtures reused
from timebank.clock import local_today
from timebank.people import persons as people
from timebank.people.models import PartyMemberStatus


@dataclass
class Unit:
    id: int
    name: str
    contact: dict
    contact_id: int
    report_in_id: int


@pytest.fixture
def reported_unit(client, session, world, make_unit):  # noqa: F811 - the fixtures imported above
    """`reported_unit("市交通局", community)`: a unit whose report-in to the community was accepted."""

    def make(name: str = "市交通局", community=None) -> Unit:
        community = community or world.people.tree.community_a
        employer, contact, headers = make_unit(name)
        body = report_in_body(community.id, employer_id=employer.id, party_org_name=f"{name}机关党委")
        body["resources"] = [
            {"kind": "venue", "description": "三楼党员活动室，可办助老讲座", "quantity": 80, "unit": "平方米"},
            {"kind": "skill", "description": "退休医生义诊、理发助老", "quantity": 6, "unit": "人"},
        ]
        resp = client.post("/api/unit-report-ins", json=body, headers=headers)
        assert resp.status_code == 201, resp.json
        admin = world.people.admin_a if community.id == world.people.tree.community_a.id else world.people.admin_b
        ok = client.post(f"/api/unit-report-ins/{resp.json['id']}/acceptance", headers=admin)
        assert ok.status_code == 200, ok.json
        return Unit(employer.id, name, headers, contact.id, resp.json["id"])

    return make


@pytest.fixture
def unit_member(session):
    """Make a volunteer an in-service party member of the unit (so the unit's project tasks are theirs to claim)."""

    def make(person_id: int, unit_id: int) -> None:
        people.register_party_member(session, None, people.get(session, person_id),
                                     status=PartyMemberStatus.in_service, employer_id=unit_id, branch_id=None)
        session.commit()

    return make


def post_needs(client, people, titles, category="金色助老", org=None) -> list[int]:
    ids = []
    for title in titles:
        resp = client.post("/api/needs", json={"org_id": (org or people.tree.grid_a).id, "title": title,
                                               "kind": "request", "category": category}, headers=people.resident)
        assert resp.status_code == 201, resp.json
        ids.append(resp.json["id"])
    return ids


def project_body(community_id: int, need_ids: list[int], **extra) -> dict:
    today = local_today()
    body = {"community_id": community_id, "title": "独居老人助老服务项目", "tier": "key",
            "goal": "为幸福社区独居老人提供每月上门清洁、理发和健康讲座", "starts_on": today.isoformat(),
            "ends_on": (today + timedelta(days=365)).isoformat(), "budget_minutes": 1200, "budget_points": 200,
            "need_ids": need_ids, "resources": [{"kind": "venue", "description": "助老讲座活动室"},
                                                {"kind": "skill", "description": "理发助老"}]}
    body.update(extra)
    return body


def serve(client, people, clock, task: dict, headers: dict, minutes: int = 60) -> None:
    """A volunteer serves the task from its start for `minutes`; the community admin verifies (credit follows)."""
    out = attend(client, people, clock, task, headers, minutes=minutes)
    ok = client.post(f"/api/attendances/{out['id']}/verification", json={"decision": "accepted"},
                     headers=people.admin_a)
    assert ok.status_code == 201, ok.json
