"""In the browser, at a phone's size and at a desktop's: the community's admin makes a project from a group of
residents' needs, a unit's party secretary claims it on /employer, the admin publishes a task under it, accepts
the work with the residents' satisfaction and closes it."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from tests.browser.conftest import DESKTOP, PASSWORD, PHONE, assert_accessible, login
from tests.needs.conftest import hours, make_unit, world  # noqa: F401 - fixtures reused
from tests.projects.conftest import post_needs, project_body, reported_unit  # noqa: F401 - fixtures reused
from timebank.clock import DISPLAY_TZ, local_today
from timebank.people import persons as people
from timebank.people.access import SYSTEM
from timebank.people.models import Role
from timebank.projects.models import Project, ProjectClaim
from timebank.teams import teams


@pytest.fixture
def site(client, session, world, reported_unit, make_person):  # noqa: F811 - the fixtures imported above
    p = world.people
    unit = reported_unit("市交通局")
    admin = make_person("幸福社区书记", p.tree.community_a, PASSWORD, ((Role.community_admin, p.tree.community_a),))
    secretary = make_person("交通局书记", password=PASSWORD)
    people.grant(session, None, secretary, Role.employer_contact, employer_id=unit.id)
    session.commit()
    ids = {"admin": admin.phone, "secretary": secretary.phone, "unit_id": unit.id,
           "need_ids": post_needs(client, p, ["帮独居老人打扫卫生", "老人想理发", "想听健康讲座"])}
    session.commit()  # no read left open: the served app writes while the test waits
    return ids


def _flash(page) -> str:
    return page.locator("main .flash").first.inner_text()


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_a_project_from_needs_to_closing(session, site, live_server, new_page, clock, tmp_path, viewport):
    size = f"{viewport['width']}"
    admin = new_page(viewport)
    login(admin, live_server, "console", site["admin"])

    # 需求清单: the three needs are one group; 设计项目 opens the form with them ticked.
    admin.goto(f"{live_server}/console/lists")
    group = admin.locator(".need-group")
    group.first.wait_for()
    assert group.count() == 1
    assert all(t in group.inner_text() for t in ("金色助老", "老人想理发", "想听健康讲座", "3 条"))
    assert_accessible(admin)
    admin.screenshot(path=tmp_path / f"lists-{size}.png", full_page=True)
    group.get_by_role("link", name="设计项目").click()
    admin.wait_for_load_state()
    assert admin.locator("#project-needs input[name=need_ids]:checked").count() == 3
    admin.fill("#title", "独居老人助老服务项目")
    admin.check("input[name=tier][value=key]")
    admin.fill("#goal", "每月为独居老人上门清洁、理发，并办一次健康讲座")
    admin.fill("#budget_hours", "20")
    admin.fill("#budget_points", "200")
    admin.select_option("#resource-kind-1", "venue")
    admin.fill("#resource-description-1", "助老讲座活动室")
    assert_accessible(admin)
    admin.get_by_role("button", name="发布到项目清单").click()
    admin.wait_for_load_state()
    assert "已设计项目「独居老人助老服务项目」" in _flash(admin)
    assert admin.locator("#project-status").inner_text() == "待认领"
    assert "三楼党员活动室" in admin.locator("#project-resources").inner_text()  # the unit's venue is suggested
    project_url = admin.url

    # 党组织认领: the unit's secretary claims it for the unit.
    secretary = new_page(viewport)
    login(secretary, live_server, "employer", site["secretary"])
    secretary.goto(f"{live_server}/employer/projects")
    offer = secretary.locator("#open-projects [data-project-id]")
    offer.first.wait_for()
    assert "独居老人助老服务项目" in offer.inner_text()
    assert_accessible(secretary)
    secretary.screenshot(path=tmp_path / f"employer-projects-{size}.png", full_page=True)
    offer.get_by_role("button", name="以本单位名义认领").click()
    secretary.wait_for_load_state()
    assert "已以市交通局的名义认领该项目" in _flash(secretary)
    own = secretary.locator("#own-projects [data-project-id]")
    assert own.count() == 1 and "已认领" in own.inner_text() and "独居老人助老服务项目" in own.inner_text()

    # A task under the project, tomorrow morning.
    admin.goto(project_url)
    admin.locator("#project-claimant").wait_for()
    assert "市交通局" in admin.locator("#project-claimant").inner_text()
    day = local_today() + timedelta(days=1)
    admin.fill("#task-title", "上门打扫第一次")
    admin.fill("#task-starts", f"{day.isoformat()}T09:00")
    admin.fill("#task-ends", f"{day.isoformat()}T11:00")
    admin.fill("#task-slots", "2")
    admin.get_by_role("button", name="发布任务").click()
    admin.wait_for_load_state()
    assert "已发布项目任务「上门打扫第一次」" in _flash(admin)
    assert admin.locator("#project-status").inner_text() == "实施中"
    assert admin.locator("#project-tasks [data-task-id]").count() == 1

    # After the task: accepted with the residents' satisfaction, then closed.
    clock.set(datetime.combine(day, time(12, 0), DISPLAY_TZ))
    admin.reload()
    admin.locator("#project-accept-form").wait_for()
    admin.check("#project-accept-form input[name=satisfaction][value='4']")
    admin.fill("#accept-note", "居民反映很好")
    assert_accessible(admin)
    admin.screenshot(path=tmp_path / f"project-{size}.png", full_page=True)
    admin.get_by_role("button", name="验收").click()
    admin.wait_for_load_state()
    assert "群众满意度 4 分" in _flash(admin)
    assert admin.locator("#project-status").inner_text() == "已验收"
    assert "4 分（居民反映很好）" in admin.locator("#project-satisfaction").inner_text()
    admin.get_by_role("button", name="结项").click()
    admin.wait_for_load_state()
    assert "项目已结项" in _flash(admin)
    assert admin.locator("#project-status").inner_text() == "已结项"

    admin.goto(f"{live_server}/console/projects")
    row = admin.locator("#projects [data-project-id]")
    row.first.wait_for()
    assert row.count() == 1 and "已结项" in row.inner_text() and "市交通局" in row.inner_text()
    session.rollback()
    project = session.scalars(select(Project)).one()
    claim = session.scalars(select(ProjectClaim)).one()
    assert (project.status, project.satisfaction, project.budget_minutes) == ("closed", 4, 1200)
    assert (claim.kind, claim.employer_id) == ("unit", site["unit_id"])
    session.rollback()


def test_a_team_leader_claims_a_project_for_the_team_on_a_phone(
        client, session, world, make_person, live_server, new_page, tmp_path):  # noqa: F811 - the fixture above
    p = world.people
    leader = make_person("孙队长", p.tree.grid_a, PASSWORD)
    teams.create(session, SYSTEM, community_id=p.tree.community_a.id, name="先锋队", leader_id=leader.id)
    phone = leader.phone
    session.commit()
    need_ids = post_needs(client, p, ["想学智能手机"])
    made = client.post("/api/projects", json=project_body(p.tree.community_a.id, need_ids, title="智能手机课堂",
                                                          tier="basic"), headers=p.admin_a)
    assert made.status_code == 201, made.json
    session.commit()

    page = new_page(PHONE)
    login(page, live_server, "app", phone)
    page.goto(f"{live_server}/app/projects")
    card = page.locator("#projects [data-project-id]")
    card.first.wait_for()
    assert "智能手机课堂" in card.inner_text() and "等待组织认领" in card.inner_text()
    assert_accessible(page)
    card.get_by_role("link", name="智能手机课堂").click()
    page.wait_for_load_state()
    page.get_by_role("button", name="以「先锋队」（志愿服务队）的名义认领").click()
    page.wait_for_load_state()
    assert "已以「先锋队」的名义认领该项目" in _flash(page)
    assert "先锋队（志愿服务队）" in page.locator("#project-claimant").inner_text()
    assert_accessible(page)
    page.screenshot(path=tmp_path / "app-project-390.png", full_page=True)
    page.get_by_role("button", name="撤回认领").click()
    page.wait_for_load_state()
    assert "已撤回认领" in _flash(page) and "等待组织认领" in page.locator("#project-claimant").inner_text()
    session.rollback()
    assert session.scalars(select(Project)).one().status == "open"
    session.rollback()
