"""A volunteer spends points on the phone and the shop assistant confirms at the till; gifts and micro-wishes.

Every screen passes axe (no serious or critical violation); each scenario also tries what must be refused.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.browser.conftest import DESKTOP, PHONE, assert_accessible, login, screenshot
from tests.pages import shop as data
from timebank.db_base import utcnow
from timebank.hours import needs, tasks
from timebank.hours.models import Need, Rating
from timebank.people.access import load_person_actor
from timebank.people.models import Role


@pytest.fixture
def store(session, tree):
    """A supermarket serving 幸福社区 with two rewards, its assistant, and a volunteer with 300 points."""
    market = data.merchant(session, "联盟超市(幸福店)", tree.street, [tree.community_a])
    rice = data.reward(session, market, "大米 5kg", 100, [tree.community_a])
    oil = data.reward(session, market, "食用油 5L", 500, [tree.community_a])
    clerk = data.person(session, "店员小陈", "13700000001", tree.community_a, Role.merchant_staff,
                        merchant_id=market.id)
    volunteer = data.person(session, "刘洋", "13900000001", tree.grid_a)
    data.give_points(session, volunteer, 300)
    return {"market": market, "rice": rice, "oil": oil, "clerk": clerk, "volunteer": volunteer}


def _accept_dialogs(page):
    page.on("dialog", lambda dialog: dialog.accept())


def test_volunteer_redeems_and_the_till_confirms_exactly_once(session, store, live_server, new_page):
    phone = new_page(PHONE)
    _accept_dialogs(phone)
    login(phone, live_server, "app", "13900000001")
    phone.click("nav >> text=\"兑换\"")
    assert phone.locator("#available-points").inner_text() == "300"
    cards = phone.locator("[data-reward-id]:not(.later)")
    assert cards.count() == 1 and "大米 5kg" in cards.inner_text()  # the 500-point oil is out of reach:
    later = phone.locator("[data-reward-id].later")  # listed apart, with the points still missing
    assert later.count() == 1 and "还差 200 积分" in later.inner_text() and later.locator("button").count() == 0
    assert_accessible(phone)
    screenshot(phone, "app-rewards-390")

    cards.locator("button:has-text('兑换')").click()
    assert "兑换成功" in phone.locator(".flash").inner_text()
    code = phone.locator("#pickup-code").inner_text()
    assert len(code) == 9 and code[4] == "-"
    assert phone.locator(".qr svg").count() == 1
    assert "分" in phone.locator("[data-countdown]").inner_text()  # the countdown is running
    assert phone.locator("#redemption-status").inner_text() == "待核销"
    assert_accessible(phone)
    screenshot(phone, "app-pickup-code-390")
    held = data.points(session, store["volunteer"])
    assert (held.available, held.debits_pending, held.debits_posted) == (200, 100, 0)

    till = new_page(DESKTOP)
    login(till, live_server, "merchant", "13700000001")
    assert_accessible(till)
    till.fill("#code", code.lower())
    till.click("button:has-text('查询')")
    assert till.locator("#found-volunteer").inner_text() == "刘*"
    assert till.locator("#found-points").inner_text() == "100"
    assert "大米 5kg" in till.locator(".found h2").inner_text()
    assert_accessible(till)
    screenshot(till, "merchant-till-found-1280")
    till.click("button:has-text('确认核销')")
    assert "核销成功" in till.locator(".flash").inner_text()
    screenshot(till, "merchant-till-confirmed-1280")

    # The same code again: shown as already captured, and a replayed confirmation moves nothing.
    till.fill("#code", code)
    till.click("button:has-text('查询')")
    assert till.locator("#found-status").inner_text() == "已核销"
    assert till.locator("button:has-text('确认核销')").count() == 0
    token = till.locator("input[name=csrf_token]").first.get_attribute("value")
    till.request.post(f"{live_server}/merchant/confirm", form={"csrf_token": token, "code": code})
    spent = data.points(session, store["volunteer"])
    assert (spent.available, spent.debits_pending, spent.debits_posted) == (200, 0, 100)

    till.click("nav >> text=今日兑换")
    assert till.locator("#captured-points").inner_text() == "100"
    assert_accessible(till)
    screenshot(till, "merchant-today-1280")

    phone.click("nav >> text=更多")
    phone.click("main >> text=我的兑换")
    assert phone.locator("[data-redemption-id] .status").first.inner_text() == "已核销"
    assert_accessible(phone)
    screenshot(phone, "app-redemptions-390")
    phone.click("nav >> text=首页")
    assert phone.locator("#points-balance").inner_text() == "200"


def test_a_volunteer_can_cancel_a_held_redemption_but_not_open_anothers(session, tree, store, live_server,
                                                                         new_page):
    other = data.person(session, "王芳", "13900000002", tree.grid_a)
    phone = new_page(PHONE)
    _accept_dialogs(phone)
    login(phone, live_server, "app", "13900000001")
    phone.goto(f"{live_server}/app/rewards")
    phone.locator("[data-reward-id]:not(.later) button:has-text('兑换')").click()
    url = phone.url
    phone.click("button:has-text('取消兑换')")
    assert "已取消兑换" in phone.locator(".flash").inner_text()
    assert phone.locator("#redemption-status").inner_text() == "已取消"
    assert data.points(session, store["volunteer"]).available == 300

    stranger = new_page(PHONE)
    login(stranger, live_server, "app", other.phone)
    resp = stranger.goto(url)
    assert resp.status == 403
    assert "权限" in stranger.locator("main").inner_text()
    assert_accessible(stranger)


def test_gift_to_a_relative_with_confirmation_moves_points_once(session, tree, store, live_server, new_page):
    relative = data.person(session, "王秀英", "13900000003", tree.grid_a)
    phone = new_page(PHONE)
    login(phone, live_server, "app", "13900000001")
    phone.click("nav >> text=更多")
    phone.click("main >> text=转赠")
    assert_accessible(phone)
    screenshot(phone, "app-gift-390")
    phone.fill("#phone", relative.phone)
    phone.fill("#amount", "50")
    phone.fill("#note", "给妈妈")
    phone.click("button:has-text('下一步')")
    assert phone.locator("#gift-to").inner_text().startswith("王**")
    assert phone.locator("#gift-amount").inner_text() == "50"
    assert data.points(session, store["volunteer"]).available == 300  # nothing moves before confirming
    assert_accessible(phone)
    screenshot(phone, "app-gift-confirm-390")
    fields = phone.eval_on_selector_all("form[action$='/app/gift'] input",
                                        "els => Object.fromEntries(els.map(e => [e.name, e.value]))")
    phone.click("button:has-text('确认转赠')")
    assert "已转赠 50 积分" in phone.locator(".flash").inner_text()
    assert phone.locator("#points-balance").inner_text() == "250"

    # The confirmation submitted a second time (double tap, resend): the same form key, no second gift.
    assert phone.request.post(f"{live_server}/app/gift", form=fields).ok
    assert data.points(session, store["volunteer"]).available == 250
    assert data.points(session, relative).available == 50

    # More than one has, and giving to oneself, are refused at the review, before any confirmation.
    phone.goto(f"{live_server}/app/gift")
    phone.fill("#phone", relative.phone)
    phone.fill("#amount", "9999")
    phone.evaluate("document.querySelector('#amount').removeAttribute('max')")
    phone.click("button:has-text('下一步')")
    assert "还差 9749" in phone.locator(".flash.error").inner_text()
    assert phone.locator("button:has-text('确认转赠')").count() == 0
    phone.goto(f"{live_server}/app/gift")
    phone.fill("#phone", "13900000001")
    phone.fill("#amount", "5")
    phone.click("button:has-text('下一步')")
    assert "不能赠与自己" in phone.locator(".flash.error").inner_text()
    assert data.points(session, store["volunteer"]).available == 250

    phone.goto(f"{live_server}/app/gift")
    phone.check("input[value=fund]")
    phone.fill("#amount", "20")
    phone.click("button:has-text('下一步')")
    assert "幸福社区爱心基金" in phone.locator("#gift-to").inner_text()
    phone.click("button:has-text('确认转赠')")
    assert data.points(session, store["volunteer"]).available == 230


def test_a_resident_posts_a_wish_and_rates_the_service(session, tree, live_server, new_page):
    resident = data.person(session, "赵奶奶", "13900000004", tree.grid_a)
    neighbour = data.person(session, "钱大爷", "13900000005", tree.grid_a)
    admin = data.person(session, "幸福社区书记", "13800000001", tree.community_a, Role.community_admin,
                        org_id=tree.community_a.id)
    phone = new_page(PHONE)
    login(phone, live_server, "app", resident.phone)
    phone.click("nav >> text=更多")
    phone.click("main >> text=微心愿")
    assert_accessible(phone)
    phone.fill("#title", "帮忙更换厨房灯泡")
    phone.fill("#description", "独居，够不着")
    phone.click("button:has-text('提交心愿')")
    assert "心愿已提交" in phone.locator(".flash").inner_text()
    card = phone.locator("[data-need-id]")
    assert "待受理" in card.locator(".status").inner_text()
    need_id = int(card.get_attribute("data-need-id"))

    # The community turns the wish into a task and marks it fulfilled (the console's and API's services).
    session.rollback()  # end the test thread's read so it sees what the browser wrote
    actor = load_person_actor(session, admin)
    start = utcnow() + timedelta(hours=1)
    tasks.publish(session, actor, org_id=tree.community_a.id, title="更换灯泡", category="橙色关爱", place="赵奶奶家",
                  starts_at=start, ends_at=start + timedelta(hours=1), slots=1, need_id=need_id)
    needs.fulfil(session, actor, need_id)
    session.commit()

    phone.reload()
    assert "已完成" in phone.locator(f"[data-need-id='{need_id}'] .status").inner_text()
    assert_accessible(phone)
    screenshot(phone, "app-wishes-rate-390")
    phone.check(f"[data-need-id='{need_id}'] input[name=stars][value='4']")
    phone.fill(f"#comment-{need_id}", "小伙子很热心")
    phone.click("button:has-text('提交评价')")
    assert "感谢您的评价" in phone.locator(".flash").inner_text()
    assert "★★★★☆" in phone.locator(f"[data-need-id='{need_id}'] .rated").inner_text()

    # A neighbour cannot rate someone else's wish, even with a valid form token.
    other = new_page(PHONE)
    login(other, live_server, "app", neighbour.phone)
    other.goto(f"{live_server}/app/wishes")
    assert other.locator("[data-need-id]").count() == 0
    token = other.locator("input[name=csrf_token]").first.get_attribute("value")
    other.request.post(f"{live_server}/app/wishes/{need_id}/rate", form={"csrf_token": token, "stars": "1"})
    session.rollback()
    ratings = list(session.scalars(select(Rating).where(Rating.need_id == need_id)))
    assert [(r.stars, r.rater_id) for r in ratings] == [(4, resident.id)]
    assert session.get(Need, need_id).requester_id == resident.id
    session.rollback()
