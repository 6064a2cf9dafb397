"""The whole path through the HTTP API, as the people would walk it:
resident posts → admin publishes → two volunteers claim → QR check-in/out → admin accepts one, rejects the
other → the worker credits → the balance shows it → the resident rates."""

from __future__ import annotations

from datetime import datetime, timedelta

from .conftest import publish, token_for


def test_need_to_rating_end_to_end(client, session, hours, clock, run_jobs):
    # 群众点单: the resident posts a micro-wish in her grid.
    resp = client.post("/api/needs", headers=hours.resident, json={
        "kind": "micro_wish", "org_id": hours.tree.grid_a.id, "title": "帮忙打扫房间", "category": "金色助老",
        "description": "腿脚不便,想请志愿者帮忙打扫", "wanted_by": (clock.now + timedelta(days=7)).date().isoformat()})
    assert resp.status_code == 201, resp.json
    need = resp.json
    assert need["status"] == "open" and need["requester_id"] == hours.resident_id

    # 社区派单: the community admin publishes it as a task with two slots.
    task = publish(client, hours, clock, slots=2, need_id=need["id"])
    assert task["points_per_hour"] == 10 and task["community_id"] == hours.tree.community_a.id
    assert client.get(f"/api/needs/{need['id']}", headers=hours.resident).json["status"] == "accepted"

    # 党员接单: two volunteers find it among the open tasks and claim it; the task is then full.
    listed = client.get(f"/api/tasks?community_id={hours.tree.community_a.id}&category=金色助老",
                        headers=hours.vol1).json["items"]
    assert [t["id"] for t in listed] == [task["id"]]
    for who in (hours.vol1, hours.vol2):
        assert client.post(f"/api/tasks/{task['id']}/claims", headers=who).status_code == 201
    assert client.get("/api/tasks", headers=hours.vol3).json["items"] == []
    assert client.get("/api/me/claims", headers=hours.vol1).json["items"][0]["task_id"] == task["id"]

    # 签到签退: the grid worker shows the rotating QR; both scan in at the start and out 95 minutes later.
    start = datetime.fromisoformat(task["starts_at"])
    clock.set(start - timedelta(minutes=5))
    token = token_for(client, hours, task["id"])
    for who in (hours.vol1, hours.vol2):
        resp = client.post("/api/attendance/check-in", json={"token": token}, headers=who)
        assert resp.status_code == 201, resp.json
    clock.set(start + timedelta(minutes=90))
    token = token_for(client, hours, task["id"])
    out = {}
    for name, who in (("vol1", hours.vol1), ("vol2", hours.vol2)):
        resp = client.post("/api/attendance/check-out", json={"token": token}, headers=who)
        assert resp.status_code == 200, resp.json
        assert resp.json["minutes"] == 95 and resp.json["status"] == "pending"
        out[name] = resp.json

    # 审核: the admin's queue holds both; she accepts one (trimmed to 90 min) and rejects the other.
    queue = client.get(f"/api/communities/{hours.tree.community_a.id}/verification-queue", headers=hours.admin_a)
    assert sorted(a["id"] for a in queue.json["items"]) == sorted(a["id"] for a in out.values())
    resp = client.post(f"/api/attendances/{out['vol1']['id']}/verification", headers=hours.admin_a,
                       json={"decision": "accepted", "minutes": 90})
    assert resp.status_code == 201, resp.json
    assert resp.json["points"] == 15 and resp.json["credited_at"] is None
    resp = client.post(f"/api/attendances/{out['vol2']['id']}/verification", headers=hours.admin_a,
                       json={"decision": "rejected", "reason": "现场未见本人"})
    assert resp.status_code == 201, resp.json
    assert client.get(f"/api/communities/{hours.tree.community_a.id}/verification-queue",
                      headers=hours.admin_a).json["items"] == []

    # 入账: the worker drains the outbox into the ledger; the balances show it.
    session.rollback()
    assert run_jobs() >= 1
    assert client.get("/api/me/points", headers=hours.vol1).json == {
        "minutes": {"posted": 90, "pending": 0, "available": 90},
        "points": {"posted": 15, "pending": 0, "available": 15}, "points_owed": 0}
    assert client.get("/api/me/points", headers=hours.vol2).json["points"]["available"] == 0
    mine = client.get("/api/me/hours", headers=hours.vol1).json
    assert mine["total_minutes"] == 90 and mine["items"][0]["category"] == "金色助老"
    verified = client.get(f"/api/attendances/{out['vol1']['id']}/verification", headers=hours.vol1).json
    assert verified["credited_at"] is not None
    board = client.get(f"/api/communities/{hours.tree.community_a.id}/honour-board?period={start.year}",
                       headers=hours.resident).json
    assert [row["person_id"] for row in board["items"]] == [hours.vol1_id]

    # 评价: the verified service fulfilled the need; the resident rates it, once.
    assert client.get(f"/api/needs/{need['id']}", headers=hours.resident).json["status"] == "fulfilled"
    resp = client.post(f"/api/needs/{need['id']}/rating", headers=hours.resident,
                       json={"stars": 5, "comment": "小张干活很细心"})
    assert resp.status_code == 201, resp.json
    again = client.post(f"/api/needs/{need['id']}/rating", headers=hours.resident, json={"stars": 1})
    assert again.status_code == 409 and again.json["code"] == "already_rated"
