"""The merchant till and the console's merchant screens: another shop's code is refused, a refusal gives the
points back, the statement downloads as CSV; admins suspend a merchant and list a reward within their scope,
and only auditors read the ledger reconciliation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import DESKTOP, PHONE, assert_accessible, login, screenshot
from tests.pages import shop as data
from timebank.ledger import verify
from timebank.people.access import load_person_actor
from timebank.people.models import MerchantStatus, Role
from timebank.redemption import redemptions as redemption
from timebank.redemption.models import Redemption, RedemptionStatus


@pytest.fixture
def two_shops(session, tree):
    a = data.merchant(session, "联盟超市(幸福店)", tree.street, [tree.community_a])
    b = data.merchant(session, "便民理发店", tree.street, [tree.community_a])
    rice = data.reward(session, a, "大米 5kg", 100, [tree.community_a])
    haircut = data.reward(session, b, "理发一次", 60, [tree.community_a])
    clerk_a = data.person(session, "超市店员", "13700000011", tree.community_a, Role.merchant_staff, merchant_id=a.id)
    clerk_b = data.person(session, "理发店员", "13700000012", tree.community_a, Role.merchant_staff, merchant_id=b.id)
    volunteer = data.person(session, "陈静", "13900000011", tree.grid_a)
    data.give_points(session, volunteer, 300)
    return {"a": a, "b": b, "rice": rice, "haircut": haircut, "clerk_a": clerk_a, "clerk_b": clerk_b,
            "volunteer": volunteer}


def _redeem(session, who, reward) -> tuple[int, str]:
    red, code = redemption.redeem(session, load_person_actor(session, who), reward_id=reward.id)
    session.commit()
    return red.id, code


def _status(session, redemption_id):
    session.rollback()
    status = session.get(Redemption, redemption_id).status
    session.rollback()
    return status


def test_another_merchants_code_is_refused_and_its_own_assistant_confirms(session, two_shops, live_server,
                                                                          new_page):
    red_id, code = _redeem(session, two_shops["volunteer"], two_shops["haircut"])
    till_a = new_page(DESKTOP)
    login(till_a, live_server, "merchant", "13700000011")
    till_a.fill("#code", code)
    till_a.click("button:has-text('查询')")
    assert "不属于本店" in till_a.locator(".flash.error").inner_text()
    assert till_a.locator(".found").count() == 0  # nothing of the other shop's redemption is shown
    assert_accessible(till_a)
    screenshot(till_a, "merchant-till-refused-1280")
    token = till_a.locator("input[name=csrf_token]").first.get_attribute("value")
    till_a.request.post(f"{live_server}/merchant/confirm", form={"csrf_token": token, "code": code})
    till_a.request.post(f"{live_server}/merchant/redemptions/{red_id}/refuse", form={"csrf_token": token})
    assert _status(session, red_id) == RedemptionStatus.held
    assert data.points(session, two_shops["volunteer"]).available == 240

    till_b = new_page(PHONE)  # the barber uses a phone as the till
    login(till_b, live_server, "merchant", "13700000012")
    till_b.fill("#code", f"TBR1:{red_id}:{code}")  # what a scanner reads from the QR
    till_b.click("button:has-text('查询')")
    assert till_b.locator("#found-volunteer").inner_text() == "陈*"
    assert_accessible(till_b)
    screenshot(till_b, "merchant-till-found-390")
    till_b.click("button:has-text('确认核销')")
    assert "核销成功" in till_b.locator(".flash").inner_text()
    assert _status(session, red_id) == RedemptionStatus.captured
    balance = data.points(session, two_shops["volunteer"])
    assert (balance.available, balance.debits_posted, balance.debits_pending) == (240, 60, 0)


def test_refusal_returns_the_points_and_the_statement_downloads(session, two_shops, live_server, new_page):
    refused_id, refused_code = _redeem(session, two_shops["volunteer"], two_shops["rice"])
    kept_id, kept_code = _redeem(session, two_shops["volunteer"], two_shops["rice"])
    till = new_page(DESKTOP)
    login(till, live_server, "merchant", "13700000011")
    till.fill("#code", refused_code)
    till.click("button:has-text('查询')")
    till.fill("#reason", "货架上已无此商品")
    till.click("button:has-text('拒绝')")
    assert "已拒绝" in till.locator(".flash").inner_text()
    assert _status(session, refused_id) == RedemptionStatus.released
    till.fill("#code", kept_code)
    till.click("button:has-text('查询')")
    till.click("button:has-text('确认核销')")
    assert data.points(session, two_shops["volunteer"]).available == 200

    till.click("nav >> text=结算对账单")
    assert till.locator("#statement-points").inner_text() == "100"
    assert_accessible(till)
    screenshot(till, "merchant-statement-1280")
    with till.expect_download() as info:
        till.click("#download-csv")
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    lines = text.strip().splitlines()
    assert lines[0].startswith("兑换编号,商品,积分,核销时间（北京时间）")
    assert any(line.startswith(f"{kept_id},") and "大米 5kg" in line for line in lines)
    assert not any(line.startswith(f"{refused_id},") for line in lines)
    assert lines[-1].startswith("合计,,100")

    phone = new_page(PHONE)
    login(phone, live_server, "app", "13900000011")
    phone.goto(f"{live_server}/app/redemptions/{refused_id}")
    assert phone.locator("#redemption-status").inner_text() == "商户已拒绝"
    assert "货架上已无此商品" in phone.locator("main").inner_text()

    # A volunteer without a shop cannot open the till.
    assert phone.goto(f"{live_server}/merchant/").status == 403


def test_console_merchants_rewards_and_reconciliation_within_scope(session, tree, two_shops, live_server,
                                                                  new_page):
    data.person(session, "街道管理员", "13800000021", tree.street, Role.street_admin, org_id=tree.street.id)
    data.person(session, "和谐社区书记", "13800000022", tree.community_b, Role.community_admin,
                org_id=tree.community_b.id)
    data.person(session, "审计员", "13800000023", tree.district, Role.auditor, org_id=tree.district.id)

    console = new_page(DESKTOP)
    console.on("dialog", lambda dialog: dialog.accept())
    login(console, live_server, "console", "13800000021")
    console.click("nav >> text=爱心商户")
    row = console.locator(f"tr[data-merchant-id='{two_shops['a'].id}']")
    assert row.locator(".status").inner_text() == "正常"
    assert_accessible(console)
    screenshot(console, "console-merchants-1280")
    row.locator("button:has-text('暂停兑换')").click()
    assert "已暂停" in console.locator(".flash").inner_text()
    assert row.locator(".status").inner_text() == "已暂停"
    session.rollback()
    assert session.get(type(two_shops["a"]), two_shops["a"].id).status == MerchantStatus.suspended
    session.rollback()
    row.locator("button:has-text('恢复兑换')").click()
    assert row.locator(".status").inner_text() == "正常"

    row.locator("a").click()
    console.fill("#name", "洗衣液 2kg")
    console.fill("#points_price", "80")
    console.fill("#stock", "20")
    console.click("button:has-text('上架')")
    assert "已上架" in console.locator(".flash").inner_text()
    assert "洗衣液 2kg" in console.locator("[data-reward-id]").first.inner_text()
    assert_accessible(console)
    screenshot(console, "console-merchant-rewards-1280")
    assert console.goto(f"{live_server}/console/reconciliation").status == 403  # a street admin is no auditor

    # 和谐社区's admin sees the shops serving nobody of theirs as nothing, and cannot suspend them.
    other = new_page(DESKTOP)
    login(other, live_server, "console", "13800000022")
    other.goto(f"{live_server}/console/merchants")
    assert other.locator(f"[data-merchant-id='{two_shops['a'].id}']").count() == 0
    token = other.locator("input[name=csrf_token]").first.get_attribute("value")
    assert other.goto(f"{live_server}/console/merchants/{two_shops['a'].id}").status == 403
    other.request.post(f"{live_server}/console/merchants/{two_shops['a'].id}/status",
                       form={"csrf_token": token, "status": "suspended"})
    session.rollback()
    assert session.get(type(two_shops["a"]), two_shops["a"].id).status == MerchantStatus.active
    session.rollback()

    auditor = new_page(DESKTOP)
    login(auditor, live_server, "console", "13800000023")
    auditor.click("nav >> text=对账")
    assert auditor.locator("#no-runs").count() == 1
    verify.verify(session, triggered_by="test")
    session.commit()
    auditor.reload()
    assert auditor.locator("#latest-result").inner_text() == "账实相符"
    assert_accessible(auditor)
    screenshot(auditor, "console-reconciliation-1280")
