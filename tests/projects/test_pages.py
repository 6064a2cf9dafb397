"""The project pages without a browser: the three lists and a project's page in /console, claims in /app (a team's
leader, a party branch's member) and /employer (a unit's contact). Each page speaks Chinese to the right role and
refuses the wrong one; a claim form sent twice makes one claim; a refusal reads as its Chinese message; the project
list reads the same number of queries whatever its length."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from tests.projects.conftest import post_needs, project_body
from timebank.clock import local_today
from timebank.extensions import db
from timebank.hours import needs
from timebank.hours.models import NeedKind
from timebank.people import orgs
from timebank.people import persons as people
from timebank.people.access import SYSTEM, load_person_actor
from timebank.people.models import PartyMemberStatus, Role
from timebank.projects import projects
from timebank.projects.models import ClaimantKind, Project, ProjectClaim, ProjectResource, ProjectTier
from timebank.teams import teams

PASSWORD = "project-pass-1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def login(app, area: str, phone: str):
    """A fresh browser-like client signed in to `area`: (client, csrf token)."""
    client = app.test_client()
    token = CSRF.search(client.get(f"/{area}/login").get_data(as_text=True)).group(1)
    resp = client.post(f"/{area}/login", data={"csrf_token": token, "phone": phone, "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client, CSRF.search(client.get(resp.headers["Location"]).get_data(as_text=True)).group(1)


def flashed(client, resp) -> str:
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return client.get(resp.headers["Location"]).get_data(as_text=True)


@pytest.fixture
def staff(world, make_person):
    """Page logins: 幸福社区's admin, 和谐社区's admin, the district's auditor, a plain volunteer of 幸福社区."""
    t = world.people.tree
    return {
        "admin": make_person("幸福社区书记", t.community_a, PASSWORD, ((Role.community_admin, t.community_a),)),
        "other_admin": make_person("和谐社区书记", t.community_b, PASSWORD, ((Role.community_admin, t.community_b),)),
        "auditor": make_person("区审计员", t.district, PASSWORD, ((Role.auditor, t.district),)),
        "volunteer": make_person("赵敏", t.grid_a, PASSWORD),
        "neighbour": make_person("钱多", t.community_b, PASSWORD),
    }


@pytest.fixture
def contact_of(session, make_person):
    """A contact with a password for a unit made by `reported_unit` (its own contact has none)."""

    def make(unit, name: str):
        person = make_person(name, password=PASSWORD)
        people.grant(session, None, person, Role.employer_contact, employer_id=unit.id)
        session.commit()
        return person

    return make


def _project(client, world, need_titles=("帮独居老人打扫卫生", "老人想理发"), **extra) -> dict:
    p = world.people
    ids = post_needs(client, p, list(need_titles))
    made = client.post("/api/projects", json=project_body(p.tree.community_a.id, ids, **extra), headers=p.admin_a)
    assert made.status_code == 201, made.json
    return made.json


def test_the_admin_designs_a_project_from_a_need_group_and_arranges_a_resource(
        app, client, session, world, staff, reported_unit):
    p = world.people
    reported_unit("市交通局")
    ids = post_needs(client, p, ["帮独居老人打扫卫生", "老人想理发", "想听健康讲座"])
    admin, token = login(app, "console", staff["admin"].phone)

    lists = admin.get(f"/console/lists?community_id={p.tree.community_a.id}").get_data(as_text=True)
    assert "需求清单" in lists and "金色助老" in lists and "老人想理发" in lists
    assert f'data-need-ids="{",".join(map(str, ids))}"' in lists and "设计项目" in lists
    resources = admin.get("/console/lists?list=resources&kind=venue").get_data(as_text=True)
    assert "三楼党员活动室" in resources and "市交通局" in resources and "退休医生义诊" not in resources

    form = admin.get(f"/console/projects/new?community_id={p.tree.community_a.id}&need_ids={ids[0]},{ids[1]}")
    page = form.get_data(as_text=True)
    assert form.status_code == 200 and "设计服务项目" in page and "重点项目" in page
    assert f'value="{ids[0]}" checked' in page and f'value="{ids[2]}" checked' not in page

    start, end = local_today(), local_today() + timedelta(days=180)
    body = {"csrf_token": token, "community_id": p.tree.community_a.id, "title": "独居老人助老服务项目",
            "tier": "key", "goal": "每月上门清洁、理发", "starts_on": start.isoformat(), "ends_on": end.isoformat(),
            "budget_hours": "20.5", "budget_points": "300", "place": "幸福小区",
            "resource_kind": ["venue", "skill", ""], "resource_description": ["助老讲座活动室", "理发助老", ""],
            "need_ids": [str(i) for i in ids]}
    made = admin.post("/console/projects/new", data=body)
    detail = flashed(admin, made)
    assert "已设计项目「独居老人助老服务项目」" in detail and "待认领" in detail and "重点项目" in detail
    assert "20.5 小时" in detail and "300 分" in detail and "想听健康讲座" in detail
    project = session.scalars(select(Project)).one()
    assert (project.budget_minutes, project.budget_points, project.place) == (1230, 300, "幸福小区")

    # 对接: the unit's venue is suggested for the venue line; the admin arranges it.
    venue = session.scalars(select(ProjectResource).where(ProjectResource.project_id == project.id,
                                                          ProjectResource.kind == "venue")).one()
    assert "三楼党员活动室" in detail and "对接" in detail
    offered = re.search(rf'data-line-id="{venue.id}".*?name="unit_resource_id" value="(\d+)"', detail, re.S)
    done = admin.post(f"/console/projects/{project.id}/resources/{venue.id}",
                      data={"csrf_token": token, "unit_resource_id": offered.group(1)})
    assert "已对接该资源" in flashed(admin, done) and "已对接：市交通局" in admin.get(
        f"/console/projects/{project.id}").get_data(as_text=True)

    listed = admin.get("/console/projects").get_data(as_text=True)
    assert f'data-project-id="{project.id}"' in listed and "项目清单" in listed and "幸福社区" in listed
    assert f'data-project-id="{project.id}"' not in admin.get("/console/projects?status=closed").get_data(
        as_text=True)
    assert f'data-project-id="{project.id}"' in admin.get("/console/projects?tier=key&status=open").get_data(
        as_text=True)
    assert admin.get("/console/lists?community_id=" + str(p.tree.community_a.id)).get_data(
        as_text=True).count("设计项目") == 0  # the group went into the project
    session.rollback()


def test_a_refused_form_shows_the_rule_in_chinese_and_keeps_what_was_typed(app, client, session, world, staff):
    p = world.people
    ids = post_needs(client, p, ["老人想理发"])
    admin, token = login(app, "console", staff["admin"].phone)
    today = local_today().isoformat()
    base = {"csrf_token": token, "community_id": p.tree.community_a.id, "title": "理发助老", "tier": "basic",
            "goal": "每月理发", "starts_on": today, "ends_on": today, "budget_hours": "", "budget_points": ""}
    none = admin.post("/console/projects/new", data=base)
    assert none.status_code == 422 and "请至少选择一条居民需求" in none.get_data(as_text=True)
    assert 'value="理发助老"' in none.get_data(as_text=True)
    bad_hours = admin.post("/console/projects/new", data={**base, "budget_hours": "很多", "need_ids": ids})
    assert bad_hours.status_code == 422 and "时长预算须是" in bad_hours.get_data(as_text=True)
    bad_date = admin.post("/console/projects/new", data={**base, "starts_on": "明天", "need_ids": ids})
    assert "请填写项目周期的开始和结束日期" in bad_date.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(Project)) == 0

    project = _project(client, world, ("帮独居老人打扫卫生",))
    claimant = client.post(f"/api/projects/{project['id']}/claim", json={"kind": "team", "team_id": _team(
        session, world, staff["volunteer"])}, headers=p.admin_a)
    assert claimant.status_code == 201, claimant.json
    late = (local_today() + timedelta(days=400)).isoformat()
    refused = admin.post(f"/console/projects/{project['id']}/tasks", data={
        "csrf_token": token, "title": "上门打扫", "starts_at": f"{late}T09:00", "ends_at": f"{late}T11:00",
        "slots": "3", "place": ""})
    assert "任务须在项目周期" in flashed(admin, refused)
    early = admin.post(f"/console/projects/{project['id']}/acceptance", data={"csrf_token": token,
                                                                              "satisfaction": "4"})
    assert "只有实施中的项目才能验收" in flashed(admin, early)
    assert "群众满意度须为 1 至 5 分" in flashed(admin, admin.post(
        f"/console/projects/{project['id']}/acceptance", data={"csrf_token": token, "satisfaction": "9"}))

    # 取消: the shared confirmation page first, with the reason; then the needs go back on the list.
    confirm = admin.post(f"/console/projects/{project['id']}/cancel", data={"csrf_token": token,
                                                                           "reason": "队伍人手不足"})
    page = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "请确认：取消项目" in page and "队伍人手不足" in page and "先锋队" in page
    done = admin.post(f"/console/projects/{project['id']}/cancel", data={"csrf_token": token, "confirmed": "1",
                                                                        "reason": "队伍人手不足"})
    assert "项目已取消" in flashed(admin, done)
    assert "帮独居老人打扫卫生" in admin.get("/console/lists").get_data(as_text=True)
    session.rollback()


def _team(session, world, leader) -> int:
    t = world.people.tree
    team = teams.create(session, SYSTEM, community_id=t.community_a.id, name="先锋队", leader_id=leader.id)
    session.commit()
    return team.id


def test_each_page_refuses_the_wrong_role_or_scope(app, client, session, world, staff, reported_unit, contact_of):
    project = _project(client, world)
    url = f"/console/projects/{project['id']}"
    volunteer, _ = login(app, "app", staff["volunteer"].phone)
    for path in ("/console/projects", "/console/lists", url, "/console/projects/new", "/employer/projects"):
        resp = volunteer.get(path)
        assert resp.status_code == 403 and "没有权限" in resp.get_data(as_text=True), path

    other, token = login(app, "console", staff["other_admin"].phone)
    assert other.get(url).status_code == 403
    assert f'data-project-id="{project["id"]}"' not in other.get("/console/projects").get_data(as_text=True)
    assert other.get(f"/console/projects/new?community_id={world.people.tree.community_a.id}").status_code == 403
    assert "该记录不在您的管辖范围内" in flashed(other, other.post(f"{url}/close", data={"csrf_token": token}))

    auditor, _ = login(app, "console", staff["auditor"].phone)
    page = auditor.get(url).get_data(as_text=True)
    assert "独居老人助老服务项目" in page and "取消项目" not in page and 'name="unit_resource_id"' not in page
    assert "设计项目" not in auditor.get("/console/lists").get_data(as_text=True)
    assert auditor.get("/console/projects/new").status_code == 403

    neighbour, _ = login(app, "app", staff["neighbour"].phone)  # lives in 和谐社区
    assert neighbour.get(f"/app/projects/{project['id']}").status_code == 403
    assert f'data-project-id="{project["id"]}"' not in neighbour.get("/app/projects").get_data(as_text=True)
    unit = reported_unit("市交通局", world.people.tree.community_b)  # reported in to the other community
    contact, token = login(app, "employer", contact_of(unit, "交通局书记").phone)
    page = contact.get("/employer/projects").get_data(as_text=True)
    assert "项目认领" in page and "独居老人助老服务项目" not in page
    refused = contact.post(f"/employer/projects/{project['id']}/claim", data={"csrf_token": token})
    assert "尚未到该社区报到" in flashed(contact, refused)
    session.rollback()


def test_a_unit_claims_once_from_a_double_submitted_form_and_a_rival_is_told_in_chinese(
        app, client, session, world, reported_unit, contact_of):
    project = _project(client, world)
    unit, rival = reported_unit("市交通局"), reported_unit("市税务局")
    contact, token = login(app, "employer", contact_of(unit, "交通局书记").phone)
    page = contact.get("/employer/projects").get_data(as_text=True)
    assert "待认领的项目" in page and "独居老人助老服务项目" in page and "以本单位名义认领" in page
    for _ in range(2):
        resp = contact.post(f"/employer/projects/{project['id']}/claim", data={"csrf_token": token})
        assert "已以市交通局的名义认领该项目" in flashed(contact, resp)
    assert session.scalar(select(func.count()).select_from(ProjectClaim)) == 1
    page = contact.get("/employer/projects").get_data(as_text=True)
    own = page.split('id="own-projects"')[1].split('id="open-projects"')[0]
    assert "独居老人助老服务项目" in own and "已认领" in own and "任务 0 个" in own and "撤回认领" in own

    other, other_token = login(app, "employer", contact_of(rival, "税务局书记").phone)
    lost = other.post(f"/employer/projects/{project['id']}/claim", data={"csrf_token": other_token})
    assert "该项目已被其他组织认领" in flashed(other, lost)
    taken_back = other.post(f"/employer/projects/{project['id']}/withdraw", data={"csrf_token": other_token})
    assert "这是其他单位的记录" in flashed(other, taken_back)
    assert session.scalar(select(func.count()).select_from(ProjectClaim)) == 1

    back = contact.post(f"/employer/projects/{project['id']}/withdraw", data={"csrf_token": token})
    assert "已撤回认领" in flashed(contact, back)
    session.rollback()
    assert db.session.get(Project, project["id"]).status == "open"
    session.rollback()


def test_a_team_leader_and_a_party_member_claim_for_their_organisation_in_the_app(
        app, client, session, world, staff, make_person):
    p = world.people
    leader = make_person("孙队长", p.tree.grid_a, PASSWORD)
    team_id = _team(session, world, leader)
    branch = orgs.create_branch(session, SYSTEM, name="幸福社区第一党支部", org_id=p.tree.community_a.id)
    member = make_person("周党员", p.tree.grid_a, PASSWORD)
    people.register_party_member(session, None, member, status=PartyMemberStatus.retired, employer_id=None,
                                 branch_id=branch.id)
    session.commit()
    first, second = _project(client, world), _project(client, world, ("想学智能手机",), title="智能手机课堂")

    app_leader, token = login(app, "app", leader.phone)
    listed = app_leader.get("/app/projects").get_data(as_text=True)
    assert "服务项目" in listed and "独居老人助老服务项目" in listed and "智能手机课堂" in listed
    page = app_leader.get(f"/app/projects/{first['id']}").get_data(as_text=True)
    assert "以「先锋队」（志愿服务队）的名义认领" in page and "党支部" not in page
    done = app_leader.post(f"/app/projects/{first['id']}/claim",
                           data={"csrf_token": token, "kind": "team", "org_id": team_id})
    page = flashed(app_leader, done)
    assert "已以「先锋队」的名义认领该项目" in page and "撤回认领" in page
    forged = app_leader.post(f"/app/projects/{second['id']}/claim",
                             data={"csrf_token": token, "kind": "branch", "org_id": branch.id})
    assert "该记录不在您的管辖范围内" in flashed(app_leader, forged)  # not a member of that branch
    assert session.scalar(select(ProjectClaim.id).where(ProjectClaim.project_id == second["id"])) is None
    back = app_leader.post(f"/app/projects/{first['id']}/withdraw", data={"csrf_token": token})
    assert "已撤回认领" in flashed(app_leader, back)

    volunteer, _ = login(app, "app", staff["volunteer"].phone)
    assert "的名义认领" not in volunteer.get(f"/app/projects/{first['id']}").get_data(as_text=True)

    party, party_token = login(app, "app", member.phone)
    page = party.get(f"/app/projects/{second['id']}").get_data(as_text=True)
    assert "以「幸福社区第一党支部」（党支部）的名义认领" in page
    done = party.post(f"/app/projects/{second['id']}/claim",
                      data={"csrf_token": party_token, "kind": "branch", "org_id": branch.id})
    assert "已以「幸福社区第一党支部」的名义认领" in flashed(party, done)
    session.rollback()
    held = session.scalars(select(ProjectClaim).where(ProjectClaim.status == "active")).one()
    assert (held.project_id, held.kind, held.branch_id) == (second["id"], "branch", branch.id)
    session.rollback()


def test_the_project_list_reads_one_query_per_kind_of_fact(app, client, session, world, staff, reported_unit):
    p = world.people
    unit = reported_unit("市交通局")
    admin, _ = login(app, "console", staff["auditor"].phone)
    actor = load_person_actor(session, people.get(session, p.resident_id))

    def grow(n: int) -> None:
        as_admin = load_person_actor(session, staff["admin"])
        for k in range(n):
            need = needs.post(session, actor, kind=NeedKind.request, org_id=p.tree.grid_a.id, title=f"需求{k}",
                              category="金色助老")
            made = projects.create(session, as_admin, community_id=p.tree.community_a.id, title=f"项目{k}",
                                   tier=ProjectTier.basic, goal="目标", starts_on=local_today(),
                                   ends_on=local_today(), budget_minutes=0, budget_points=0, need_ids=[need.id])
            if k % 2:
                projects.claim(session, load_person_actor(session, people.get(session, unit.contact_id)), made.id,
                               kind=ClaimantKind.unit, employer_id=unit.id)
        session.commit()

    def count(path: str, via=None, headers=None) -> int:
        seen = []
        listen = lambda *args: seen.append(args[2])  # noqa: E731 - the statement of each execute
        event.listen(db.engine, "before_cursor_execute", listen)
        try:
            assert (via or admin).get(path, headers=headers).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", listen)
        return len(seen)

    api = f"/api/projects?org_id={p.tree.district.id}"  # the API's page carries each project's resource lines
    grow(2)
    few, few_api = count("/console/projects"), count(api, client, p.vol1)
    grow(10)
    assert count("/console/projects") == few
    assert count(api, client, p.vol1) == few_api
    assert admin.get("/console/projects").get_data(as_text=True).count("市交通局（单位党组织）") == 6
    session.rollback()


def test_bad_input_gets_a_chinese_answer_never_a_500(app, client, session, world, staff, reported_unit):
    project = _project(client, world)
    p = world.people
    team_id = _team(session, world, staff["volunteer"])
    assert client.post(f"/api/projects/{project['id']}/claim", json={"kind": "team", "team_id": team_id},
                       headers=p.admin_a).status_code == 201
    admin, token = login(app, "console", staff["admin"].phone)
    huge = "9" * 30
    for path in (f"/console/projects/{huge}", f"/console/projects?before={huge}", "/console/projects?before=x",
                 "/console/projects?status=nonsense&tier=%E9%87%8D", "/console/lists?list=x&kind=x",
                 f"/console/projects/new?need_ids=a,{huge},-1&community_id=x", "/console/projects/new?community_id=0"):
        resp = admin.get(path)
        assert resp.status_code in (200, 404, 422), (path, resp.status_code)
        assert "爱心银行" in resp.get_data(as_text=True)
    url = f"/console/projects/{project['id']}"
    for data in ({"unit_resource_id": huge}, {"unit_resource_id": "²"}):
        line = session.scalars(select(ProjectResource.id).where(ProjectResource.project_id == project["id"])).first()
        assert admin.post(f"{url}/resources/{line}", data={"csrf_token": token, **data}).status_code == 302
    for starts in ("0001-01-01T00:00", "2026-02-30T09:00", ""):
        resp = admin.post(f"{url}/tasks", data={"csrf_token": token, "title": "打扫", "starts_at": starts,
                                                "ends_at": "2099-01-01T10:00", "slots": "2"})
        assert "请完整填写开始时间" in flashed(admin, resp)
    resp = admin.post(f"{url}/tasks", data={"csrf_token": token, "title": "打扫", "starts_at": "2099-01-01T09:00",
                                            "ends_at": "2099-01-01T10:00", "slots": "²"})
    assert "请完整填写开始时间" in flashed(admin, resp)
    new = admin.post("/console/projects/new", data={
        "csrf_token": token, "community_id": huge, "title": "x", "tier": "basic", "goal": "x",
        "starts_on": "2026-01-01", "ends_on": "2026-01-02", "budget_points": "²"})
    assert new.status_code == 422 and "积分预算须是" in new.get_data(as_text=True)
    volunteer, vtoken = login(app, "app", staff["volunteer"].phone)
    for data in ({"kind": "team", "org_id": huge}, {"kind": "nonsense", "org_id": "1"}):
        resp = volunteer.post(f"/app/projects/{project['id']}/claim", data={"csrf_token": vtoken, **data})
        assert resp.status_code in (302, 403), resp.status_code
    session.rollback()
