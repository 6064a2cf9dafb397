"""Team pages without a browser: scope and refusals. A unit's contact forms and sees only the unit's teams; a member
who is not the leader cannot decide or claim from a forged form; another community's admin is refused."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from timebank.people import partners
from timebank.people import persons as people
from timebank.people.access import SYSTEM, load_person_actor
from timebank.people.credit_code import make
from timebank.people.models import Person, Role
from timebank.teams import teams
from timebank.teams.models import Team, TeamClaim, TeamMember

PASSWORD = "page-pass-1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def login(client, area: str, phone: str) -> str:
    token = CSRF.search(client.get(f"/{area}/login").get_data(as_text=True)).group(1)
    resp = client.post(f"/{area}/login", data={"csrf_token": token, "phone": phone, "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return CSRF.search(client.get(resp.headers["Location"]).get_data(as_text=True)).group(1)


@pytest.fixture
def world(session, tree, make_person):
    admin_a = make_person("幸福社区书记", tree.community_a, PASSWORD, ((Role.community_admin, tree.community_a),))
    admin_b = make_person("和谐社区书记", tree.community_b, PASSWORD, ((Role.community_admin, tree.community_b),))
    leader = make_person("张伟", tree.grid_a, PASSWORD)
    member = make_person("王芳", tree.grid_a, PASSWORD)
    hospital = partners.create_employer(session, SYSTEM, name="区人民医院", credit_code_value=make("12330100MB00000A2"),
                                        org_id=tree.district.id)
    school = partners.create_employer(session, SYSTEM, name="区实验小学", credit_code_value=make("12330100MB00000B2"),
                                      org_id=tree.district.id)
    secretary = make_person("医院书记", tree.grid_a, PASSWORD)
    people.grant(session, None, secretary, Role.employer_contact, employer_id=hospital.id)
    headmaster = make_person("学校书记", tree.grid_b, PASSWORD)
    people.grant(session, None, headmaster, Role.employer_contact, employer_id=school.id)
    actor = load_person_actor(session, admin_a)
    team = teams.create(session, actor, community_id=tree.community_a.id, name="先锋队", leader_id=leader.id)
    row = teams.apply(session, load_person_actor(session, member), team.id)
    teams.decide(session, actor, row.id, approve=True)
    ids = {"team": team.id, "hospital": hospital.id, "member_row": row.id}
    phones = {p.name: p.phone for p in (admin_a, admin_b, leader, member, secretary, headmaster)}
    session.commit()
    return {"ids": ids, "phones": phones}


def test_a_unit_forms_a_team_and_another_unit_does_not_see_it(client, session, tree, world):
    token = login(client, "employer", world["phones"]["医院书记"])
    resp = client.post("/employer/teams", data={
        "csrf_token": token, "community_id": tree.community_b.id, "name": "医院医护服务队", "kind": "professional",
        "profession": "medical", "leader_phone": world["phones"]["王芳"], "description": ""})
    assert resp.status_code == 302
    page = client.get("/employer/teams").get_data(as_text=True)
    assert "服务队已建立" in page and "医院医护服务队" in page and "和谐社区" in page
    session.rollback()
    made = session.scalar(select(Team).where(Team.name == "医院医护服务队"))
    assert made.employer_id == world["ids"]["hospital"] and made.org_id == tree.community_b.id

    other = client.application.test_client()
    login(other, "employer", world["phones"]["学校书记"])
    assert "医院医护服务队" not in other.get("/employer/teams").get_data(as_text=True)
    assert other.get(f"/employer/teams?employer_id={world['ids']['hospital']}").status_code == 403


def test_a_member_cannot_act_as_leader_from_a_forged_form(client, session, tree, world):
    from datetime import timedelta

    from timebank.db_base import utcnow
    from timebank.hours import tasks

    admin = session.scalar(select(Person).where(Person.name == "幸福社区书记"))
    start = utcnow() + timedelta(hours=3)
    task = tasks.publish(session, load_person_actor(session, admin), org_id=tree.community_a.id, title="义诊",
                         category="金色助老", place="卫生站", starts_at=start, ends_at=start + timedelta(hours=1),
                         slots=3)
    task_id = task.id
    session.commit()
    token = login(client, "app", world["phones"]["王芳"])
    team_id = world["ids"]["team"]
    page = client.get(f"/app/teams/{team_id}").get_data(as_text=True)
    assert "team-claim-form" not in page and "您是本队队员" in page
    resp = client.post(f"/app/teams/{team_id}/claim", data={"csrf_token": token, "task_id": task_id,
                                                             "person_id": ["1", "2"]}, follow_redirects=True)
    assert "只有队长或社区管理员可以进行此操作" in resp.get_data(as_text=True)
    resp = client.post(f"/app/team-members/{world['ids']['member_row']}/remove",
                       data={"csrf_token": token, "reason": "x"}, follow_redirects=True)
    assert "只有队长或社区管理员可以进行此操作" in resp.get_data(as_text=True)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(TeamClaim)) == 0
    assert session.get(TeamMember, world["ids"]["member_row"]).status == "active"


def test_another_communitys_admin_is_refused_in_the_console(client, session, tree, world):
    token = login(client, "console", world["phones"]["和谐社区书记"])
    team_id = world["ids"]["team"]
    assert client.get(f"/console/teams/{team_id}").status_code == 403
    assert client.post(f"/console/teams/{team_id}/dissolve", data={"csrf_token": token}).status_code == 302
    session.rollback()
    assert session.get(Team, team_id).status == "active"
    assert "先锋队" not in client.get("/console/teams").get_data(as_text=True)
    board = client.get(f"/console/teams/honour?org_id={tree.street.id}")
    assert board.status_code == 403  # a community admin reads the street's board only from the street


def test_leader_page_without_a_home_community_says_so(client, session, tree, make_person):
    make_person("无社区", None, PASSWORD)
    person = session.scalar(select(Person).where(Person.name == "无社区"))
    login(client, "app", person.phone)
    page = client.get("/app/teams").get_data(as_text=True)
    assert "请先登记您居住的社区" in page
    assert client.get("/app/teams/honour").status_code == 200


def test_volunteers_find_teams_by_name_kind_and_profession(client, session, tree, world):
    admin = session.scalar(select(Person).where(Person.name == "幸福社区书记"))
    leader = session.scalar(select(Person).where(Person.name == "张伟"))
    teams.create(session, load_person_actor(session, admin), community_id=tree.community_a.id, name="法律援助队",
                 kind="professional", profession="lawyer", leader_id=leader.id)
    session.commit()
    login(client, "app", world["phones"]["王芳"])
    assert "法律援助队" in client.get("/app/teams").get_data(as_text=True)
    by_name = client.get("/app/teams?q=法律").get_data(as_text=True)
    assert "法律援助队" in by_name and "先锋队</a>" not in by_name
    by_kind = client.get("/app/teams?kind=general").get_data(as_text=True)
    assert "法律援助队" not in by_kind and "先锋队</a>" in by_kind
    assert "法律援助队" in client.get("/app/teams?profession=lawyer").get_data(as_text=True)
    assert client.get("/app/teams?kind=x&profession=y&q=" + "长" * 300).status_code == 200
