"""Ending access from the pages: an admin deactivates a volunteer (a confirmation first; the volunteer's open
session ends at once), issues a merchant key shown once and revokes it (confirmed; the till's key stops
working); a volunteer changes their password and their other browser is signed out."""

from __future__ import annotations

import pytest

from tests.browser.conftest import DESKTOP, PHONE, assert_accessible, login, screenshot
from tests.pages import shop as data
from timebank.people.models import Role


@pytest.fixture
def people(session, tree):
    admin = data.person(session, "幸福社区管理员", "13800000031", tree.community_a, Role.community_admin,
                        org_id=tree.community_a.id)
    volunteer = data.person(session, "陈静", "13900000031", tree.grid_a)
    shop = data.merchant(session, "联盟超市(幸福店)", tree.community_a, [tree.community_a])
    session.commit()
    return {"admin": admin, "volunteer": volunteer, "shop": shop}


def test_an_admin_deactivates_a_volunteer_whose_open_session_ends(live_server, new_page, people):
    phone = new_page(PHONE)
    login(phone, live_server, "app", "13900000031")
    assert "/app/login" not in phone.url

    desk = new_page(DESKTOP)
    login(desk, live_server, "console", "13800000031")
    desk.goto(f"{live_server}/console/access?phone=139 0000 0031")
    assert "陈静" in desk.inner_text("main") and "正常" in desk.inner_text("[data-person-id] .status")
    assert_accessible(desk)
    desk.fill("#reason", "已搬离本社区")
    desk.click("text=停用账号")
    assert "停用后，该人员在所有设备上的登录立即失效" in desk.inner_text("main")
    screenshot(desk, "console-deactivate-confirm-desktop")
    desk.click("text=确认停用")
    assert "账号已停用" in desk.inner_text("body") and "已停用" in desk.inner_text("[data-person-id] .status")

    phone.goto(f"{live_server}/app/")
    assert "/app/login" in phone.url  # the session the volunteer had open is gone
    login(phone, None, "app", "13900000031")
    assert "手机号或密码不正确" in phone.inner_text("body")


def test_an_admin_issues_a_key_once_and_revokes_it(live_server, new_page, people, client, session):
    shop_id = people["shop"].id
    session.rollback()  # the test's session keeps no read snapshot from before the key exists
    desk = new_page(DESKTOP)
    login(desk, live_server, "console", "13800000031")
    desk.goto(f"{live_server}/console/access")
    desk.fill(f"#label-merchant-{shop_id}", "收银台")
    desk.click(f"[data-owner=merchant-{shop_id}] >> text=签发新密钥")
    key = desk.inner_text("[data-api-key]")
    assert key.startswith("tbk_") and "离开本页后将无法再次查看" in desk.inner_text("main")
    session.rollback()
    till = client.get(f"/api/merchants/{shop_id}", headers={"X-API-Key": key})
    assert till.status_code == 200, (key, till.json)

    desk.goto(f"{live_server}/console/access")
    assert key not in desk.content()  # listed by prefix only
    desk.click(f"[data-owner=merchant-{shop_id}] >> text=吊销")
    assert "此操作不可撤销" in desk.inner_text("main")
    desk.click("text=确认吊销")
    assert "密钥已吊销" in desk.inner_text("body")
    screenshot(desk, "console-keys-revoked-desktop")
    session.rollback()
    assert client.get(f"/api/merchants/{shop_id}", headers={"X-API-Key": key}).status_code == 401


def test_a_volunteer_changes_the_password_and_the_other_browser_is_signed_out(live_server, new_page, people):
    other = new_page(DESKTOP)
    login(other, live_server, "app", "13900000031")
    phone = new_page(PHONE)
    login(phone, live_server, "app", "13900000031")
    phone.goto(f"{live_server}/app/password")
    assert phone.url.endswith("/app/password"), phone.url
    assert_accessible(phone)
    phone.fill("#current_password", data.PASSWORD)
    phone.fill("#new_password", "a-new-password-9")
    phone.fill("#new_password_again", "a-new-password-8")
    phone.click("main button[type=submit]")
    assert "两次输入的新密码不一致" in phone.inner_text("body")
    phone.fill("#current_password", data.PASSWORD)
    phone.fill("#new_password", "a-new-password-9")
    phone.fill("#new_password_again", "a-new-password-9")
    phone.click("main button[type=submit]")
    assert "密码已修改" in phone.inner_text("body")
    screenshot(phone, "app-password-changed-phone")
    phone.goto(f"{live_server}/app/")
    assert "/app/login" not in phone.url  # this browser stays signed in
    other.goto(f"{live_server}/app/")
    assert "/app/login" in other.url
