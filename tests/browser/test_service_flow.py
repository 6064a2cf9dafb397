"""The whole service path in the browser: a volunteer claims and checks in/out by the QR link the console shows;
the community admin verifies in the console; the volunteer sees the hours and points."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.browser.conftest import DESKTOP, PASSWORD, assert_accessible, login, screenshot
from timebank.hours import tasks
from timebank.people import persons as people
from timebank.people.access import load_person_actor
from timebank.people.models import Role


@pytest.fixture
def cast(session, tree):
    def person(name, phone, home, role=None, org=None):
        p = people.register(session, None, name=name, phone=phone, password=PASSWORD, home_org_id=home.id)
        if role:
            people.grant(session, None, p, role, org_id=org.id)
        return p

    admin_a = person("幸福社区书记", "13800001001", tree.community_a, Role.community_admin, tree.community_a)
    admin_b = person("和谐社区书记", "13800001002", tree.community_b, Role.community_admin, tree.community_b)
    volunteer = person("刘洋", "13900001003", tree.grid_a)
    session.commit()
    return {"admin_a": admin_a, "admin_b": admin_b, "volunteer": volunteer}


def test_claim_checkin_verify_credit(app, session, tree, cast, clock, live_server, new_page, run_jobs):
    start = clock.now + timedelta(minutes=10)
    task = tasks.publish(session, load_person_actor(session, cast["admin_a"]), org_id=tree.community_a.id,
                         title="垃圾分类宣传", category="绿色环保", place="幸福社区广场", starts_at=start,
                         ends_at=start + timedelta(hours=2), slots=2, points_per_hour=10)
    session.commit()

    phone = new_page()
    login(phone, live_server, "app", "13900001003")
    phone.goto(f"{live_server}/app/tasks")
    phone.locator(f"[data-task-id='{task.id}'] button:has-text('报名')").click()
    assert "报名成功" in phone.locator(".flash").inner_text()

    tablet = new_page(DESKTOP)
    login(tablet, live_server, "console", "13800001001")
    tablet.goto(f"{live_server}/console/tasks/{task.id}/qr")
    assert tablet.locator(".qr svg").count() == 1
    assert_accessible(tablet)
    screenshot(tablet, "console-task-qr-1280")

    clock.now = start  # the volunteer arrives; the tablet shows the code of this minute
    tablet.reload()
    phone.goto(tablet.locator(".qr").get_attribute("data-link"))
    phone.click("button:has-text('签到')")
    assert phone.locator("h1").inner_text() == "签到成功"
    clock.now = start + timedelta(minutes=90)
    tablet.reload()
    phone.goto(tablet.locator(".qr").get_attribute("data-link"))
    phone.click("button:has-text('签退')")
    assert "90 分钟" in phone.locator("main").inner_text()

    console = new_page(DESKTOP)
    login(console, live_server, "console", "13800001001")
    row = console.locator("tr[data-attendance-id]")
    assert row.count() == 1 and "刘洋" in row.inner_text()
    assert_accessible(console)
    screenshot(console, "console-queue-1280")
    row.locator("input[type=checkbox]").check()
    row.locator("input[type=number]").fill("60")
    console.click("button:has-text('通过所选')")
    assert "已通过 1 条记录" in console.locator(".flash").inner_text()
    assert run_jobs() >= 1

    phone.goto(f"{live_server}/app")
    assert phone.locator("#points-balance").inner_text() == "10"
    assert phone.locator("#minutes-balance").inner_text() == "1.0"
    screenshot(phone, "app-home-after-credit-390")


def test_an_admin_cannot_open_another_communitys_queue_or_qr(session, tree, cast, clock, live_server, new_page):
    start = clock.now + timedelta(minutes=10)
    task = tasks.publish(session, load_person_actor(session, cast["admin_a"]), org_id=tree.community_a.id,
                         title="助老", category="金色助老", place="敬老院", starts_at=start,
                         ends_at=start + timedelta(hours=1), slots=1)
    session.commit()
    page = new_page(DESKTOP)
    login(page, live_server, "console", "13800001002")
    resp = page.goto(f"{live_server}/console/?community_id={tree.community_a.id}")
    assert resp.status == 403
    assert "没有权限" in page.locator("h1").inner_text()
    assert page.goto(f"{live_server}/console/tasks/{task.id}/qr").status == 403
    volunteer_page = new_page()
    login(volunteer_page, live_server, "console", "13900001003")
    assert volunteer_page.locator("h1").inner_text() == "没有权限"
