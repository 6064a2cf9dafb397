"""The grid worker on a phone (/grid): opening /console lands on their own area; today's tasks in their grid;
confirming on site who served and marking a no-show; entering a resident's need on the resident's behalf. Another
grid's task and an unknown resident are refused with Chinese messages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.browser.conftest import DESKTOP, PASSWORD, assert_accessible, login, screenshot
from timebank.hours import claims, tasks
from timebank.hours.models import Attendance, AttendanceSource, Need
from timebank.people import persons as people
from timebank.people.access import load_person_actor
from timebank.people.models import Role


@pytest.fixture
def site(session, tree, clock):
    def person(name, phone, home, role=None, org=None):
        p = people.register(session, None, name=name, phone=phone, password=PASSWORD, home_org_id=home.id)
        if role:
            people.grant(session, None, p, role, org_id=org.id)
        return p

    admin = person("幸福社区书记", "13800002001", tree.community_a, Role.community_admin, tree.community_a)
    worker = person("网格员小周", "13800002005", tree.grid_a, Role.grid_worker, tree.grid_a)
    helper = person("张伟", "13900002011", tree.grid_a)
    absent = person("王芳", "13900002012", tree.grid_a)
    resident = person("李奶奶", "13900002013", tree.grid_a)
    clock.now = clock.now.replace(hour=1, minute=0, second=0)  # 09:00 in Beijing: the task is today there
    start = clock.now + timedelta(minutes=30)
    as_admin = load_person_actor(session, admin)
    task = tasks.publish(session, as_admin, org_id=tree.grid_a.id, title="楼道清扫", category="绿色环保",
                         place="幸福小区3栋", starts_at=start, ends_at=start + timedelta(hours=2), slots=3)
    elsewhere = tasks.publish(session, as_admin, org_id=tree.community_a.id, title="广场宣传", category="绿色环保",
                              place="社区广场", starts_at=start, ends_at=start + timedelta(hours=2), slots=3)
    claims.claim(session, load_person_actor(session, helper), task.id)
    claims.claim(session, load_person_actor(session, absent), task.id)
    session.commit()
    return {"worker": worker, "resident": resident, "task": task, "elsewhere": elsewhere, "start": start}


def test_grid_worker_confirms_attendance_and_marks_a_no_show(session, site, clock, live_server, new_page):
    page = new_page()
    login(page, live_server, "console", "13800002005")  # the demo's grid worker used to get 403 here
    assert page.url.endswith("/grid/")
    assert page.locator("h1").inner_text() == "今日任务"
    cards = page.locator("[data-task-id]")
    assert cards.count() == 1 and "楼道清扫" in cards.inner_text() and "已报名 2 人" in cards.inner_text()
    assert_accessible(page)
    screenshot(page, "grid-today-390")

    cards.locator("a").click()
    assert "任务开始后可以确认到场" in page.locator("main").inner_text()
    clock.now = site["start"] + timedelta(hours=2, minutes=10)
    page.reload()
    helper = page.locator("[data-claim-id]").filter(has_text="张伟")
    helper.locator("input[name=checked_in_at]").fill(
        (site["start"] + timedelta(hours=8)).strftime("%Y-%m-%dT%H:%M"))  # Beijing = UTC+8
    helper.locator("input[name=checked_out_at]").fill(
        (site["start"] + timedelta(hours=9, minutes=30)).strftime("%Y-%m-%dT%H:%M"))
    assert_accessible(page)
    screenshot(page, "grid-task-390")
    helper.locator("button:has-text('确认到场服务')").click()
    assert "已确认到场服务" in page.locator(".flash").inner_text()
    helper = page.locator("[data-claim-id]").filter(has_text="张伟")
    assert "待审核" in helper.locator(".session").inner_text()
    session.rollback()
    row = session.scalar(select(Attendance).where(Attendance.person_id != site["worker"].id))
    assert row.source == AttendanceSource.grid_worker and row.minutes == 90
    session.rollback()

    absent = page.locator("[data-claim-id]").filter(has_text="王芳")
    absent.locator("button:has-text('标记缺席')").click()
    assert "已标记为缺席" in page.locator(".flash").inner_text()
    assert page.locator("[data-claim-id]").filter(has_text="王芳").locator(".claim-status").inner_text() == "缺席"

    desktop = new_page(DESKTOP)
    login(desktop, live_server, "grid", "13800002005")
    screenshot(desktop, "grid-today-1280")
    desktop.goto(f"{live_server}/grid/tasks/{site['task'].id}")
    screenshot(desktop, "grid-task-1280")
    resp = desktop.goto(f"{live_server}/grid/tasks/{site['elsewhere'].id}")  # the community's own task
    assert resp.status == 403 and "管辖范围" in desktop.locator("main").inner_text()


def test_grid_worker_enters_a_residents_need(session, site, live_server, new_page):
    page = new_page()
    login(page, live_server, "grid", "13800002005")
    page.click("nav >> text=代居民提需求")
    assert_accessible(page)
    page.fill("#phone", "13000000000")
    page.fill("#title", "想请人帮忙换灯泡")
    page.click("button:has-text('提交需求')")
    assert "尚未登记为居民" in page.locator(".flash.error").inner_text()
    assert page.locator("#title").input_value() == "想请人帮忙换灯泡"  # kept for the second try

    page.fill("#phone", "+86 139 0000 2013")
    page.check("input[value=micro_wish]")
    page.click("button:has-text('提交需求')")
    assert "已为居民李**登记需求" in page.locator(".flash").inner_text()
    screenshot(page, "grid-need-new-390")
    session.rollback()
    need = session.scalar(select(Need).where(Need.title == "想请人帮忙换灯泡"))
    assert need.requester_id == site["resident"].id and need.entered_by_id == site["worker"].id
    assert need.org_id == site["task"].org_id
    session.rollback()
    desktop = new_page(DESKTOP)
    login(desktop, live_server, "grid", "13800002005")
    desktop.goto(f"{live_server}/grid/needs/new")
    screenshot(desktop, "grid-need-new-1280")
