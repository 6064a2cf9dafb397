"""In the browser: a volunteer claims a micro-wish on a phone and marks it fulfilled; an admin at a desktop finds
an overdue need, escalates it with a reason and reads its trail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.browser.conftest import DESKTOP, PASSWORD, assert_accessible, login, screenshot
from timebank.hours import needs
from timebank.hours.models import NeedEscalation, NeedKind, WishClaim
from timebank.people import persons as people
from timebank.people.access import load_person_actor
from timebank.people.models import Role


@pytest.fixture
def site(session, tree, clock):
    tree.district.settings = {"need_deadlines": {"*": {"respond_hours": 4, "fulfil_days": 2}}}

    def person(name, phone, home, role=None, org=None):
        p = people.register(session, None, name=name, phone=phone, password=PASSWORD, home_org_id=home.id)
        if role:
            people.grant(session, None, p, role, org_id=org.id)
        return p

    admin = person("幸福社区书记", "13800003001", tree.community_a, Role.community_admin, tree.community_a)
    volunteer = person("张伟", "13900003011", tree.grid_a)
    resident = person("李奶奶", "13900003013", tree.grid_a)
    as_resident = load_person_actor(session, resident)
    wish = needs.post(session, as_resident, kind=NeedKind.micro_wish, org_id=tree.grid_a.id,
                      title="想要一套小学数学练习册", description="孙子上三年级")
    late = needs.post(session, as_resident, kind=NeedKind.request, org_id=tree.grid_a.id, title="楼道灯坏了")
    ids = {"admin_id": admin.id, "volunteer_id": volunteer.id, "wish_id": wish.id, "late_id": late.id}
    session.commit()
    clock.advance(hours=5)
    return ids


def test_a_volunteer_claims_a_wish_on_a_phone(session, site, live_server, new_page):
    page = new_page()
    login(page, live_server, "app", "13900003011")
    page.goto(f"{live_server}/app/wishes")
    card = page.locator(f".nearby-wishes [data-need-id='{site['wish_id']}']")
    assert "想要一套小学数学练习册" in card.inner_text()
    assert_accessible(page)
    screenshot(page, "wishes-390")
    card.locator("input[name=way][value=goods]").check()
    card.locator("input[name=goods_description]").fill("数学练习册一套")
    card.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "认领成功" in page.locator("main .flash").inner_text()
    mine = page.locator(".my-wish-claims [data-claim-id]")
    assert mine.count() == 1 and "已认领" in mine.inner_text() and "数学练习册一套" in mine.inner_text()
    mine.locator("input[name=people_helped]").fill("2")
    mine.locator("form.fulfil-wish button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "已标记完成" in page.locator("main .flash").inner_text()
    assert "待确认" in page.locator(".my-wish-claims [data-claim-id]").inner_text()
    assert "惠及 2 人" in page.locator(".my-wish-claims [data-claim-id]").inner_text()
    session.rollback()
    claim = session.scalars(select(WishClaim).where(WishClaim.need_id == site["wish_id"])).one()
    assert (claim.status, claim.people_helped, claim.person_id) == ("fulfilled", 2, site["volunteer_id"])
    session.rollback()


def test_an_admin_escalates_an_overdue_need_at_a_desktop(session, site, live_server, new_page, clock):
    page = new_page(DESKTOP)
    login(page, live_server, "console", "13800003001")
    page.goto(f"{live_server}/console/needs")
    page.get_by_role("link", name="已超时").click()
    page.wait_for_load_state("networkidle")
    card = page.locator(f"[data-need-id='{site['late_id']}']")
    assert card.get_attribute("data-overdue") == "respond"
    assert "超时未响应" in card.locator(".overdue-flag").inner_text()
    assert_accessible(page)
    screenshot(page, "console-needs-overdue-1280")
    card.locator("form.escalate input[name=reason]").fill("网格解决不了，需社区协调物业")
    card.locator("form.escalate button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "已上报至幸福社区" in page.locator("main .flash").inner_text()
    card = page.locator(f"[data-need-id='{site['late_id']}']")
    assert "已上报 1 级" in card.inner_text() and "社区·幸福社区" in card.inner_text()
    card.get_by_role("link", name="上报记录").click()
    page.wait_for_load_state("networkidle")
    row = page.locator("tr[data-level='1']")
    assert "幸福社区书记" in row.inner_text() and "网格解决不了，需社区协调物业" in row.inner_text()
    session.rollback()
    steps = session.scalars(select(NeedEscalation).where(NeedEscalation.need_id == site["late_id"])).all()
    assert [(s.level, s.by_id) for s in steps] == [(1, site["admin_id"])]
    assert clock.now - steps[0].created_at < timedelta(seconds=1)
    session.rollback()
