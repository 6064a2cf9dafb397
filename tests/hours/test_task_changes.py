"""Editing and cancelling a task through the API: the same checks as publishing (one place), slots never below the
claims taken, times fixed once the task starts; cancelling releases the claims; the claimants read what changed
in their inbox; an admin of another community is refused. The hall lists only tasks not yet started."""

from __future__ import annotations

from datetime import timedelta

from tests.hours.conftest import iso, publish


def _notices(client, headers, kind: str) -> list[dict]:
    """The volunteer's inbox items of one kind."""
    resp = client.get("/api/me/notifications?limit=200", headers=headers)
    assert resp.status_code == 200, resp.json
    return [n for n in resp.json["items"] if n["kind"] == kind]


def test_publish_refuses_what_the_console_form_let_through(client, hours, clock):
    start = clock.now + timedelta(hours=2)
    base = {"org_id": hours.tree.grid_a.id, "title": "助老", "category": "金色助老", "place": "3 栋",
            "starts_at": iso(start), "ends_at": iso(start + timedelta(hours=1)), "slots": 2}
    cases = [({"slots": 0}, None), ({"slots": 99_999_999}, None), ({"title": "长" * 300}, None),
             ({"title": "   "}, "task_field_required"),
             ({"starts_at": iso(clock.now - timedelta(hours=1)), "ends_at": iso(clock.now + timedelta(hours=1))},
              "task_starts_in_past")]
    for change, code in cases:
        resp = client.post("/api/tasks", json=base | change, headers=hours.admin_a)
        assert resp.status_code == 422, (change, resp.json)
        if code:
            assert resp.json["code"] == code
            assert resp.json["detail"] and not resp.json["detail"].isascii()


def test_edit_tells_claimants_and_keeps_the_rules(client, session, hours, clock):
    task = publish(client, hours, clock, slots=3)
    assert client.post(f"/api/tasks/{task['id']}/claims", headers=hours.vol1).status_code == 201
    assert client.post(f"/api/tasks/{task['id']}/claims", headers=hours.vol2).status_code == 201

    later = clock.now + timedelta(hours=3)
    moved = {"place": "幸福小区5栋", "starts_at": iso(later), "ends_at": iso(later + timedelta(hours=2))}
    resp = client.patch(f"/api/tasks/{task['id']}", headers=hours.admin_a, json=moved)
    assert resp.status_code == 200, resp.json
    assert resp.json["place"] == "幸福小区5栋"
    for volunteer in (hours.vol1, hours.vol2):
        [notice] = _notices(client, volunteer, "task.changed")
        assert "幸福小区5栋" in notice["body"]
    assert _notices(client, hours.vol3, "task.changed") == []

    below = client.patch(f"/api/tasks/{task['id']}", headers=hours.admin_a, json={"slots": 1})
    assert below.status_code == 422 and below.json["code"] == "slots_below_claimed"
    assert "2 人" in below.json["detail"]
    empty = client.patch(f"/api/tasks/{task['id']}", headers=hours.admin_a, json={"title": ""})
    assert empty.status_code == 422 and empty.json["code"] == "task_field_required"
    other = client.patch(f"/api/tasks/{task['id']}", headers=hours.admin_b, json={"title": "改名"})
    assert other.status_code == 403 and other.json["code"] == "out_of_scope"
    volunteer = client.patch(f"/api/tasks/{task['id']}", headers=hours.vol1, json={"title": "改名"})
    assert volunteer.status_code == 403

    clock.set(later + timedelta(minutes=5))  # under way: words may change, times and slots may not
    moved = client.patch(f"/api/tasks/{task['id']}", headers=hours.admin_a, json={"slots": 5})
    assert moved.status_code == 422 and moved.json["code"] == "task_started"
    renamed = client.patch(f"/api/tasks/{task['id']}", headers=hours.admin_a, json={"title": "打扫卫生（二）"})
    assert renamed.status_code == 200


def test_cancel_releases_claims_and_tells_the_claimants(client, session, hours, clock):
    task = publish(client, hours, clock, slots=2)
    claim = client.post(f"/api/tasks/{task['id']}/claims", headers=hours.vol1).json
    other = client.post(f"/api/tasks/{task['id']}/cancel", headers=hours.admin_b, json={"reason": "下雨"})
    assert other.status_code == 403
    assert _notices(client, hours.vol1, "task.cancelled") == []

    resp = client.post(f"/api/tasks/{task['id']}/cancel", headers=hours.admin_a, json={"reason": "暴雨预警"})
    assert resp.status_code == 200 and resp.json["status"] == "cancelled" and resp.json["claimed"] == 0
    released = client.get(f"/api/claims/{claim['id']}", headers=hours.vol1).json
    assert released["status"] == "withdrawn"
    [notice] = _notices(client, hours.vol1, "task.cancelled")
    assert "暴雨预警" in notice["body"]
    again = client.post(f"/api/tasks/{task['id']}/cancel", headers=hours.admin_a)
    assert again.status_code == 409 and again.json["code"] == "task_state"
    edit = client.patch(f"/api/tasks/{task['id']}", headers=hours.admin_a, json={"title": "恢复"})
    assert edit.status_code == 409


def test_a_started_task_leaves_the_hall(client, hours, clock):
    soon = publish(client, hours, clock, starts_in=timedelta(minutes=30))
    later = publish(client, hours, clock, starts_in=timedelta(hours=5))
    ids = [t["id"] for t in client.get("/api/tasks", headers=hours.vol1).json["items"]]
    assert soon["id"] in ids and later["id"] in ids
    clock.advance(minutes=31)
    ids = [t["id"] for t in client.get("/api/tasks", headers=hours.vol1).json["items"]]
    assert soon["id"] not in ids and later["id"] in ids


def test_an_admin_closes_a_need_only_with_a_reason(client, hours):
    need = client.post("/api/needs", headers=hours.resident,
                       json={"org_id": hours.tree.grid_a.id, "title": "楼道灯坏了", "category": "红色先锋"}).json
    bare = client.post(f"/api/needs/{need['id']}/close", headers=hours.admin_a)
    assert bare.status_code == 422 and bare.json["code"] == "reason_required"
    other = client.post(f"/api/needs/{need['id']}/close", headers=hours.admin_b, json={"reason": "重复"})
    assert other.status_code == 403
    closed = client.post(f"/api/needs/{need['id']}/close", headers=hours.admin_a, json={"reason": "已由物业修好"})
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    assert closed.json["reject_reason"] == "已由物业修好"
    mine = client.post("/api/needs", headers=hours.resident,
                       json={"org_id": hours.tree.grid_a.id, "title": "想学智能手机"}).json
    assert client.post(f"/api/needs/{mine['id']}/close", headers=hours.resident).status_code == 200
