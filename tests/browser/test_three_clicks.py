"""From the front door, each demo role reaches its main task in at most three clicks (signing in is typing, not
a click we count: the login form comes up by itself when an area needs it)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PHONE, assert_accessible
from timebank.demo import DEMO_PASSWORD

# role: (demo phone or None for anyone, the clicks from "/", the heading of the main task's page)
JOURNEYS = {
    "volunteer claims a task": ("13900000000", ["志愿者", "任务大厅"], "任务大厅"),
    "community admin verifies hours": ("13800000003", ["社区管理后台"], "待审核的服务记录"),
    "street admin verifies hours": ("13800000002", ["社区管理后台"], "待审核的服务记录"),
    "district admin runs the appraisal": ("13800000001", ["社区管理后台", "党员考评"], "在职党员考评（一信一函）"),
    "auditor reconciles the ledger": ("13800000006", ["社区管理后台", "对账"], "账本对账"),
    "shop assistant confirms a redemption": ("13800000007", ["爱心商户收银台"], "核销兑换"),
    "employer reads its letters": ("13800000009", ["单位党组织", "考评报告"], "考评报告（一信一函）"),
    "anyone verifies a letter": (None, ["核验证明"], "核验证明"),
    # the grid worker signs in at the console's door and is taken to the grid area's first screen
    "grid worker confirms on site": ("13800000005", ["社区管理后台"], "今日任务"),
}


@pytest.mark.parametrize("journey", sorted(JOURNEYS))
def test_each_role_reaches_its_main_task_in_three_clicks(journey, demo_district, live_server,
                                                         new_page):
    phone, clicks, heading = JOURNEYS[journey]
    assert len(clicks) <= 3
    page = new_page(PHONE)
    page.goto(f"{live_server}/")
    for label in clicks:
        scope = "nav.tabs" if page.locator(f"nav.tabs a:text-is('{label}')").count() else "main"
        page.click(f"{scope} a:text-is('{label}')")
        page.wait_for_load_state("networkidle")
        if "/login" in page.url:
            page.fill("#phone", phone)
            page.fill("#password", DEMO_PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_load_state("networkidle")
    assert page.locator("h1").inner_text().startswith(heading)
    assert_accessible(page)
