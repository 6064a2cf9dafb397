"""A volunteer on a phone: log in, claim a task in the hall, check in and out by opening the site's QR link."""

from __future__ import annotations

from datetime import timedelta

from tests.browser.conftest import DESKTOP, PASSWORD, assert_accessible, login, screenshot
from timebank.db_base import utcnow
from timebank.hours import checkin_tokens, tasks
from timebank.people import persons as people
from timebank.people.access import load_person_actor
from timebank.people.models import Role


def _task(session, tree, *, starts_in=timedelta(minutes=10), hours=2, title="社区敬老院陪伴"):
    admin = people.register(session, None, name="社区书记", phone="13800009999", password=None,
                            home_org_id=tree.community_a.id)
    people.grant(session, None, admin, Role.community_admin, org_id=tree.community_a.id)
    start = utcnow() + starts_in
    task = tasks.publish(session, load_person_actor(session, admin), org_id=tree.community_a.id, title=title,
                         category="金色助老",
                         place="幸福社区敬老院", starts_at=start, ends_at=start + timedelta(hours=hours), slots=3)
    session.commit()
    return task


def test_volunteer_claims_and_checks_in_and_out_by_qr_link(app, session, tree, live_server, new_page):
    volunteer = people.register(session, None, name="王芳", phone="13900001111", password=PASSWORD,
                                home_org_id=tree.grid_a.id)
    session.commit()
    task = _task(session, tree)
    page = new_page()
    login(page, live_server, "app", volunteer.phone)
    assert page.locator("h1").inner_text() == "您好，王芳"
    assert page.locator("#points-balance").inner_text() == "0"
    assert_accessible(page)
    screenshot(page, "app-home-390")

    page.click("text=任务大厅")
    card = page.locator(f"[data-task-id='{task.id}']")
    assert "社区敬老院陪伴" in card.inner_text()
    assert_accessible(page)
    card.locator("button:has-text('报名')").click()
    assert "报名成功" in page.locator(".flash").inner_text()
    screenshot(page, "app-tasks-390")

    token = checkin_tokens.issue(app.config["SECRET_KEY"], task).token
    page.goto(f"{live_server}/app/checkin?t={token}")
    assert_accessible(page)
    page.click("button:has-text('签到')")
    assert page.locator("h1").inner_text() == "签到成功"

    page.goto(f"{live_server}/app/checkin?t={token}")  # the same code again: no second 签到, but 签退
    assert page.locator("button:has-text('签到')").count() == 0
    assert page.locator("button:has-text('签退')").count() == 1
    assert "您已于" in page.locator("main").inner_text()


def test_a_forged_qr_link_shows_why_it_is_refused(session, tree, live_server, new_page):
    people.register(session, None, name="李娜", phone="13900002222", password=PASSWORD, home_org_id=tree.grid_a.id)
    session.commit()
    page = new_page()
    login(page, live_server, "app", "13900002222")
    page.goto(f"{live_server}/app/checkin?t=forged.token.value")
    assert page.locator(".flash.error").count() == 1
    assert "签到码" in page.locator(".flash.error").inner_text()


def test_pages_need_a_login_and_refuse_other_areas(session, tree, live_server, new_page):
    people.register(session, None, name="张伟", phone="13900003333", password=PASSWORD, home_org_id=tree.grid_a.id)
    session.commit()
    page = new_page(DESKTOP)
    page.goto(f"{live_server}/app/hours")
    assert "/app/login" in page.url
    assert_accessible(page)
    login(page, None, "app", "13900003333")
    assert page.url.endswith("/app/hours")
    assert page.locator("h1").inner_text() == "我的服务时长"
