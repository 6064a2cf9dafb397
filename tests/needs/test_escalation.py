"""Deadlines from district policy, overdue flags, escalation by a person and by the sweep (run twice: one step)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from timebank.extensions import db
from timebank.hours import escalation
from timebank.hours.models import Need, NeedEscalation
from timebank.notify.models import Notification
from timebank.workers.jobs.needs import escalate_overdue_needs


def post(client, headers, org, *, title="帮忙买药", category="金色助老", kind="request"):
    resp = client.post("/api/needs", json={"org_id": org.id, "title": title, "category": category, "kind": kind},
                       headers=headers)
    assert resp.status_code == 201, resp.json
    return resp.json


def ids(resp):
    assert resp.status_code == 200, resp.json
    return [n["id"] for n in resp.json["items"]]


def test_deadlines_come_from_the_category_policy_and_stay_when_policy_changes(client, world, clock, session):
    p = world.people
    old = post(client, p.resident, p.tree.grid_a)
    other = post(client, p.resident, p.tree.grid_a, category="红色先锋")
    assert old["respond_by"].startswith((clock.now + timedelta(hours=4)).isoformat()[:16])
    assert other["respond_by"].startswith((clock.now + timedelta(hours=24)).isoformat()[:16])
    assert other["fulfil_by"].startswith((clock.now + timedelta(days=7)).isoformat()[:16])
    assert old["overdue"] is None and old["handling_org_id"] == p.tree.grid_a.id
    session.rollback()
    p.tree.district.settings = {**p.tree.district.settings, "need_deadlines": {"*": {"respond_hours": 1}}}
    session.commit()
    again = client.get(f"/api/needs/{old['id']}", headers=p.admin_a).json
    assert again["respond_by"] == old["respond_by"]
    clock.advance(hours=5)
    flagged = client.get(f"/api/needs/{old['id']}", headers=p.admin_a).json
    assert flagged["overdue"] == "respond"


def test_a_malformed_policy_falls_back_to_defaults(session, world):
    world.people.tree.district.settings = {"need_deadlines": {"金色助老": {"respond_hours": "soon", "fulfil_days": -3}}}
    session.flush()
    policy = escalation.deadlines(session, world.people.tree.grid_a, "金色助老")
    assert (policy.respond_hours, policy.fulfil_days) == (24, 7)
    session.rollback()


def test_overdue_need_is_swept_up_once_and_the_receiving_admins_and_resident_are_told(client, world, clock, session,
                                                                                     app):
    p = world.people
    need = post(client, p.resident, p.tree.grid_a)
    fresh = post(client, p.resident, p.tree.grid_a, category="红色先锋", title="修水管")
    assert ids(client.get("/api/needs?overdue=true", headers=p.admin_a)) == []
    clock.advance(hours=5)
    assert ids(client.get("/api/needs?overdue=true", headers=p.admin_a)) == [need["id"]]
    assert ids(client.get("/api/needs?overdue=true", headers=p.admin_b)) == []

    session.rollback()
    assert escalate_overdue_needs() == 1
    assert escalate_overdue_needs() == 0  # the same clock: nothing more
    clock.advance(minutes=15)
    assert escalate_overdue_needs() == 0  # still not escalated twice for the same deadline
    steps = list(db.session.scalars(select(NeedEscalation).where(NeedEscalation.need_id == need["id"])))
    assert [(s.level, s.from_org_id, s.to_org_id, s.by_id, s.cause) for s in steps] == [
        (1, p.tree.grid_a.id, p.tree.community_a.id, None, "respond")]
    got = client.get(f"/api/needs/{need['id']}", headers=p.admin_a).json
    assert (got["handling_org_id"], got["escalation_level"]) == (p.tree.community_a.id, 1)
    assert ids(client.get("/api/needs?escalated_to_me=true", headers=p.admin_a)) == [need["id"]]
    assert ids(client.get("/api/needs?escalated_to_me=true", headers=p.admin_b)) == []
    assert fresh["id"] not in ids(client.get("/api/needs?overdue=true", headers=p.admin_a))
    kinds = {(n.person_id, n.kind) for n in db.session.scalars(select(Notification))}
    assert (p.resident_id, "need.escalated") in kinds
    assert (world.admin_a_id, "need.escalated_to_you") in kinds
    history = client.get(f"/api/needs/{need['id']}/escalations", headers=p.resident).json["items"]
    assert [(h["level"], h["by_id"], h["cause"]) for h in history] == [(1, None, "respond")]


def test_accepted_need_past_its_fulfilment_deadline_is_swept_again(client, world, clock, session):
    p = world.people
    need = post(client, p.resident, p.tree.grid_a)
    clock.advance(hours=5)
    session.rollback()
    assert escalate_overdue_needs() == 1
    start = clock.now + timedelta(days=1)
    resp = client.post("/api/tasks", json={
        "org_id": p.tree.grid_a.id, "title": "帮忙买药", "category": "金色助老", "place": "3栋",
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(), "slots": 1,
        "need_id": need["id"]}, headers=p.admin_a)
    assert resp.status_code == 201, resp.json
    got = client.get(f"/api/needs/{need['id']}", headers=p.admin_a).json
    assert got["status"] == "accepted" and got["responded_at"] is not None and got["overdue"] is None
    clock.advance(days=2)
    assert client.get(f"/api/needs/{need['id']}", headers=p.admin_a).json["overdue"] == "fulfil"
    session.rollback()
    assert escalate_overdue_needs() == 1
    assert escalate_overdue_needs() == 0
    got = client.get(f"/api/needs/{need['id']}", headers=p.admin_a).json
    assert (got["handling_org_id"], got["escalation_level"]) == (p.tree.street.id, 2)


def test_people_escalate_with_a_reason_one_level_where_they_handle_it(client, world, clock):
    p = world.people
    need = post(client, p.resident, p.tree.grid_a)
    url = f"/api/needs/{need['id']}/escalations"
    assert client.post(url, json={"reason": ""}, headers=p.worker_a).status_code == 422
    assert client.post(url, json={"reason": "x" * 501}, headers=p.worker_a).status_code == 422
    assert client.post(url, json={"reason": "无法处理"}, headers=p.admin_b).json["code"] == "out_of_scope"
    assert client.post(url, json={"reason": "无法处理"}, headers=p.vol1).status_code == 403
    resp = client.post(url, json={"reason": "网格解决不了，需社区协调", "from_level": 0}, headers=p.worker_a)
    assert resp.status_code == 201, resp.json
    twice = client.post(url, json={"reason": "网格解决不了，需社区协调", "from_level": 0}, headers=p.admin_a)
    assert (twice.status_code, twice.json["code"]) == (409, "need_already_escalated")  # a second click: no step
    assert (resp.json["level"], resp.json["to_org_id"], resp.json["cause"]) == (1, p.tree.community_a.id, "manual")
    # Now at the community: the grid worker no longer handles it; the community admin sends it to the street.
    assert client.post(url, json={"reason": "再报"}, headers=p.worker_a).status_code == 403
    resp = client.post(url, json={"reason": "需街道协调"}, headers=p.admin_a)
    assert resp.status_code == 201 and resp.json["to_org_id"] == p.tree.street.id
    assert ids(client.get("/api/needs?escalated_to_me=true", headers=world.street_admin)) == [need["id"]]
    resp = client.post(url, json={"reason": "上交区级指挥中心"}, headers=world.street_admin)
    assert resp.status_code == 201 and resp.json["to_org_id"] == p.tree.district.id
    top = client.post(url, json={"reason": "再上报"}, headers=world.district_admin)
    assert (top.status_code, top.json["code"]) == (409, "need_at_top")
    history = client.get(url, headers=p.admin_a).json["items"]
    assert [h["level"] for h in history] == [1, 2, 3] and history[0]["reason"] == "网格解决不了，需社区协调"


def test_closed_needs_are_not_escalated_and_not_overdue(client, world, clock, session):
    p = world.people
    need = post(client, p.resident, p.tree.grid_a)
    assert client.post(f"/api/needs/{need['id']}/reject", json={"reason": "不属于服务范围"},
                       headers=p.admin_a).status_code == 200
    clock.advance(days=30)
    session.rollback()
    assert escalate_overdue_needs() == 0
    assert client.post(f"/api/needs/{need['id']}/escalations", json={"reason": "再看看"},
                       headers=p.admin_a).json["code"] == "need_state"
    row = db.session.get(Need, need["id"])
    assert row.responded_at is not None
    db.session.rollback()


def test_malformed_requests_are_4xx(client, world):
    p = world.people
    assert client.post("/api/needs/999999/escalations", json={"reason": "x"}, headers=p.admin_a).status_code == 404
    assert client.get("/api/needs?overdue=maybe", headers=p.admin_a).status_code == 422
    assert client.post("/api/needs/1/escalations", json={"reason": "x", "extra": 1},
                       headers=p.admin_a).status_code == 422
