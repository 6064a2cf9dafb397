"""The console's irreversible and merchant-facing work in the browser: settling and taking a reward off the shelf
go through a confirmation page (no JavaScript); a merchant's webhook address and signing secret; uploading the
merchant's reconciliation CSV and reading the result; editing a reward; choosing a report's delivery channel
(a portal link when mail cannot reach the employer). Another street's admin is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.appraisal.service import work
from tests.browser.conftest import DESKTOP, PHONE, assert_accessible, login, screenshot
from tests.browser.test_employer_portal import _report_of, world  # noqa: F401 - the appraisal fixture
from tests.pages import shop as data
from timebank.appraisal import reports as appraisal
from timebank.appraisal.models import DeliveryChannel, PeriodKind, ReportDelivery
from timebank.people.access import load_person_actor
from timebank.people.models import Role
from timebank.redemption import redemptions as redemption
from timebank.redemption.models import Reward, RewardStatus, Settlement


@pytest.fixture
def shop(session, tree):
    a = data.merchant(session, "联盟超市(幸福店)", tree.street, [tree.community_a])
    rice = data.reward(session, a, "大米 5kg", 100, [tree.community_a])
    admin = data.person(session, "街道管理员", "13800004001", tree.street, Role.street_admin, org_id=tree.street.id)
    outsider = data.person(session, "和谐社区书记", "13800004002", tree.community_b, Role.community_admin,
                           org_id=tree.community_b.id)
    volunteer = data.person(session, "陈静", "13900004011", tree.grid_a)
    data.give_points(session, volunteer, 300)
    red, code = redemption.redeem(session, load_person_actor(session, volunteer), reward_id=rice.id)
    clerk = data.person(session, "店员", "13700004011", tree.community_a, Role.merchant_staff, merchant_id=a.id)
    redemption.confirm_code(session, load_person_actor(session, clerk), code=code)
    session.commit()
    out = {"merchant": a, "rice": rice, "admin": admin, "outsider": outsider, "redemption_id": red.id}
    session.commit()  # end the read that `red.id` began: the app's writes must not wait for it
    return out


def test_settle_and_shelve_ask_for_confirmation(session, shop, live_server, new_page, clock):
    page = new_page(DESKTOP)
    login(page, live_server, "console", "13800004001")
    page.goto(f"{live_server}/console/merchants/{shop['merchant'].id}")
    today = (clock.now).strftime("%Y-%m-%d")
    page.fill("#start", today[:8] + "01")
    page.fill("#end", today)
    page.click("button:has-text('结算本期')")
    assert page.locator("h1").inner_text() == "请确认：结算「联盟超市(幸福店)」"
    assert "不能撤销" in page.locator("#confirm-warning").inner_text()
    assert session.scalar(select(Settlement.id)) is None
    session.rollback()
    assert_accessible(page)
    screenshot(page, "console-confirm-settle-1280")
    small = new_page(PHONE)  # the same confirmation at phone width (asking moves nothing)
    login(small, live_server, "console", "13800004001")
    small.goto(f"{live_server}/console/merchants/{shop['merchant'].id}")
    small.fill("#start", today[:8] + "01")
    small.fill("#end", today)
    small.click("button:has-text('结算本期')")
    screenshot(small, "console-confirm-settle-390")
    page.click("button:has-text('确认结算')")
    assert "已结算 1 笔兑换，共 100 积分" in page.locator(".flash").inner_text()

    row = page.locator(f"tr[data-reward-id='{shop['rice'].id}']")
    row.locator("button:has-text('下架')").click()
    assert page.locator("h1").inner_text() == "请确认：下架「大米 5kg」"
    page.click("text=返回，不下架")
    session.rollback()
    assert session.get(Reward, shop["rice"].id).status == RewardStatus.active
    session.rollback()
    page.locator(f"tr[data-reward-id='{shop['rice'].id}'] button:has-text('下架')").click()
    page.click("button:has-text('确认下架')")
    assert "商品已下架" in page.locator(".flash").inner_text()
    phone = new_page(PHONE)
    login(phone, live_server, "console", "13800004001")
    phone.goto(f"{live_server}/console/merchants/{shop['merchant'].id}")
    screenshot(phone, "console-merchant-390")


def test_webhook_reconciliation_upload_and_reward_edit(session, shop, live_server, new_page, run_jobs, clock,
                                                       tmp_path):
    page = new_page(DESKTOP)
    login(page, live_server, "console", "13800004001")
    page.goto(f"{live_server}/console/merchants/{shop['merchant'].id}")
    page.fill("#webhook_url", "ftp://shop.example/hook")
    page.eval_on_selector("#webhook_url", "el => el.type = 'text'")
    page.click("button:has-text('保存推送地址')")
    assert "推送地址格式不正确" in page.locator(".flash.error").inner_text()
    page.fill("#webhook_url", "https://shop.example/hook")
    page.click("button:has-text('保存推送地址')")
    assert "推送地址已保存" in page.locator(".flash").inner_text()
    first = page.locator("#new-secret code").inner_text()
    assert len(first) >= 20
    page.reload()
    assert page.locator("#new-secret").count() == 0  # shown once
    page.click("button:has-text('重新生成签名密钥')")
    assert page.locator("#new-secret code").inner_text() != first

    today = clock.now.strftime("%Y-%m-%d")
    csv = tmp_path / "shop.csv"
    csv.write_text(f"redemption_id,points\n{shop['redemption_id']},100\n999999,5\n", encoding="utf-8")
    page.fill("#recon-start", today[:8] + "01")
    page.fill("#recon-end", today)
    page.set_input_files("#csv_file", str(csv))
    page.click("button:has-text('上传并核对')")
    assert "对账文件已上传" in page.locator(".flash").inner_text()
    assert "核对中" in page.locator("#reconciliations").inner_text()
    run_jobs()
    page.reload()
    result = page.locator("#reconciliations li").first.inner_text()
    assert "有差异" in result and "一致 1 笔" in result and "本系统缺 1 笔" in result
    assert_accessible(page)
    screenshot(page, "console-merchant-settings-1280")

    page.click(f"tr[data-reward-id='{shop['rice'].id}'] >> text=修改")
    page.fill("#name", "东北大米 5kg")
    page.fill("#points_price", "0")
    page.eval_on_selector("form.stack", "f => f.noValidate = true")
    page.click("button:has-text('保存修改')")
    assert "须为正整数" in page.locator(".flash.error").inner_text()
    assert_accessible(page)
    screenshot(page, "console-reward-edit-1280")
    small = new_page(PHONE)
    login(small, live_server, "console", "13800004001")
    small.goto(f"{live_server}/console/merchants/{shop['merchant'].id}/rewards/{shop['rice'].id}/edit")
    screenshot(small, "console-reward-edit-390")
    page.fill("#points_price", "90")
    page.click("button:has-text('保存修改')")
    assert "已保存「东北大米 5kg」" in page.locator(".flash").inner_text()
    assert "90" in page.locator(f"tr[data-reward-id='{shop['rice'].id}']").inner_text()

    outsider = new_page(DESKTOP)
    login(outsider, live_server, "console", "13800004002")
    resp = outsider.goto(f"{live_server}/console/merchants/{shop['merchant'].id}/rewards/{shop['rice'].id}/edit")
    assert resp.status == 403


def test_a_reports_delivery_channel_is_chosen_on_resend(session, tree, world, live_server, new_page,  # noqa: F811
                                                        run_jobs):
    admin = load_person_actor(session, world["district_admin"])
    period = appraisal.create_period(session, admin, district_id=tree.district.id, kind=PeriodKind.year,
                                     year=world["year"])
    run = appraisal.start_run(session, admin, period.id)
    session.commit()
    work(session, run_jobs)
    report = _report_of(session, world["transport"])

    page = new_page(DESKTOP)
    login(page, live_server, "console", world["district_admin"].phone)
    page.goto(f"{live_server}/console/appraisal/runs/{run.id}")
    row = page.locator(f"tr[data-report-id='{report.id}']")
    row.locator("select").select_option("email")
    row.locator("button:has-text('重新发送')").click()
    assert "没有登记电子邮箱" in page.locator(".flash.error").inner_text()
    row = page.locator(f"tr[data-report-id='{report.id}']")
    row.locator("select").select_option("portal")
    row.locator("button:has-text('重新发送')").click()
    flash = page.locator(".flash").inner_text()
    assert "已生成下载链接" in flash and f"{live_server}/api/appraisal/portal/" in flash
    assert_accessible(page)
    screenshot(page, "console-appraisal-run-channel-1280")
    session.rollback()
    channels = set(session.scalars(select(ReportDelivery.channel).where(ReportDelivery.report_id == report.id)))
    assert DeliveryChannel.portal in channels
    session.rollback()
