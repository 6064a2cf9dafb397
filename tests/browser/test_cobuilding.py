"""单位报到与共建 in the browser: the unit's party secretary reports the unit in to a community with two resources
and the co-building agreement (desktop); the community's admin accepts it, records a contribution and evaluates
the unit; after the district's run the unit's letter shows the report-in, the resources, the contribution and the
evaluation beside its members' figures. Another community's admin is refused the unit's page. The secretary's
phone shows the same."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.appraisal.service import work
from tests.browser.conftest import DESKTOP, PASSWORD, PHONE, assert_accessible, login, screenshot
from tests.browser.test_employer_portal import employer, member, report_in_accepted, secretary, site_with_logins
from timebank.appraisal import reports as appraisal
from timebank.appraisal.models import AppraisalReport
from timebank.clock import local_today
from timebank.cobuilding.models import UnitReportIn
from timebank.people.access import load_person_actor
from timebank.people.models import Role


def test_unit_reports_in_is_accepted_contributes_is_evaluated_and_its_letter_shows_it(
        session, tree, monkeypatch, make_person, run_jobs, live_server, new_page):
    site = site_with_logins(monkeypatch, session, tree, make_person)
    unit = employer(session, tree, "市交通运输局")
    zhang = member(session, make_person, unit, tree.grid_a, "张伟")
    report_in_accepted(session, zhang, site)
    site.serve(zhang, minutes=120)
    work(session, run_jobs)
    party_secretary = secretary(session, make_person, unit)
    other_admin = make_person("和谐社区书记", tree.community_b, PASSWORD, ((Role.community_admin, tree.community_b),))
    district_admin = make_person("区委组织部", tree.district, PASSWORD, ((Role.district_admin, tree.district),))
    today = local_today()

    # The secretary reports the unit in, at desktop size, with two resources and the agreement.
    portal = new_page(DESKTOP)
    login(portal, live_server, "employer", party_secretary.phone)
    portal.click("nav >> text=单位报到")
    assert "本单位尚未向社区报到" in portal.locator("#unit-report-ins-empty").inner_text()
    portal.select_option("#community_id", label="幸福社区")
    portal.fill("#party_org_name", "市交通运输局机关党委")
    portal.fill("#contact_name", "王书记")
    portal.fill("#contact_phone", "13912345678")
    portal.select_option("#resource_kind_0", "venue")
    portal.fill("#resource_description_0", "三楼会议室，可容纳40人")
    portal.fill("#resource_quantity_0", "80")
    portal.fill("#resource_unit_0", "平方米")
    portal.select_option("#resource_kind_1", "volunteers")
    portal.fill("#resource_description_1", "青年志愿服务队每月一次")
    portal.fill("#resource_quantity_1", "12")
    portal.fill("#resource_unit_1", "人")
    portal.fill("#agreement_title", "党建共建协议")
    portal.fill("#agreement_terms", "每季度联合开展一次志愿服务；开放会议室。")
    portal.fill("#agreement_starts_on", (today - timedelta(days=5)).isoformat())
    portal.fill("#agreement_ends_on", (today + timedelta(days=700)).isoformat())
    assert_accessible(portal)
    screenshot(portal, "employer-cobuilding-form-1280")
    portal.click("#submit-unit-report-in")
    assert "已提交报到" in portal.locator(".flash").inner_text()
    card = portal.locator("#unit-report-ins li.card").first
    assert card.locator("[data-status]").inner_text() == "待社区接收"
    assert card.locator("[data-resources] li").count() == 2
    assert "党建共建协议" in card.locator("[data-agreement]").inner_text()
    assert_accessible(portal)
    screenshot(portal, "employer-cobuilding-pending-1280")
    session.rollback()
    report_in_id = session.scalar(select(UnitReportIn.id))
    session.rollback()

    # The community's admin accepts, records a contribution drawn from the meeting room, and evaluates.
    console = new_page(DESKTOP)
    login(console, live_server, "console", site.admin.phone)
    console.click("nav >> text=驻区单位")
    item = console.locator(f"li[data-unit-report-in-id='{report_in_id}']")
    assert "待社区接收" in item.locator("[data-status]").inner_text()
    assert_accessible(console)
    screenshot(console, "console-units-pending-1280")
    item.locator("button:has-text('接收报到')").click()
    assert "已接收该单位报到" in console.locator(".flash").inner_text()
    console.click(f"li[data-unit-report-in-id='{report_in_id}'] h2 a")
    assert "生效中" in console.locator("#agreement").inner_text()
    console.select_option("#kind", "funds")
    console.fill("#description", "重阳节慰问独居老人经费")
    console.fill("#amount_yuan", "2000")
    console.select_option("#resource_id", label="场地：三楼会议室，可容纳40人")
    console.click("#record-contribution")
    assert "已登记共建贡献" in console.locator(".flash").inner_text()
    assert "2,000.00 元" in console.locator("#contributions-total").inner_text()
    console.select_option("#grade", "good")
    console.select_option("#score_service", "5")
    console.select_option("#score_resources", "4")
    console.select_option("#score_agreement", "5")
    console.fill("#comment", "资源开放及时，共建活动扎实")
    console.click("#save-evaluation")
    assert "已保存本年度评议" in console.locator(".flash").inner_text()
    assert "好" in console.locator("[data-evaluation]").inner_text()
    assert console.locator("#evaluation-form").count() == 0  # once a year
    assert_accessible(console)
    screenshot(console, "console-unit-evaluated-1280")

    # Another community's admin is refused the unit's page: neither resources nor evaluation.
    other = new_page(DESKTOP)
    login(other, live_server, "console", other_admin.phone)
    refused = other.goto(f"{live_server}/console/units/{report_in_id}")
    assert refused.status == 403
    assert "三楼会议室" not in other.content() and "资源开放及时" not in other.content()
    other.goto(f"{live_server}/console/units")
    assert "和谐社区" in other.locator("#community_id").inner_text()
    assert "市交通运输局" not in other.locator("main").inner_text()

    # The district runs the year; the unit's letter shows its report-in beside its members' figures.
    session.rollback()
    actor = load_person_actor(session, district_admin)
    period = appraisal.create_period(session, actor, district_id=tree.district.id, kind="year", year=today.year)
    appraisal.start_run(session, actor, period.id)
    session.commit()
    work(session, run_jobs)
    report_id = session.scalar(select(AppraisalReport.id).where(AppraisalReport.employer_id == unit.id))
    session.rollback()
    portal.goto(f"{live_server}/employer/reports/{report_id}")
    section = portal.locator("#letter-cobuilding")
    text = section.inner_text()
    assert "幸福社区" in text and "党建共建协议" in text
    assert "三楼会议室，可容纳40人（80平方米） · 本期使用 1 次" in text
    assert "青年志愿服务队每月一次（12人） · 本期使用 0 次" in text
    assert "共 1 项，资金合计 2,000.00 元" in section.locator("#letter-contributions-total").inner_text()
    assert "重阳节慰问独居老人经费" in text
    evaluation = section.locator("[data-letter-evaluation]").inner_text()
    assert "好" in evaluation and "资源共享 4 分" in evaluation and "资源开放及时" in evaluation
    assert "张伟" in portal.locator("#evaluation-form").inner_text()  # the members' figures, beside it
    assert_accessible(portal)
    screenshot(portal, "employer-letter-cobuilding-1280")

    # The secretary's phone: the report-in page and the letter read the same.
    mobile = new_page(PHONE)
    login(mobile, live_server, "employer", party_secretary.phone)
    mobile.goto(f"{live_server}/employer/cobuilding")
    card = mobile.locator("#unit-report-ins li.card").first
    assert card.locator("[data-status]").inner_text() == "有效"
    assert "2,000.00 元" in card.locator("[data-contributions-total]").inner_text()
    assert "好" in card.locator("[data-evaluation]").inner_text()
    assert_accessible(mobile)
    screenshot(mobile, "employer-cobuilding-390")
    mobile.goto(f"{live_server}/employer/reports/{report_id}")
    assert "2,000.00 元" in mobile.locator("#letter-contributions-total").inner_text()
    assert_accessible(mobile)
