"""A volunteer reads messages on a phone: the unread badge in the header, the inbox, mark read, the settings
page; a community admin sees a dead SMS and re-sends it. Every screen passes axe."""

from __future__ import annotations

from sqlalchemy import select

from tests.browser.conftest import DESKTOP, assert_accessible, login
from tests.pages.shop import give_points, person
from timebank.accounts import gifts
from timebank.notify import rules
from timebank.notify.models import DeliveryState, NotificationDelivery, NotifyPreference
from timebank.people.access import load_person_actor
from timebank.people.models import Role


def _gifts(session, tree, count: int):
    giver = person(session, "王芳", "13900003333", tree.grid_a)
    receiver = person(session, "王大妈", "13900004444", tree.grid_a)
    give_points(session, giver, 50)
    rules.set_preferences(session, load_person_actor(session, receiver), channels={"gift.received": ["inapp", "sms"]})
    for i in range(count):
        gifts.give(session, load_person_actor(session, giver), key=f"page-{i}", amount=2, to_person_id=receiver.id,
                   note="买点水果")
    session.commit()
    return giver, receiver


def test_inbox_badge_mark_read_and_settings(session, tree, live_server, new_page):
    _giver, receiver = _gifts(session, tree, 2)
    page = new_page()
    login(page, live_server, "app", receiver.phone)
    assert page.locator("header .badge").inner_text() == "2"
    page.click("header a.inbox")
    assert page.locator("h1").inner_text() == "消息"
    items = page.locator("li[data-notification-id]")
    assert items.count() == 2 and "王芳赠与您2积分" in items.first.inner_text()
    assert_accessible(page)
    items.first.locator("button:has-text('标为已读')").click()
    assert page.locator("header .badge").inner_text() == "1"
    page.click("button:has-text('全部标为已读')")
    assert page.locator("header .badge").count() == 0
    assert "已全部标为已读" in page.locator(".flash").inner_text()

    page.click("text=消息设置")
    assert "22:00" in page.locator("main").inner_text()
    assert_accessible(page)
    page.uncheck("input[name='gift.received:wechat']")
    page.check("input[name='gift.received:sms']")
    page.click("button:has-text('保存')")
    assert "消息设置已保存" in page.locator(".flash").inner_text()
    session.rollback()
    pref = session.scalar(select(NotifyPreference).where(NotifyPreference.person_id == receiver.id,
                                                         NotifyPreference.kind == "gift.received"))
    assert pref.channels == ["inapp", "sms"]
    session.rollback()


def test_admin_sees_a_dead_delivery_and_resends_it(session, tree, live_server, new_page):
    _giver, receiver = _gifts(session, tree, 1)
    admin = person(session, "社区管理员", "13900005555", tree.community_a, Role.community_admin,
                   org_id=tree.community_a.id)
    delivery = session.scalar(select(NotificationDelivery))
    delivery.state, delivery.attempts, delivery.last_error = DeliveryState.dead, 6, "HTTP 503: {}"
    session.commit()
    page = new_page(DESKTOP)
    login(page, live_server, "console", admin.phone)
    page.click("text=消息投递")
    row = page.locator(f"tr[data-delivery-id='{delivery.id}']")
    assert "王大妈" in row.inner_text() and "139****4444" in row.inner_text() and "13900004444" not in row.inner_text()
    assert "发送失败" in row.inner_text()
    assert_accessible(page)
    row.locator("button:has-text('重新发送')").click()
    assert "已重新发送" in page.locator(".flash").inner_text()
    session.rollback()
    assert session.get(NotificationDelivery, delivery.id).state == DeliveryState.pending
    session.rollback()
