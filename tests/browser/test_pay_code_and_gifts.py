"""The till's pay-code (付款码) flow and gifts (转赠), in the browser.

The volunteer shows a pay code in /app; the assistant types it with a reward from the shelf, sees whose code it
is and the points, and confirms: the points move once. A used code, a code for a reward the volunteer cannot
afford and another shop's reward are refused in Chinese. A gift's review refuses more points than the giver
has; the recipient sees who gave and the note."""

from __future__ import annotations

import pytest

from tests.browser.conftest import DESKTOP, PHONE, assert_accessible, login, screenshot
from tests.pages import shop as data
from timebank.people.models import Role


@pytest.fixture
def shop(session, tree):
    a = data.merchant(session, "联盟超市(幸福店)", tree.street, [tree.community_a])
    b = data.merchant(session, "便民理发店", tree.street, [tree.community_a])
    oil = data.reward(session, a, "食用油 1 桶", 80, [tree.community_a])
    tv = data.reward(session, a, "电饭煲", 900, [tree.community_a])
    haircut = data.reward(session, b, "理发一次", 60, [tree.community_a])
    clerk = data.person(session, "超市店员", "13700000031", tree.community_a, Role.merchant_staff, merchant_id=a.id)
    volunteer = data.person(session, "陈静", "13900000031", tree.grid_a)
    relative = data.person(session, "陈母", "13900000032", tree.grid_b)
    data.give_points(session, volunteer, 200)
    return {"oil": oil, "tv": tv, "haircut": haircut, "clerk": clerk, "volunteer": volunteer, "relative": relative}


def _pay_code(page, base) -> str:
    page.goto(f"{base}/app/pay-code")
    page.click("main form button.primary")  # 生成付款码, or 刷新付款码 when one is shown
    return page.locator("#pay-code").inner_text()


def test_pay_code_at_the_till(session, shop, live_server, new_page):
    phone = new_page(PHONE)
    login(phone, live_server, "app", "13900000031")
    phone.goto(f"{live_server}/app/rewards")
    phone.click("#pay-code-link")
    assert phone.locator("h1").inner_text() == "付款码"
    code = _pay_code(phone, live_server)
    assert len(code) == 9 and code[4] == "-"
    assert phone.locator(".qr svg").count() == 1
    assert_accessible(phone)
    screenshot(phone, "app-pay-code-390")
    wide = new_page(DESKTOP)
    login(wide, live_server, "app", "13900000031")
    wide.goto(f"{live_server}/app/pay-code")
    screenshot(wide, "app-pay-code-1280")

    till = new_page(DESKTOP)
    login(till, live_server, "merchant", "13700000031")
    options = till.locator("#reward_id option").all_inner_texts()
    assert options == ["食用油 1 桶（80 积分）", "电饭煲（900 积分）"]  # this shop's shelf only
    till.fill("#pay_code", code.lower().replace("-", " "))  # typed any way
    till.select_option("#reward_id", str(shop["tv"].id))
    till.click("button:has-text('查询付款码')")
    assert "积分不足" in till.locator(".flash.error").inner_text()
    till.select_option("#reward_id", str(shop["oil"].id))
    till.click("button:has-text('查询付款码')")
    assert till.locator("#pay-volunteer").inner_text() == "陈*"
    assert till.locator("#pay-points").inner_text() == "80"
    assert till.locator("#pay-available").inner_text() == "200"
    assert_accessible(till)
    screenshot(till, "merchant-pay-preview-1280")
    small_till = new_page(PHONE)  # the same preview at phone width (a lookup moves nothing)
    login(small_till, live_server, "merchant", "13700000031")
    small_till.fill("#pay_code", code)
    small_till.select_option("#reward_id", str(shop["oil"].id))
    small_till.click("button:has-text('查询付款码')")
    assert small_till.locator("#pay-points").inner_text() == "80"
    screenshot(small_till, "merchant-pay-preview-390")
    till.click("button:has-text('确认收款')")
    assert "收款成功：食用油 1 桶，80 积分" in till.locator(".flash").inner_text()
    session.rollback()  # the ids read above opened a snapshot: end it to see the till's write
    assert data.points(session, shop["volunteer"]).available == 120

    till.fill("#pay_code", code)
    till.click("button:has-text('查询付款码')")
    assert "付款码已使用或已过期" in till.locator(".flash.error").inner_text()
    screenshot(till, "merchant-till-1280")
    small = new_page(PHONE)
    login(small, live_server, "merchant", "13700000031")
    screenshot(small, "merchant-till-390")

    fresh = _pay_code(phone, live_server)
    token = till.locator("input[name=csrf_token]").first.get_attribute("value")
    other_shop = till.request.post(f"{live_server}/merchant/pay/lookup", form={
        "csrf_token": token, "pay_code": fresh, "reward_id": str(shop["haircut"].id)})
    assert other_shop.status == 403 and "其他商户" in other_shop.text()
    assert data.points(session, shop["volunteer"]).available == 120


def test_gift_review_refuses_more_than_available_and_the_recipient_sees_who_gave(session, shop, live_server,
                                                                                 new_page):
    page = new_page(PHONE)
    login(page, live_server, "app", "13900000031")
    page.goto(f"{live_server}/app/gift")
    page.fill("#phone", "139 0000 0032")
    page.eval_on_selector("#amount", "el => el.removeAttribute('max')")
    page.fill("#amount", "999")
    page.fill("#note", "给妈妈买菜")
    page.click("button:has-text('下一步')")
    assert "可用积分只有 200，不够转赠 999 积分（还差 799）" in page.locator(".flash.error").inner_text()
    assert page.locator("h1").inner_text() == "转赠积分"
    assert_accessible(page)
    screenshot(page, "app-gift-refused-390")

    page.fill("#amount", "50")
    page.click("button:has-text('下一步')")
    assert page.locator("#gift-to").inner_text() == "陈*（139****0032）"
    page.click("button:has-text('确认转赠')")
    assert "已转赠 50 积分" in page.locator(".flash").inner_text()
    assert "赠给 陈*：“给妈妈买菜”" in page.locator("#history-h + ul").inner_text()

    relative = new_page(PHONE)
    login(relative, live_server, "app", "13900000032")
    line = relative.locator("#history-h + ul li").first.inner_text()
    assert "+50" in line and "陈静 赠送：“给妈妈买菜”" in line
    assert_accessible(relative)
    screenshot(relative, "app-home-gift-received-390")
    wide = new_page(DESKTOP)
    login(wide, live_server, "app", "13900000032")
    screenshot(wide, "app-home-gift-received-1280")
