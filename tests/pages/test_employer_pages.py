"""The employer portal and the console's appraisal pages through Flask's test client: downloads are attachments
with the right types, every read the services audit leaves its entry, forms need the CSRF token, and no page
shows or changes another unit's report, another community's report-ins, or a district's runs to a community."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from tests.appraisal.service import drain_all
from tests.browser.test_employer_portal import employer, member, report_in_accepted, secretary, site_with_logins
from timebank.appraisal import reports as appraisal
from timebank.appraisal.models import AppraisalEntry, AppraisalReport
from timebank.hours.models import Verification
from timebank.ops.models import AuditEntry
from timebank.people.access import load_person_actor
from timebank.people.models import Role

PASSWORD = "browser-pass-1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _login(client, area: str, phone: str) -> str:
    token = CSRF.search(client.get(f"/{area}/login").get_data(as_text=True)).group(1)
    resp = client.post(f"/{area}/login", data={"csrf_token": token, "phone": phone, "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return CSRF.search(client.get(resp.headers["Location"]).get_data(as_text=True)).group(1)


@pytest.fixture
def world(monkeypatch, session, tree, make_person):
    site = site_with_logins(monkeypatch, session, tree, make_person)
    transport, water = employer(session, tree, "市交通运输局"), employer(session, tree, "市水务集团")
    zhang = member(session, make_person, transport, tree.grid_a, "张伟")
    li = member(session, make_person, water, tree.grid_a, "李娜")
    report_in_accepted(session, zhang, site)
    site.serve(zhang, minutes=60)
    site.serve(li, minutes=30)
    drain_all(session)
    year = session.scalar(select(Verification.served_on)).year
    district_admin = make_person("区委组织部", tree.district, PASSWORD, ((Role.district_admin, tree.district),))
    actor = load_person_actor(session, district_admin)
    period = appraisal.create_period(session, actor, district_id=tree.district.id, kind="year", year=year)
    run = appraisal.start_run(session, actor, period.id)
    session.commit()
    drain_all(session)
    session.commit()
    reports = {r.employer_id: r.id for r in session.scalars(select(AppraisalReport))}
    return {"site": site, "transport": transport, "water": water, "zhang": zhang, "run_id": run.id,
            "district_admin": district_admin, "transport_report": reports[transport.id],
            "water_report": reports[water.id], "secretary": secretary(session, make_person, transport)}


def _audits(session, action: str) -> int:
    session.rollback()
    return session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action))


def test_downloads_are_audited_attachments_of_the_right_type(client, session, world):
    _login(client, "employer", world["secretary"].phone)
    report_id = world["transport_report"]
    pdf = client.get(f"/employer/reports/{report_id}/download/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"].startswith("attachment;")
    assert pdf.headers["Cache-Control"] == "no-store"
    csv = client.get(f"/employer/reports/{report_id}/download/csv")
    assert csv.mimetype == "text/csv" and "张伟" in csv.get_data(as_text=True)
    assert client.get(f"/employer/reports/{report_id}/download/xlsx").status_code == 404
    assert _audits(session, "appraisal.report_read") == 2
    assert _audits(session, "report_in.roster_read") == 1  # the login landed on the roster
    client.get("/employer/?show=not_reported")
    assert _audits(session, "report_in.roster_read") == 2


def test_forms_need_the_csrf_token_and_another_units_report_is_refused(client, session, world):
    token = _login(client, "employer", world["secretary"].phone)
    mine, theirs = world["transport_report"], world["water_report"]
    assert client.post(f"/employer/reports/{mine}/acknowledge").status_code == 400
    session.rollback()
    assert session.get(AppraisalReport, mine).acknowledged_at is None
    session.rollback()

    for path in (f"/employer/reports/{theirs}", f"/employer/reports/{theirs}/download/pdf",
                 f"/employer/reports/{theirs}/download/csv", f"/employer/?employer_id={world['water'].id}"):
        resp = client.get(path)
        assert resp.status_code == 403, path
        assert "李娜" not in resp.get_data(as_text=True)
    entry_id = session.scalar(select(AppraisalEntry.id).where(AppraisalEntry.report_id == theirs))
    assert client.post(f"/employer/reports/{theirs}/acknowledge", data={"csrf_token": token}).status_code == 302
    assert client.post(f"/employer/reports/{theirs}/evaluations",
                       data={"csrf_token": token, f"grade_{entry_id}": "excellent"}).status_code == 403
    assert client.post("/employer/switch", data={"csrf_token": token,
                                                 "employer_id": world["water"].id}).status_code == 403
    session.rollback()
    assert session.get(AppraisalReport, theirs).acknowledged_at is None
    session.rollback()

    assert client.post(f"/employer/reports/{mine}/acknowledge", data={"csrf_token": token}).status_code == 302
    session.rollback()
    assert session.get(AppraisalReport, mine).acknowledged_at is not None


def test_console_appraisal_pages_keep_to_the_viewers_scope(client, session, tree, make_person, world):
    other = make_person("和谐社区书记", tree.community_b, PASSWORD, ((Role.community_admin, tree.community_b),))
    token = _login(client, "console", other.phone)
    assert client.get(f"/console/appraisal/runs/{world['run_id']}").status_code == 403
    assert client.get(f"/console/appraisal/runs/{world['run_id']}/progress").status_code == 403
    assert client.get(f"/console/appraisal/reports/{world['transport_report']}/pdf").status_code == 403
    assert client.get(f"/console/report-ins?community_id={tree.community_a.id}").status_code == 403
    page = client.get("/console/appraisal").get_data(as_text=True)
    assert 'id="no-district"' in page  # a community admin is told why, not shown the district's periods
    client.post(f"/console/appraisal/reports/{world['transport_report']}/resend", data={"csrf_token": token})
    assert _audits(session, "appraisal.report_resend") == 0

    client.post("/console/logout", data={"csrf_token": token})
    _login(client, "console", world["district_admin"].phone)
    fragment = client.get(f"/console/appraisal/runs/{world['run_id']}/progress")
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and "data-refresh-done" in text and 'id="run-done">2<' in text
    assert "<html" not in text  # the box alone, for the page to swap in

    _login(client, "app", world["zhang"].phone)  # a party member, but no admin
    assert client.get("/console/appraisal").status_code == 403
    assert client.get(f"/console/appraisal/runs/{world['run_id']}/progress").status_code == 403
