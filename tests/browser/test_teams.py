"""Teams in the browser: a volunteer applies at phone size, the leader approves and claims 3 slots of a task for 3
members, the community admin verifies one member's attendance in the console, and the team's hours show it in the
app, the console and the team honour board."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.browser.conftest import DESKTOP, PASSWORD, assert_accessible, login, screenshot
from timebank.hours import attendance, tasks
from timebank.people import persons as people
from timebank.people.access import load_person_actor
from timebank.people.models import Role
from timebank.teams import teams


@pytest.fixture
def cast(session, tree):
    def person(name, phone, home, role=None, org=None):
        p = people.register(session, None, name=name, phone=phone, password=PASSWORD, home_org_id=home.id)
        if role:
            people.grant(session, None, p, role, org_id=org.id)
        return p

    admin = person("幸福社区书记", "13800003001", tree.community_a, Role.community_admin, tree.community_a)
    other_admin = person("和谐社区书记", "13800003002", tree.community_b, Role.community_admin, tree.community_b)
    leader = person("张伟", "13900003001", tree.grid_a)
    nurses = [person(n, f"1390000300{i}", tree.grid_a) for i, n in ((2, "王芳"), (3, "李娜"))]
    applicant = person("刘洋", "13900003009", tree.grid_a)
    session.flush()
    admin_actor = load_person_actor(session, admin)
    team = teams.create(session, admin_actor, community_id=tree.community_a.id, name="幸福社区医护志愿服务队",
                        kind="professional", profession="medical", leader_id=leader.id, description="社区医生和护士")
    for nurse in nurses:
        row = teams.apply(session, load_person_actor(session, nurse), team.id)
        teams.decide(session, admin_actor, row.id, approve=True)
    team_id = team.id
    session.commit()
    return {"admin": admin, "other_admin": other_admin, "leader": leader, "nurses": nurses, "applicant": applicant,
            "team_id": team_id}


def test_apply_approve_team_claim_verify_and_team_hours(app, session, tree, cast, clock, live_server, new_page,
                                                        run_jobs):
    start = clock.now + timedelta(minutes=30)
    task = tasks.publish(session, load_person_actor(session, cast["admin"]), org_id=tree.community_a.id,
                         title="社区义诊", category="金色助老", place="幸福社区卫生站", starts_at=start,
                         ends_at=start + timedelta(hours=2), slots=5, points_per_hour=10)
    session.commit()
    task_id, team_id = task.id, cast["team_id"]
    session.rollback()

    # 刘洋 finds the team on his phone and applies.
    volunteer = new_page()
    login(volunteer, live_server, "app", "13900003009")
    volunteer.goto(f"{live_server}/app/teams")
    card = volunteer.locator(f"li.team[data-team-id='{team_id}']")
    assert "幸福社区医护志愿服务队" in card.inner_text() and "医护" in card.inner_text()
    assert_accessible(volunteer)
    screenshot(volunteer, "app-teams-390")
    card.locator("button[type=submit]").click()
    assert "申请已提交" in volunteer.locator(".flash").inner_text()

    # The leader approves on his phone, then claims 3 slots for 王芳, 李娜 and 刘洋 at once.
    leader = new_page()
    login(leader, live_server, "app", "13900003001")
    leader.goto(f"{live_server}/app/teams/{team_id}")
    application = leader.locator("ul.applications li")
    assert application.count() == 1 and "刘洋" in application.inner_text()
    assert_accessible(leader)
    application.locator("button[value=approve]").click()
    assert "已同意入队" in leader.locator(".flash").inner_text()
    form = leader.locator("#team-claim-form")
    form.locator("#task_id").select_option(str(task_id))
    for name in ("王芳", "李娜", "刘洋"):
        form.locator(f"label.choice:has-text('{name}') input").check()
    form.locator("button[type=submit]").click()
    assert "已为 3 名队员认领该任务" in leader.locator(".flash").inner_text()
    claim_card = leader.locator("ul.team-claims li").first
    assert "社区义诊" in claim_card.inner_text() and "王芳、李娜、刘洋" in claim_card.inner_text()
    screenshot(leader, "app-team-leader-390")

    # 刘洋 sees the slot his team took for him.
    volunteer.goto(f"{live_server}/app/claims")
    assert "由 幸福社区医护志愿服务队 认领" in volunteer.locator("main").inner_text()

    # 王芳 serves 90 minutes; the grid confirmation is recorded and the admin verifies it in the console.
    clock.now = start + timedelta(hours=2)
    from sqlalchemy import select

    from timebank.hours.models import Claim

    claim_id = session.scalar(select(Claim.id).where(Claim.task_id == task_id,
                                                     Claim.person_id == cast["nurses"][0].id))
    attendance.confirm(session, load_person_actor(session, cast["admin"]), claim_id=claim_id, checked_in_at=start,
                       checked_out_at=start + timedelta(minutes=90))
    session.commit()
    console = new_page(DESKTOP)
    login(console, live_server, "console", "13800003001")
    row = console.locator("tr[data-attendance-id]")
    assert row.count() == 1 and "王芳" in row.inner_text()
    row.locator("input[type=checkbox]").check()
    console.click("main button:has-text('通过所选')")
    assert "已通过 1 条记录" in console.locator(".flash").inner_text()
    assert run_jobs() >= 1

    leader.goto(f"{live_server}/app/teams/{team_id}?period=month")
    assert leader.locator("#team-all-hours").inner_text() == "1.5"
    assert leader.locator("#team-task-hours").inner_text() == "1.5"
    assert leader.locator("#team-members").inner_text() == "4"

    console.goto(f"{live_server}/console/teams/{team_id}")
    assert console.locator("#team-all-hours").inner_text() == "1.5"
    assert_accessible(console)
    screenshot(console, "console-team-1280")
    console.goto(f"{live_server}/console/teams/honour")
    first = console.locator("#team-board tbody tr").first
    assert "幸福社区医护志愿服务队" in first.inner_text() and "1.5" in first.inner_text()

    volunteer.goto(f"{live_server}/app/teams/honour?period=year")
    assert "幸福社区医护志愿服务队（我的队）" in volunteer.locator("table.honour").inner_text()
    assert_accessible(volunteer)


def test_console_creates_a_team_and_another_community_cannot_manage_it(session, tree, cast, live_server, new_page):
    community_a = tree.community_a.id
    session.rollback()  # the test thread holds no transaction while the browser writes
    console = new_page(DESKTOP)
    login(console, live_server, "console", "13800003001")
    console.goto(f"{live_server}/console/teams")
    assert_accessible(console)
    form = console.locator("#new-team")
    form.locator("#name").fill("幸福社区法律服务队")
    form.locator("#kind").select_option("professional")
    form.locator("#profession").select_option("lawyer")
    form.locator("#leader_phone").fill("139 0000 3002")
    form.locator("button[type=submit]").click()
    assert "服务队已建立" in console.locator(".flash").inner_text()
    assert console.locator("#leader-name").inner_text() == "王芳"
    team_url = console.url

    outsider = new_page(DESKTOP)
    login(outsider, live_server, "console", "13800003002")
    assert outsider.goto(team_url).status == 403
    assert outsider.goto(f"{live_server}/console/teams?community_id={community_a}").status == 403
