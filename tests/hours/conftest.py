"""Fixtures for the service-hours tests: the demo district's policy, the people of the flow, a movable clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from tests.clock import Clock
from timebank.demo import COLOURS
from timebank.people import security
from timebank.people.models import Role


@dataclass
class People:
    tree: object
    admin_a: dict
    admin_b: dict
    worker_a: dict
    resident: dict
    resident_id: int
    vol1: dict
    vol1_id: int
    vol2: dict
    vol2_id: int
    vol3: dict
    vol3_id: int


@pytest.fixture
def hours(app, session, tree, make_person) -> People:
    tree.district.settings = {"categories": COLOURS, "points_per_hour": 10, "daily_minutes_cap": 480}
    session.commit()

    def h(person):
        return {"Authorization": "Bearer " + security.issue_token(app.config["SECRET_KEY"], person.id,
                                                                  person.token_version)}

    admin_a = make_person("幸福社区管理员", tree.community_a, roles=((Role.community_admin, tree.community_a),))
    admin_b = make_person("和谐社区管理员", tree.community_b, roles=((Role.community_admin, tree.community_b),))
    worker_a = make_person("网格员小周", tree.grid_a, roles=((Role.grid_worker, tree.grid_a),))
    resident = make_person("李奶奶", tree.grid_a)
    vols = [make_person(n, tree.grid_a) for n in ("张伟", "王芳", "李娜")]
    return People(tree, h(admin_a), h(admin_b), h(worker_a), h(resident), resident.id,
                  h(vols[0]), vols[0].id, h(vols[1]), vols[1].id, h(vols[2]), vols[2].id)


def iso(at: datetime) -> str:
    return at.isoformat()


def publish(client, people: People, clock: Clock, *, slots: int = 2, need_id: int | None = None,
            starts_in: timedelta = timedelta(hours=2), hours_long: int = 2, org=None, headers=None, **extra) -> dict:
    start = clock.now + starts_in
    body = {"org_id": (org or people.tree.grid_a).id, "title": "为独居老人打扫卫生", "category": "金色助老",
            "place": "幸福小区3栋", "starts_at": iso(start), "ends_at": iso(start + timedelta(hours=hours_long)),
            "slots": slots, **extra}
    if need_id is not None:
        body["need_id"] = need_id
    resp = client.post("/api/tasks", json=body, headers=headers or people.admin_a)
    assert resp.status_code == 201, resp.json
    return resp.json


def token_for(client, people: People, task_id: int) -> str:
    resp = client.get(f"/api/tasks/{task_id}/checkin-token", headers=people.worker_a)
    assert resp.status_code == 200, resp.json
    return resp.json["token"]


def attend(client, people: People, clock: Clock, task: dict, headers: dict, *, minutes: int = 90) -> dict:
    """Claim-free helper: check in at the start and out `minutes` later, with fresh QR tokens."""
    clock.set(datetime.fromisoformat(task["starts_at"]))
    resp = client.post("/api/attendance/check-in", json={"token": token_for(client, people, task["id"])},
                       headers=headers)
    assert resp.status_code == 201, resp.json
    clock.advance(minutes=minutes)
    resp = client.post("/api/attendance/check-out", json={"token": token_for(client, people, task["id"])},
                       headers=headers)
    assert resp.status_code == 200, resp.json
    return resp.json
