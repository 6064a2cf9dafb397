"""The employer portal and the console's appraisal run in the browser: the district admin opens a period and
starts a run, the progress box refreshes itself until the run is done; the unit's party secretary sees who has
reported in and who has not, downloads the PDF and the CSV, acknowledges and enters the 双评议 evaluation.
Another unit's roster and report are refused, and so is the console to a secretary."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.appraisal.service import community, install_clock, work
from tests.browser.conftest import DESKTOP, PASSWORD, PHONE, assert_accessible, login, screenshot
from timebank.appraisal import report_in
from timebank.appraisal import reports as appraisal
from timebank.appraisal.models import AppraisalReport, Grade, ReportStatus
from timebank.hours.models import Verification
from timebank.people import credit_code, orgs, partners
from timebank.people import persons as people
from timebank.people.access import SYSTEM, load_person_actor
from timebank.people.models import PartyMemberStatus, Role

_codes = itertools.count(1)


def employer(session, tree, name: str):
    """A unit registered in the district; no e-mail, so its reports go to the portal."""
    unit = partners.create_employer(session, SYSTEM, name=name, org_id=tree.district.id, contact_name="王书记",
                                    credit_code_value=credit_code.make(f"1144{next(_codes):013d}"))
    session.commit()
    return unit


def member(session, make_person, unit, home, name: str):
    """An in-service party member of `unit` living in `home`, who can log in."""
    person = make_person(name, home, PASSWORD)
    branch = orgs.create_branch(session, SYSTEM, name=f"{unit.name}第一党支部", org_id=unit.org_id)
    people.register_party_member(session, None, person, status=PartyMemberStatus.in_service, employer_id=unit.id,
                                 branch_id=branch.id)
    session.commit()
    return person


def secretary(session, make_person, *units, name: str = "单位党委书记"):
    person = make_person(name, None, PASSWORD)
    for unit in units:
        people.grant(session, None, person, Role.employer_contact, employer_id=unit.id)
    session.commit()
    return person


def report_in_accepted(session, who, site) -> None:
    row = report_in.submit(session, load_person_actor(session, who), community_id=site.org.id)
    report_in.accept(session, load_person_actor(session, site.admin), row.id)
    session.commit()



def site_with_logins(monkeypatch, session, tree, make_person):
    """Community A's admin, grid worker and resident (who can log in) on a movable clock."""
    clock = install_clock(monkeypatch)

    def with_password(name, home=None, roles=()):
        return make_person(name, home, PASSWORD, roles)

    return community(session, clock, tree, with_password, tree.community_a)


@pytest.fixture
def world(monkeypatch, session, tree, make_person, run_jobs):
    site = site_with_logins(monkeypatch, session, tree, make_person)
    transport, water, health = (employer(session, tree, n) for n in ("市交通运输局", "市水务集团", "市卫健委"))
    zhang = member(session, make_person, transport, tree.grid_a, "张伟")
    member(session, make_person, transport, tree.grid_a, "王芳")  # has not reported in
    li = member(session, make_person, water, tree.grid_a, "李娜")
    report_in_accepted(session, zhang, site)
    report_in_accepted(session, li, site)
    site.serve(zhang, minutes=120, category="红色先锋")
    site.serve(li, minutes=45, category="绿色环保")
    work(session, run_jobs)
    year = session.scalar(select(Verification.served_on)).year
    district_admin = make_person("区委组织部", tree.district, PASSWORD, ((Role.district_admin, tree.district),))
    return {"site": site, "transport": transport, "water": water, "health": health, "zhang": zhang, "li": li,
            "year": year, "district_admin": district_admin,
            "secretary": secretary(session, make_person, transport, health),
            "water_secretary": secretary(session, make_person, water, name="水务党委")}


def _report_of(session, unit) -> AppraisalReport:
    session.rollback()
    report = session.scalar(select(AppraisalReport).where(AppraisalReport.employer_id == unit.id))
    session.rollback()
    return report


def test_run_progress_then_the_secretary_downloads_acknowledges_and_evaluates(session, world, live_server,
                                                                               new_page, run_jobs):
    # The district admin opens the year and starts a run in the console; the progress box refreshes itself.
    console = new_page(DESKTOP)
    console.on("dialog", lambda dialog: dialog.accept())
    login(console, live_server, "console", world["district_admin"].phone)
    console.click("nav >> text=党员考评")
    console.select_option("#kind", "year")
    console.fill("#year", str(world["year"]))
    console.click("button:has-text('建立周期')")
    assert "考评周期已建立" in console.locator(".flash").inner_text()
    assert_accessible(console)
    screenshot(console, "console-appraisal-periods-1280")
    console.click("button:has-text('发起统计')")
    assert console.locator("#run-total").inner_text() == "3"
    assert console.locator("#run-done").inner_text() == "0"
    assert console.locator("#progress-box[data-refresh-url]").count() == 1
    assert_accessible(console)
    screenshot(console, "console-appraisal-run-queued-1280")

    work(session, run_jobs)  # the render workers finish while the page is open
    # The box fetches its progress every few seconds; once done it reloads the page (no refresh url after that).
    console.wait_for_selector("#progress-box:not([data-refresh-url]) #run-status:has-text('已完成')")
    assert console.locator("#run-done").inner_text() == "3"
    assert console.locator("#run-errors").inner_text() == "0"
    rows = console.locator("#run-reports tbody tr")
    assert rows.count() == 2
    assert "门户下载" in console.locator(f"tr[data-report-id='{_report_of(session, world['transport']).id}']"
                                        " .deliveries").inner_text()
    assert_accessible(console)
    screenshot(console, "console-appraisal-run-done-1280")
    transport_report = _report_of(session, world["transport"])
    console.locator(f"tr[data-report-id='{transport_report.id}'] button:has-text('重新发送')").click()
    assert "已重新发送" in console.locator(".flash").inner_text()

    # The secretary of the transport bureau: the roster, who has reported in where, and who has not.
    portal = new_page(DESKTOP)
    login(portal, live_server, "employer", world["secretary"].phone)
    assert portal.locator("#employer-name").inner_text() == "市交通运输局"
    assert (portal.locator("#count-total").inner_text(), portal.locator("#count-reported").inner_text(),
            portal.locator("#count-not-reported").inner_text()) == ("2", "1", "1")
    zhang_row = portal.locator("#roster tr", has_text="张伟")
    assert "已报到" in zhang_row.inner_text() and "幸福社区" in zhang_row.inner_text()
    assert world["zhang"].phone not in portal.content()  # phones are masked
    assert "未报到" in portal.locator("#roster tr", has_text="王芳").inner_text()
    assert "李娜" not in portal.content()  # another unit's member
    assert_accessible(portal)
    screenshot(portal, "employer-roster-1280")
    portal.click("nav.filters >> text=未报到")
    portal.wait_for_url("**show=not_reported")
    assert portal.locator("#roster tbody tr").count() == 1

    # Reports: download the issued PDF and the CSV, acknowledge, evaluate.
    portal.click("nav >> text=考评报告")
    assert_accessible(portal)
    screenshot(portal, "employer-reports-1280")
    portal.click("a:has-text('查看并评议')")
    with portal.expect_download() as pdf:
        portal.click("#download-pdf")
    assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF")
    assert pdf.value.suggested_filename.endswith(".pdf")
    with portal.expect_download() as csv:
        portal.click("#download-csv")
    text = Path(csv.value.path()).read_text(encoding="utf-8-sig")
    assert "张伟" in text and "李娜" not in text
    assert "尚未确认" in portal.locator("#ack-state").inner_text()
    portal.click("#acknowledge")
    assert "已确认收到" in portal.locator(".flash").inner_text()
    assert "已于" in portal.locator("#ack-state").inner_text()
    zhang_item = portal.locator("li.member", has_text="张伟")
    zhang_item.locator("select").select_option("excellent")
    zhang_item.locator("input").fill("带头参加社区服务，群众评价好")
    portal.click("#save-evaluations")
    assert "已保存 1 位党员的评议" in portal.locator(".flash").inner_text()
    assert "优秀" in portal.locator("li.member", has_text="张伟").locator("[data-given]").inner_text()
    assert_accessible(portal)
    screenshot(portal, "employer-report-evaluated-1280")

    session.rollback()
    actor = load_person_actor(session, world["district_admin"])
    given = appraisal.evaluations(session, actor, transport_report.id, audited=False)["items"]
    assert [(i["name"], i["grade"], i["comment"]) for i in given] == [("张伟", Grade.excellent,
                                                                        "带头参加社区服务，群众评价好")]
    assert session.get(AppraisalReport, transport_report.id).acknowledged_at is not None
    session.rollback()

    # The same screens on the secretary's phone.
    mobile = new_page(PHONE)
    login(mobile, live_server, "employer", world["secretary"].phone)
    assert mobile.locator("#count-not-reported").inner_text() == "1"
    screenshot(mobile, "employer-roster-390")
    mobile.goto(f"{live_server}/employer/reports/{transport_report.id}")
    assert "优秀" in mobile.locator("li.member", has_text="张伟").locator("[data-given]").inner_text()
    assert_accessible(mobile)
    screenshot(mobile, "employer-report-390")

    # What must be refused: another unit's roster, report, download; the console.
    water_report = _report_of(session, world["water"])
    assert water_report.status == ReportStatus.rendered
    assert portal.goto(f"{live_server}/employer/?employer_id={world['water'].id}").status == 403
    assert portal.goto(f"{live_server}/employer/reports/{water_report.id}").status == 403
    assert_accessible(portal)
    screenshot(portal, "employer-refused-1280")
    assert portal.goto(f"{live_server}/employer/reports/{water_report.id}/download/pdf").status == 403
    portal.goto(f"{live_server}/employer/reports")
    token = portal.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = portal.request.post(f"{live_server}/employer/reports/{water_report.id}/acknowledge",
                                  form={"csrf_token": token})
    assert refused.status == 403
    assert _report_of(session, world["water"]).acknowledged_at is None
    assert portal.goto(f"{live_server}/console/").status == 403

    # A contact of two units switches to the other one.
    portal.goto(f"{live_server}/employer/")
    portal.select_option("#employer_id", str(world["health"].id))
    portal.click("button:has-text('切换')")
    assert portal.locator("#employer-name").inner_text() == "市卫健委"
    assert portal.locator("#count-total").inner_text() == "0"
