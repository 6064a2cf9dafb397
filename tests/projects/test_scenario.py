"""The closed loop of the three lists, through the API: three needs → one 重点 project → claimed by a unit → two
tasks credited → accepted with satisfaction 4 → closed → in the unit's letter and its member's figures."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.hours.conftest import iso
from tests.projects.conftest import post_needs, project_body, serve
from timebank.extensions import db
from timebank.hours.models import Need
from timebank.notify.models import Notification
from timebank.projects import queries


def test_three_needs_become_a_key_project_a_unit_claims_works_and_the_community_accepts(
        client, session, world, clock, reported_unit, unit_member, run_jobs):
    p = world.people
    unit = reported_unit("市交通局")
    rival = reported_unit("市税务局")
    unit_member(p.vol1_id, unit.id)
    unit_member(p.vol2_id, unit.id)
    need_ids = post_needs(client, p, ["帮独居老人打扫卫生", "老人想理发", "想听健康讲座"])

    # 需求清单: the three needs are one group (same category, same grid).
    groups = client.get(f"/api/projects/need-groups?community_id={p.tree.community_a.id}", headers=p.admin_a)
    assert groups.status_code == 200
    assert [(g["category"], g["need_ids"]) for g in groups.json["items"]] == [("金色助老", need_ids)]
    assert client.get(f"/api/projects/need-groups?community_id={p.tree.community_a.id}",
                      headers=p.vol1).status_code == 403

    # 项目清单: one 重点 project from the group; the needs are answered.
    made = client.post("/api/projects", json=project_body(p.tree.community_a.id, need_ids), headers=p.admin_a)
    assert made.status_code == 201, made.json
    project = made.json
    assert (project["tier"], project["status"], project["category"]) == ("key", "open", "金色助老")
    assert {n.status.value for n in session.scalars(select(Need).where(Need.id.in_(need_ids)))} == {"accepted"}
    assert client.get(f"/api/projects/need-groups?community_id={p.tree.community_a.id}",
                      headers=p.admin_a).json["items"] == []
    listed = client.get("/api/projects", headers=p.vol1).json["items"]  # the published list of my community
    assert [(i["id"], i["claim"]) for i in listed] == [(project["id"], None)]

    # 资源清单: the units' offers suggested for what the project asks, the venue first for the venue line.
    sugg = client.get(f"/api/projects/{project['id']}/suggestions", headers=p.admin_a).json["items"]
    venue_line = next(s for s in sugg if s["line"]["kind"] == "venue")
    assert {s["unit"] for s in venue_line["suggestions"]} == {"市交通局", "市税务局"}
    assert all("活动室" in s["description"] and s["place"] == "本社区" for s in venue_line["suggestions"])
    arranged = client.put(f"/api/projects/{project['id']}/resources/{venue_line['line']['id']}",
                          json={"unit_resource_id": venue_line["suggestions"][0]["resource_id"]}, headers=p.admin_a)
    assert arranged.status_code == 200 and arranged.json["unit_resource_id"] is not None

    # 党组织认领: the unit claims; a double submit is the same claim; the rival unit is refused.
    url = f"/api/projects/{project['id']}/claim"
    claim = client.post(url, json={"kind": "unit", "employer_id": unit.id}, headers=unit.contact)
    assert claim.status_code == 201, claim.json
    assert (claim.json["claimant"], claim.json["status"]) == ("市交通局", "active")
    again = client.post(url, json={"kind": "unit", "employer_id": unit.id}, headers=unit.contact)
    assert again.status_code == 201 and again.json["id"] == claim.json["id"]
    lost = client.post(url, json={"kind": "unit", "employer_id": rival.id}, headers=rival.contact)
    assert (lost.status_code, lost.json["code"]) == (409, "project_taken")
    assert "已被其他组织认领" in lost.json["detail"]
    told = {(n.person_id, n.kind) for n in db.session.scalars(select(Notification))}
    assert (world.admin_a_id, "project.claimed") in told

    # Two tasks under the project, for the unit's members; both served, verified and credited.
    tasks = []
    for k in range(2):
        start = clock.now + timedelta(hours=2 + 3 * k)
        resp = client.post(f"/api/projects/{project['id']}/tasks", headers=p.admin_a, json={
            "title": f"助老服务第{k + 1}次", "starts_at": iso(start), "ends_at": iso(start + timedelta(hours=1)),
            "slots": 2, "org_id": p.tree.grid_a.id, "place": "幸福小区3栋"})
        assert resp.status_code == 201, resp.json
        assert (resp.json["eligibility"], resp.json["eligible_employer_id"]) == ("employer", unit.id)
        tasks.append(resp.json)
    assert client.get(f"/api/projects/{project['id']}", headers=p.vol1).json["status"] == "in_progress"
    told = [(n.person_id, n.body) for n in db.session.scalars(select(Notification).where(
        Notification.kind == "project.task"))]
    assert sorted(pid for pid, _ in told) == sorted([p.vol1_id, p.vol1_id, p.vol2_id, p.vol2_id])  # unit members
    assert all("独居老人助老服务项目" in body and "幸福小区3栋" in body for _pid, body in told)
    for task in tasks:
        assert client.post(f"/api/tasks/{task['id']}/claims", headers=p.vol1).status_code == 201
    assert client.post(f"/api/tasks/{tasks[0]['id']}/claims", headers=p.vol3).status_code == 403  # not the unit's
    early = client.post(f"/api/projects/{project['id']}/acceptance", json={"satisfaction": 5}, headers=p.admin_a)
    assert (early.status_code, early.json["code"]) == (422, "project_tasks_running")
    for task in tasks:
        serve(client, p, clock, task, p.vol1)
    run_jobs()
    detail = client.get(f"/api/projects/{project['id']}", headers=p.admin_a).json
    assert detail["progress"] == {"tasks": 2, "needs": 3, "minutes": 120, "points": 20, "volunteers": 1}
    assert [n["id"] for n in detail["needs"]] == need_ids

    # Accepted with the residents' satisfaction, then closed; the needs follow.
    clock.advance(hours=1)
    for bad in (0, 6, "好", None):
        assert client.post(f"/api/projects/{project['id']}/acceptance", json={"satisfaction": bad},
                           headers=p.admin_a).status_code == 422
    assert client.post(f"/api/projects/{project['id']}/acceptance", json={"satisfaction": 4},
                       headers=unit.contact).status_code == 403
    accepted = client.post(f"/api/projects/{project['id']}/acceptance",
                           json={"satisfaction": 4, "note": "居民反映很好"}, headers=p.admin_a)
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"
    assert {n.status.value for n in session.scalars(select(Need).where(Need.id.in_(need_ids)))} == {"fulfilled"}
    closed = client.post(f"/api/projects/{project['id']}/close", headers=p.admin_a)
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    session.expire_all()
    assert {n.status.value for n in session.scalars(select(Need).where(Need.id.in_(need_ids)))} == {"closed"}
    told = {(n.person_id, n.kind) for n in db.session.scalars(select(Notification))}
    assert (unit.contact_id, "project.accepted") in told

    # Into the appraisal: the unit's letter lists the project; the member's figures count their part.
    served_on = clock.now.date()
    section = queries.letter_section(session, unit.id, district_path=p.tree.district.path,
                                     starts_on=served_on - timedelta(days=30), ends_on=served_on + timedelta(days=1))
    assert [(x["title"], x["tier"], x["status"], x["satisfaction"], x["minutes"]) for x in section["projects"]] == [
        ("独居老人助老服务项目", "key", "closed", 4, 120)]
    assert section["projects_accepted"] == 1
    part = queries.member_part(session, [p.vol1_id, p.vol2_id], served_on - timedelta(days=30),
                               served_on + timedelta(days=1))
    assert part[p.vol1_id]["projects"] == 1 and part[p.vol1_id]["project_minutes"] == 120
    assert part[p.vol2_id]["projects"] == 0
