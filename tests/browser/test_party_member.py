"""The party member on the phone: reports in through the app, the community accepts in the console (another
community's admin cannot), the member serves, and once the run has published the figures sees their own
appraisal at 390×844; a volunteer who is not a member gets an explanation, and the console refuses them."""

from __future__ import annotations

from sqlalchemy import select

from tests.browser.conftest import DESKTOP, PASSWORD, PHONE, assert_accessible, login, screenshot
from tests.browser.test_employer_portal import employer, member, site_with_logins, work
from timebank.appraisal import reports as appraisal
from timebank.appraisal.models import ReportIn, ReportInStatus
from timebank.hours.models import Verification
from timebank.people.access import load_person_actor
from timebank.people.models import Role


def _status(session, report_in_id: int) -> ReportInStatus:
    session.rollback()
    status = session.get(ReportIn, report_in_id).status
    session.rollback()
    return status


def test_member_reports_in_is_accepted_serves_and_sees_their_appraisal(monkeypatch, session, tree, make_person,
                                                                       live_server, new_page, run_jobs):
    site = site_with_logins(monkeypatch, session, tree, make_person)
    unit = employer(session, tree, "市交通运输局")
    zhang = member(session, make_person, unit, tree.grid_a, "张伟")
    other_admin = make_person("和谐社区书记", tree.community_b, PASSWORD,
                              ((Role.community_admin, tree.community_b),))
    resident = make_person("赵敏", tree.grid_a, PASSWORD)

    # The member reports in on the phone, to the community where they live.
    phone = new_page(PHONE)
    login(phone, live_server, "app", zhang.phone)
    phone.click("nav >> text=更多")
    phone.click("main >> text=党员报到")
    assert phone.locator("#my-employer").inner_text() == "市交通运输局"
    assert phone.locator("#community_id option:checked").inner_text() == "幸福社区"
    assert_accessible(phone)
    screenshot(phone, "app-party-report-in-form-390")
    phone.fill("#note", "周末可参加服务")
    phone.click("#report-in-form button[type=submit]")
    assert "报到已提交" in phone.locator(".flash").inner_text()
    item = phone.locator("li[data-report-in-id]").first
    report_in_id = int(item.get_attribute("data-report-in-id"))
    assert item.locator("[data-status]").inner_text() == "待社区确认"
    assert phone.locator("#report-in-form").count() == 0  # one live report-in at a time

    # Another community's admin neither sees it nor can accept it.
    rival = new_page(DESKTOP)
    login(rival, live_server, "console", other_admin.phone)
    rival.click("nav >> text=报到审核")
    assert rival.locator(f"[data-report-in-id='{report_in_id}']").count() == 0
    assert rival.goto(f"{live_server}/console/report-ins?community_id={tree.community_a.id}").status == 403
    rival.goto(f"{live_server}/console/report-ins")
    token = rival.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = rival.request.post(f"{live_server}/console/report-ins/{report_in_id}/accept",
                                 form={"csrf_token": token}, max_redirects=0)
    assert refused.status == 302
    assert _status(session, report_in_id) == ReportInStatus.pending

    # The community's own admin accepts it.
    console = new_page(DESKTOP)
    login(console, live_server, "console", site.admin.phone)
    console.click("nav >> text=报到审核")
    row = console.locator(f"[data-report-in-id='{report_in_id}']")
    assert "市交通运输局" in row.inner_text() and "周末可参加服务" in row.inner_text()
    assert_accessible(console)
    screenshot(console, "console-report-ins-1280")
    row.locator("button:has-text('接收报到')").click()
    assert "已接收" in console.locator(".flash").inner_text()
    assert _status(session, report_in_id) == ReportInStatus.accepted
    phone.reload()
    assert phone.locator(f"[data-report-in-id='{report_in_id}'] [data-status]").inner_text() == "已报到"
    screenshot(phone, "app-party-report-in-accepted-390")

    # Before any run, 我的考评 explains; after the run, the member's own figures.
    phone.click("nav >> text=更多")
    phone.click("main >> text=我的考评")
    assert phone.locator("#no-entries").count() == 1
    assert_accessible(phone)
    site.serve(zhang, minutes=120, category="红色先锋")
    site.serve(zhang, minutes=30, category="金色助老", title="敬老院陪伴")
    work(session, run_jobs)
    year = session.scalar(select(Verification.served_on)).year
    district_admin = make_person("区委组织部", tree.district, roles=((Role.district_admin, tree.district),))
    actor = load_person_actor(session, district_admin)
    period = appraisal.create_period(session, actor, district_id=tree.district.id, kind="year", year=year)
    appraisal.start_run(session, actor, period.id)
    session.commit()
    work(session, run_jobs)
    phone.reload()
    entry = phone.locator(".appraisal-entry").first
    assert entry.locator("h2").inner_text() == f"{year}年度"
    assert entry.locator("[data-hours]").inner_text() == "2.5"
    assert float(entry.locator("[data-vanguard]").inner_text()) > 0
    assert entry.locator("[data-grade]").inner_text() == "单位尚未评议"
    assert "红色先锋" in entry.inner_text() and "金色助老" in entry.inner_text()
    assert_accessible(phone)
    screenshot(phone, "app-party-appraisal-390")

    # The member moved house: the report-in moves to the new community and waits there.
    phone.click("nav >> text=更多")
    phone.click("main >> text=党员报到")
    phone.on("dialog", lambda dialog: dialog.accept())
    phone.click("summary")
    phone.select_option(f"#move-{report_in_id}", str(tree.community_b.id))
    phone.click("button:has-text('迁移报到')")
    assert "已迁移报到" in phone.locator(".flash").inner_text()
    assert _status(session, report_in_id) == ReportInStatus.moved
    statuses = [s.inner_text() for s in phone.locator("li[data-report-in-id] [data-status]").all()]
    assert statuses == ["待社区确认", "已迁出"]

    # A volunteer who is not a party member: an explanation, and the console is closed to them.
    other = new_page(PHONE)
    login(other, live_server, "app", resident.phone)
    other.goto(f"{live_server}/app/party/report-in")
    assert other.locator("#not-member").count() == 1
    assert_accessible(other)
    screenshot(other, "app-party-not-member-390")
    other.goto(f"{live_server}/app/party/appraisal")
    assert "尚未登记为在职党员" in other.locator("#no-entries").inner_text()
    token = other.locator("input[name=csrf_token]").first.get_attribute("value")
    refused = other.request.post(f"{live_server}/app/party/report-in",
                                 form={"csrf_token": token, "community_id": str(tree.community_a.id)})
    assert refused.ok and "只有在职党员可以到社区报到" in refused.text()
    assert other.goto(f"{live_server}/console/").status == 403
    assert other.goto(f"{live_server}/console/appraisal").status == 403
    assert other.goto(f"{live_server}/employer/").status == 403
    assert_accessible(other)
