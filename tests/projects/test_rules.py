"""Projects' rules through the API: who may make and claim what, budgets and periods, cancelling and withdrawing,
claims by a party branch and by a team, and bad input refused in Chinese with nothing half-written."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.conftest import bearer
from tests.hours.conftest import iso
from tests.projects.conftest import post_needs, project_body
from timebank.hours.models import Need, Task
from timebank.people import orgs
from timebank.people import persons as people
from timebank.people.access import SYSTEM
from timebank.people.models import PartyMemberStatus
from timebank.teams import teams


@pytest.fixture
def made(client, world):
    """An open 重点 project of 幸福社区 made from two needs: (project json, need ids)."""
    p = world.people
    need_ids = post_needs(client, p, ["打扫卫生", "代买药品"])
    resp = client.post("/api/projects", json=project_body(p.tree.community_a.id, need_ids), headers=p.admin_a)
    assert resp.status_code == 201, resp.json
    return resp.json, need_ids


def _task_body(clock, hours_from_now=2, slots=2, length=1, **extra):
    start = clock.now + timedelta(hours=hours_from_now)
    return {"title": "项目服务", "starts_at": iso(start), "ends_at": iso(start + timedelta(hours=length)),
            "slots": slots, **extra}


def test_who_may_make_a_project_and_from_which_needs(client, world, session):
    p = world.people
    mine = post_needs(client, p, ["老人助浴"])
    theirs = post_needs(client, p, ["修水管"], org=p.tree.grid_b)
    body = project_body(p.tree.community_a.id, mine)
    for headers in (p.vol1, p.resident, p.worker_a, p.admin_b):
        assert client.post("/api/projects", json=body, headers=headers).status_code == 403
    other = client.post("/api/projects", json=project_body(p.tree.community_a.id, mine + theirs), headers=p.admin_a)
    assert (other.status_code, other.json["code"]) == (422, "need_other_community")
    assert other.json["detail"] == "所选需求须都属于本社区。"
    grid = client.post("/api/projects", json=project_body(p.tree.grid_a.id, mine), headers=p.admin_a)
    assert grid.status_code == 422 and "社区" in grid.json["detail"]
    assert session.scalar(select(func.count()).select_from(Need).where(Need.status == "accepted")) == 0
    assert client.post("/api/projects", json=body, headers=world.street_admin).status_code == 201  # above it
    again = client.post("/api/projects", json=body, headers=p.admin_a)
    assert (again.status_code, again.json["code"]) == (409, "project_need_taken")
    assert "老人助浴" in again.json["detail"]


@pytest.mark.parametrize("change, code", [
    ({"need_ids": []}, "validation_failed"),
    ({"need_ids": list(range(1, 60))}, "validation_failed"),
    ({"tier": "gold"}, "validation_failed"),
    ({"title": "长" * 121}, "validation_failed"),
    ({"title": "   "}, "project_field_required"),
    ({"budget_points": -1}, "validation_failed"),
    ({"budget_minutes": 10**12}, "validation_failed"),
    ({"ends_on": "2001-01-01"}, "project_period"),
    ({"starts_on": "2099-01-01"}, "project_period"),
    ({"resources": [{"kind": "spaceship", "description": "飞船"}]}, "validation_failed"),
    ({"resources": [{"kind": "venue", "description": ""}]}, "validation_failed"),
    ({"need_ids": [987654321]}, "project_need_missing"),
    ({"community_id": 987654321}, "org_not_found"),
    ({"category": "不存在的类别"}, "unknown_category"),
])
def test_bad_project_input_is_refused_in_chinese_and_nothing_is_written(client, world, session, change, code):
    p = world.people
    need_ids = post_needs(client, p, ["陪老人就医"])
    body = {**project_body(p.tree.community_a.id, need_ids), **change}
    resp = client.post("/api/projects", json=body, headers=p.admin_a)
    assert 400 <= resp.status_code < 500 and resp.json["code"] == code, resp.json
    assert any("\u4e00" <= ch <= "\u9fff" for ch in resp.json["detail"])
    assert client.get("/api/projects", headers=p.admin_a).json["items"] == []
    session.rollback()
    assert session.get(Need, need_ids[0]).status == "open"


def test_unit_claims_need_a_report_in_and_the_units_own_contact(client, world, made, make_unit, reported_unit):
    p = world.people
    project, _ = made
    url = f"/api/projects/{project['id']}/claim"
    stranger, _c, stranger_h = make_unit("未报到单位")
    unit = reported_unit("市交通局")
    assert client.post(url, json={"kind": "unit", "employer_id": unit.id}, headers=stranger_h).status_code == 403
    assert client.post(url, json={"kind": "unit", "employer_id": unit.id}, headers=p.vol1).status_code == 403
    late = client.post(url, json={"kind": "unit", "employer_id": stranger.id}, headers=stranger_h)
    assert (late.status_code, late.json["code"]) == (422, "unit_not_reported_in")
    assert "报到" in late.json["detail"]
    mixed = client.post(url, json={"kind": "unit", "employer_id": unit.id, "team_id": 1}, headers=unit.contact)
    assert (mixed.status_code, mixed.json["code"]) == (422, "project_claimant")
    assert client.post("/api/projects/987654/claim", json={"kind": "unit", "employer_id": unit.id},
                       headers=unit.contact).status_code == 404


def test_withdraw_before_work_and_cancel_give_the_project_and_needs_back(client, world, made, reported_unit, clock,
                                                                         session):
    p = world.people
    project, need_ids = made
    first, second = reported_unit("市交通局"), reported_unit("市税务局")
    url = f"/api/projects/{project['id']}"
    assert client.post(f"{url}/claim", json={"kind": "unit", "employer_id": first.id},
                       headers=first.contact).status_code == 201
    assert client.post(f"{url}/claim/withdraw", headers=second.contact).status_code == 403
    back = client.post(f"{url}/claim/withdraw", headers=first.contact)
    assert back.status_code == 200 and back.json["status"] == "withdrawn"
    assert client.get(url, headers=p.vol1).json["status"] == "open"
    assert client.post(f"{url}/claim", json={"kind": "unit", "employer_id": second.id},
                       headers=second.contact).status_code == 201
    assert client.post(f"{url}/cancel", json={"reason": ""}, headers=p.admin_a).status_code == 422
    assert client.post(f"{url}/cancel", json={"reason": "居民需求已由物业解决"}, headers=p.admin_b).status_code == 403
    cancelled = client.post(f"{url}/cancel", json={"reason": "居民需求已由物业解决"}, headers=p.admin_a)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    session.expire_all()
    assert {session.get(Need, n).status.value for n in need_ids} == {"open"}
    groups = client.get(f"/api/projects/need-groups?community_id={p.tree.community_a.id}", headers=p.admin_a).json
    assert sorted(sum((g["need_ids"] for g in groups["items"]), [])) == need_ids
    assert client.get("/api/projects", headers=p.vol1).json["items"] == []  # gone from the published list
    assert client.post(f"{url}/claim", json={"kind": "unit", "employer_id": first.id},
                       headers=first.contact).json["code"] == "project_state"
    remade = client.post("/api/projects", json=project_body(p.tree.community_a.id, need_ids), headers=p.admin_a)
    assert remade.status_code == 201  # the needs are free for a new project


def test_tasks_stay_inside_period_and_budget_and_only_after_a_claim(client, world, made, reported_unit, clock,
                                                                   session):
    p = world.people
    project, _ = made
    url = f"/api/projects/{project['id']}"
    early = client.post(f"{url}/tasks", json=_task_body(clock), headers=p.admin_a)
    assert (early.status_code, early.json["code"]) == (409, "project_state")
    unit = reported_unit()
    client.post(f"{url}/claim", json={"kind": "unit", "employer_id": unit.id}, headers=unit.contact)
    assert client.post(f"{url}/tasks", json=_task_body(clock), headers=unit.contact).status_code == 403
    tasks_before = session.scalar(select(func.count()).select_from(Task))
    over = client.post(f"{url}/tasks", json=_task_body(clock, slots=25), headers=p.admin_a)  # 1,500 > 1,200 min
    assert (over.status_code, over.json["code"]) == (422, "project_budget_exceeded")
    assert "超出预算" in over.json["detail"]
    outside = client.post(f"{url}/tasks", json=_task_body(clock, hours_from_now=24 * 400), headers=p.admin_a)
    assert outside.status_code == 422 and "项目周期" in outside.json["detail"]
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Task)) == tasks_before  # nothing half-written
    ok = client.post(f"{url}/tasks", json=_task_body(clock), headers=p.admin_a)
    assert ok.status_code == 201 and ok.json["scope"] == "organisation"
    assert client.post(f"{url}/claim/withdraw", headers=unit.contact).json["code"] == "project_state"
    assert client.post(f"{url}/cancel", json={"reason": "不做了"}, headers=p.admin_a).status_code == 409
    assert client.post(f"{url}/close", headers=p.admin_a).json["code"] == "project_state"


def test_a_party_branch_and_a_team_may_claim(client, app, world, session, make_person, clock):
    p = world.people
    branch = orgs.create_branch(session, SYSTEM, name="幸福社区第一党支部", org_id=p.tree.community_a.id)
    member = make_person("支部党员", p.tree.grid_a)
    people.register_party_member(session, None, member, status=PartyMemberStatus.registered, employer_id=None,
                                 branch_id=branch.id)
    leader = make_person("队长老陈", p.tree.grid_a)
    team = teams.create(session, SYSTEM, community_id=p.tree.community_a.id, name="银发先锋队", leader_id=leader.id)
    session.commit()
    first = post_needs(client, p, ["楼道清理"])
    second = post_needs(client, p, ["义诊"])
    a = client.post("/api/projects", json=project_body(p.tree.community_a.id, first, title="楼道清理"),
                    headers=p.admin_a).json
    b = client.post("/api/projects", json=project_body(p.tree.community_a.id, second, title="义诊"),
                    headers=p.admin_a).json
    assert client.post(f"/api/projects/{a['id']}/claim", json={"kind": "branch", "branch_id": branch.id},
                       headers=p.vol1).status_code == 403  # not of the branch
    by_branch = client.post(f"/api/projects/{a['id']}/claim", json={"kind": "branch", "branch_id": branch.id},
                            headers=bearer(app, member))
    assert by_branch.status_code == 201 and by_branch.json["claimant"] == "幸福社区第一党支部"
    assert client.post(f"/api/projects/{b['id']}/claim", json={"kind": "team", "team_id": team.id},
                       headers=p.vol1).status_code == 403  # not its leader
    by_team = client.post(f"/api/projects/{b['id']}/claim", json={"kind": "team", "team_id": team.id},
                          headers=bearer(app, leader))
    assert by_team.status_code == 201 and by_team.json["claimant"] == "银发先锋队"
    task = client.post(f"/api/projects/{a['id']}/tasks", json=_task_body(clock), headers=p.admin_a).json
    assert (task["eligibility"], task["eligible_branch_id"]) == ("branch", branch.id)
    held = client.get(f"/api/projects/claimed?team_id={team.id}", headers=bearer(app, leader)).json["items"]
    assert [i["id"] for i in held] == [b["id"]]
    assert client.get(f"/api/projects/claimed?team_id={team.id}", headers=p.vol1).status_code == 403
    # The published list is read by any volunteer, newest first.
    listed = client.get(f"/api/projects?org_id={p.tree.district.id}", headers=p.vol2).json["items"]
    assert [i["id"] for i in listed] == [b["id"], a["id"]]


def test_needs_in_a_project_are_due_when_the_project_ends_not_before(client, world, clock, session):
    """A project of a year answers its needs for that year: they are not overdue (nor escalated) after the
    category's 7 days, only once the project's period is over and they are still unfulfilled."""
    p = world.people
    need_ids = post_needs(client, p, ["长期陪伴独居老人"], category="橙色关爱")
    body = project_body(p.tree.community_a.id, need_ids)
    assert client.post("/api/projects", json=body, headers=p.admin_a).status_code == 201

    def overdue():
        items = client.get("/api/needs?overdue=true", headers=world.district_admin).json["items"]
        return [n["id"] for n in items]

    clock.advance(days=30)
    assert overdue() == []
    clock.advance(days=400)
    assert overdue() == need_ids
