"""The front door, the verification page, the Chinese 404 and switch-account pages, and the volunteer's new
screens, on the demo district `make run` loads: sessions with their real status and reason, history with filters
and paging, the period statement (PDF, CSV), rewards with the shop, the honour board, phones typed any way, five
tabs and 更多. Every page is checked with axe; screenshots at 390×844 and 1280×800 when TIMEBANK_SCREENSHOTS is set.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from tests.appraisal.service import drain_all
from tests.browser.conftest import DESKTOP, PHONE, assert_accessible, login, screenshot
from timebank import clock
from timebank.db_base import utcnow
from timebank.demo import DEMO_PASSWORD
from timebank.hours import attendance, claims, tasks, verification
from timebank.hours.models import Attendance, AttendanceStatus, Decision
from timebank.people.access import load_person_actor
from timebank.redemption import redemptions
from timebank.redemption.models import Reward

VOLUNTEER = "13900000000"  # 张伟, a party member of 区人民医院 living in 幸福社区
ADMIN = "13800000003"  # 幸福社区管理员


def _both(page_maker, name: str, url: str, then=None) -> None:
    """Open `url` at phone and desktop size, check axe, keep the screenshots."""
    for size, suffix in ((PHONE, "390"), (DESKTOP, "1280")):
        page = page_maker(size)
        if then:
            then(page)
        page.goto(url)
        assert_accessible(page)
        screenshot(page, f"{name}-{suffix}")


def test_front_door_verification_404_and_switching_account(demo_district, live_server, new_page):
    report = demo_district.rendered_report()
    code = report.verification_code
    page = new_page(PHONE)
    page.goto(f"{live_server}/")
    assert page.locator("h1").inner_text() == "爱心银行"
    for label in ("志愿者", "爱心商户收银台", "社区管理后台", "单位党组织", "核验证明"):
        assert page.locator(f"main a:has-text('{label}')").count() == 1
    assert_accessible(page)
    screenshot(page, "landing-390")

    page.fill("#landing-code", f" {code.lower().replace('-', ' ')} ")  # typed any way
    page.click("button:has-text('核验')")
    result = page.locator("#verify-result").inner_text()
    assert "核验通过" in result and report.employer.name in result and code in result
    assert_accessible(page)
    screenshot(page, "verify-genuine-390")
    page.fill("#code", "ZZZZ-ZZZZ")
    page.click("main form button:has-text('核验')")
    assert "未找到该核验码" in page.locator("#verify-result").inner_text()
    assert_accessible(page)
    screenshot(page, "verify-unknown-390")
    # the letter's printed link opens the same page, not JSON
    page.goto(f"{live_server}/verify/{code}")
    assert "核验通过" in page.locator("#verify-result").inner_text()
    _both(new_page, "landing", f"{live_server}/")

    page.goto(f"{live_server}/app/no-such-page")
    assert page.locator("h1").inner_text() == "页面不存在"
    assert "找不到您要访问的页面" in page.locator("main").inner_text()
    assert_accessible(page)
    screenshot(page, "not-found-390")
    page.goto(f"{live_server}/no-such-page")
    assert page.locator("h1").inner_text() == "页面不存在"

    # a volunteer who opens the console is offered to switch account, then the admin lands where they aimed
    login(page, live_server, "app", VOLUNTEER, DEMO_PASSWORD)
    page.goto(f"{live_server}/console/tasks")
    assert page.locator("h1").inner_text() == "没有权限"
    assert page.locator("#switch-account button").inner_text() == "退出并切换账号"
    assert_accessible(page)
    screenshot(page, "switch-account-390")
    page.click("#switch-account button")
    assert "/console/login" in page.url
    login(page, None, "console", ADMIN, DEMO_PASSWORD)
    assert page.url.endswith("/console/tasks")


def _sessions_in_every_state(session, world) -> None:
    """Beside the demo's credited sessions: one awaiting verification, one rejected with a reason, one reversed."""
    admin = load_person_actor(session, world.person(ADMIN))
    volunteer = world.person(VOLUNTEER)
    me = load_person_actor(session, volunteer)
    start = (utcnow() - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)
    made = []
    for n, title in enumerate(("楼道清扫", "敬老院陪护")):
        at = start + timedelta(hours=4 * n)
        with clock.frozen_at(at - timedelta(days=1)):
            task = tasks.publish(session, admin, org_id=volunteer.home_org.parent_id if volunteer.home_org.kind ==
                                 "grid" else volunteer.home_org_id, title=title, category="绿色环保",
                                 place="幸福社区", starts_at=at, ends_at=at + timedelta(hours=2), slots=5)
            claim = claims.claim(session, me, task.id)
        with clock.frozen_at(at + timedelta(hours=3)):
            made.append(attendance.late_entry(session, admin, claim_id=claim.id, checked_in_at=at,
                                              checked_out_at=at + timedelta(hours=1), reason="现场签到表补录"))
    verification.verify(session, admin, made[1].id, decision=Decision.rejected, reason="未在现场见到该志愿者")
    credited = session.scalar(select(Attendance).where(Attendance.person_id == volunteer.id,
                                                       Attendance.status == AttendanceStatus.accepted)
                              .order_by(Attendance.id))
    complaint = verification.file_complaint(session, admin, credited.id, text="群众反映未到场")
    verification.decide_complaint(session, admin, complaint.id, uphold=True, reason="经核实未实际到场")
    session.commit()
    drain_all(session)


def test_a_volunteer_sees_each_session_as_it_stands(session, demo_district, live_server, new_page):
    _sessions_in_every_state(session, demo_district)
    page = new_page(PHONE)
    login(page, live_server, "app", "+86 139 0000 0000", DEMO_PASSWORD)  # spaces and +86 are fine
    page.click("nav >> text=我的任务")
    states = page.locator(".sessions li")
    text = page.locator(".sessions").inner_text()
    for label in ("待审核", "已入账", "未通过", "已冲正"):
        assert label in text, label
    rejected = page.locator(".sessions li[data-state='rejected']")
    assert "原因：未在现场见到该志愿者" in rejected.inner_text()
    assert "原因：经核实未实际到场" in page.locator(".sessions li[data-state='reversed']").inner_text()
    credited = page.locator(".sessions li[data-state='credited']").first
    assert states.count() >= 4 and "已报名" not in credited.inner_text()
    assert_accessible(page)
    screenshot(page, "app-sessions-390")
    _both(new_page, "app-sessions", f"{live_server}/app/claims",
          then=lambda p: login(p, live_server, "app", "139-0000-0000", DEMO_PASSWORD))


def test_history_statement_rewards_honour_board_and_tabs(monkeypatch, session, demo_district, live_server,
                                                          new_page):
    from timebank.pages import app_records

    volunteer = demo_district.person(VOLUNTEER)
    me = load_person_actor(session, volunteer)
    rice = session.scalar(select(Reward).where(Reward.name == "洗衣液"))  # 30 points: within reach
    red, _code = redemptions.redeem(session, me, reward_id=rice.id)
    redemptions.cancel(session, me, red.id)  # a hold and its release: they move no points
    session.commit()

    page = new_page(PHONE)
    login(page, live_server, "app", VOLUNTEER, DEMO_PASSWORD)
    home = page.locator("main").inner_text()
    assert "0 积分 · 兑换冻结" not in home and "0 积分 · 冻结退回" not in home
    tabs = page.locator("nav.tabs a")
    assert tabs.count() <= 5 and tabs.last.inner_text() == "更多"
    page.click("nav >> text=更多")
    more = page.locator("main .more").inner_text()
    for label in ("服务时长", "积分明细", "对账单", "光荣榜", "我的兑换", "转赠", "微心愿", "党员报到", "我的考评"):
        assert label in more, label
    assert_accessible(page)
    screenshot(page, "app-more-390")

    monkeypatch.setattr(app_records, "PAGE", 2)  # page through the demo's few entries two at a time
    page.click("main >> text=积分明细")
    rows = page.locator(".history li")
    rows.first.wait_for()
    assert rows.count() == 2
    first = rows.all_inner_texts()
    page.click("text=更早的记录")
    page.wait_for_load_state()  # count() does not wait: read the next page once it has loaded
    page.locator(".history li").first.wait_for()
    assert page.locator(".history li").count() >= 1 and page.locator(".history li").all_inner_texts() != first
    page.select_option("#kind", "credit")
    page.fill("#period", str(utcnow().year))
    page.click("button:has-text('筛选')")
    page.wait_for_load_state()
    page.locator(".history li").first.wait_for()
    assert all("服务入账" in t for t in page.locator(".history li").all_inner_texts())
    assert_accessible(page)
    screenshot(page, "app-history-390")
    page.fill("#period", "2025-13")
    page.click("button:has-text('筛选')")
    assert "月份须为 01 到 12" in page.locator(".flash.error").inner_text()

    page.goto(f"{live_server}/app/statement?period={utcnow().year}")
    assert int(page.locator("#points-closing").inner_text()) > 0
    assert_accessible(page)
    screenshot(page, "app-statement-390")
    with page.expect_download() as csv_download:
        page.click("text=下载表格（CSV）")
    raw = Path(csv_download.value.path()).read_bytes()
    assert raw.startswith("\ufeff".encode()) and raw.decode("utf-8-sig").startswith("时间（北京时间）,账本,类型,变动")
    assert "服务入账" in raw.decode("utf-8-sig")
    with page.expect_download() as pdf_download:
        page.click("text=下载 PDF")
    assert Path(pdf_download.value.path()).read_bytes().startswith(b"%PDF")
    page.goto(f"{live_server}/app/statement?period=soon")
    assert "统计期须写成" in page.locator(".flash.error").inner_text()

    page.click("nav >> text=兑换")
    shop = page.locator("[data-reward-id]").first.inner_text()
    assert "地址：" in shop and "营业时间：" in shop
    later = page.locator("[data-reward-id].later")
    if later.count():
        assert "还差" in later.first.inner_text()
    assert_accessible(page)
    screenshot(page, "app-rewards-shops-390")

    page.goto(f"{live_server}/app/honour")
    board = page.locator("table.honour tbody").inner_text()
    assert "（我）" in board or volunteer.name in board
    assert_accessible(page)
    screenshot(page, "app-honour-390")
    for name, path in (("app-home-demo", "/app/"), ("app-history", "/app/history"), ("app-statement", "/app/statement"),
                       ("app-rewards-shops", "/app/rewards"), ("app-honour", "/app/honour"), ("app-more", "/app/more")):
        _both(new_page, name, f"{live_server}{path}",
              then=lambda p: login(p, live_server, "app", VOLUNTEER, DEMO_PASSWORD))


def test_console_pages_speak_chinese_with_names(session, demo_district, live_server, new_page):
    from timebank.workers.jobs.ledger_maintenance import reconcile

    demo_district.rendered_report()  # the demo's e-mail deliveries fail: no mail server listens
    reconcile("cron")
    auditor = new_page(DESKTOP)
    login(auditor, live_server, "console", "13800000006", DEMO_PASSWORD)
    auditor.click("nav >> text=操作日志")
    log = auditor.locator("main table").inner_text()
    assert "person:" not in log and not re.search(r"\b[a-z_]+\.[a-z_]+\b", log)  # no raw action code
    assert "幸福社区管理员" in log and ("认领任务" in log or "新建服务队" in log)  # actions and people by name
    assert_accessible(auditor)
    screenshot(auditor, "console-audit-1280")
    auditor.click("nav >> text=对账")
    assert auditor.locator("#latest-run dd").nth(4).inner_text() == "系统定时任务"
    assert "cron" not in auditor.locator("main").inner_text()
    assert_accessible(auditor)
    screenshot(auditor, "console-reconciliation-1280")

    admin = new_page(DESKTOP)
    login(admin, live_server, "console", "13800000001", DEMO_PASSWORD)
    admin.click("nav >> text=党员考评")
    admin.locator("a[href*='/appraisal/runs/']").first.click()
    problems = admin.locator(".delivery-problem").all_inner_texts()
    assert problems and all("Errno" not in p and "Error" not in p for p in problems)
    assert any("无法连接邮件服务器" in p for p in problems)
    assert_accessible(admin)
    screenshot(admin, "console-appraisal-run-1280")
