"""The co-building pages through Flask's test client: the unit's secretary submits its report-in with resources
and agreement in /employer; the community's admin accepts, records and evaluates in /console; another
community's admin (and auditor) is refused the unit's page, its resources and its evaluation, and cannot act."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from timebank.clock import local_today
from timebank.cobuilding.models import Contribution, UnitEvaluation, UnitReportIn, UnitReportInStatus
from timebank.people import persons as people
from timebank.people.models import Role

PASSWORD = "pages-pass-1"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _login(client, area: str, phone: str) -> str:
    token = CSRF.search(client.get(f"/{area}/login").get_data(as_text=True)).group(1)
    resp = client.post(f"/{area}/login", data={"csrf_token": token, "phone": phone, "password": PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return CSRF.search(client.get(resp.headers["Location"]).get_data(as_text=True)).group(1)


def form(token: str, community_id: int) -> dict:
    today = local_today()
    return {"csrf_token": token, "community_id": community_id, "party_org_name": "市交通运输局机关党委",
            "contact_name": "王书记", "contact_phone": "13912345678",
            "resource_kind_0": "venue", "resource_description_0": "三楼会议室", "resource_quantity_0": "80",
            "resource_unit_0": "平方米",
            "resource_kind_1": "volunteers", "resource_description_1": "青年志愿服务队", "resource_quantity_1": "12",
            "resource_unit_1": "人",
            "agreement_title": "党建共建协议", "agreement_terms": "每季度联合开展一次志愿服务",
            "agreement_starts_on": (today - timedelta(days=10)).isoformat(),
            "agreement_ends_on": (today + timedelta(days=700)).isoformat()}


@pytest.fixture
def people_(app, session, tree, make_person, make_unit):
    unit = make_unit()
    secretary = make_person("单位党委书记", password=PASSWORD)
    people.grant(session, None, secretary, Role.employer_contact, employer_id=unit.id)
    admin_a = make_person("幸福社区书记", tree.community_a, PASSWORD, ((Role.community_admin, tree.community_a),))
    admin_b = make_person("和谐社区书记", tree.community_b, PASSWORD, ((Role.community_admin, tree.community_b),))
    auditor_b = make_person("和谐社区审计", tree.community_b, PASSWORD, ((Role.auditor, tree.community_b),))
    session.commit()
    return {"unit": unit, "secretary": secretary, "admin_a": admin_a, "admin_b": admin_b, "auditor_b": auditor_b}


def test_submit_accept_record_evaluate_through_the_pages(app, session, tree, people_):
    unit_client, a_client = app.test_client(), app.test_client()
    token = _login(unit_client, "employer", people_["secretary"].phone)
    page = unit_client.get("/employer/cobuilding").get_data(as_text=True)
    assert "向社区报到" in page and "幸福社区" in page
    bad = {**form(token, tree.community_a.id), "agreement_ends_on": "明年"}
    assert unit_client.post("/employer/cobuilding", data=bad).status_code == 302
    assert session.query(UnitReportIn).count() == 0
    assert unit_client.post("/employer/cobuilding", data=form(token, tree.community_a.id)).status_code == 302
    session.rollback()
    row = session.scalar(select(UnitReportIn))
    report_in_id = row.id
    assert row.status == UnitReportInStatus.pending and len(row.resources) == 2
    session.rollback()
    page = unit_client.get("/employer/cobuilding").get_data(as_text=True)
    assert "待社区接收" in page and "三楼会议室" in page and "党建共建协议" in page

    token_a = _login(a_client, "console", people_["admin_a"].phone)
    listing = a_client.get(f"/console/units?community_id={tree.community_a.id}").get_data(as_text=True)
    assert "市交通运输局" in listing and "接收报到" in listing
    a_client.post(f"/console/units/{report_in_id}/accept", data={"csrf_token": token_a,
                                                                  "community_id": tree.community_a.id})
    detail = a_client.get(f"/console/units/{report_in_id}").get_data(as_text=True)
    assert "生效中" in detail and "登记贡献" in detail and "保存评议" in detail
    a_client.post(f"/console/units/{report_in_id}/contributions", data={
        "csrf_token": token_a, "kind": "funds", "description": "重阳节慰问经费", "amount_yuan": "1200.50",
        "on_date": local_today().isoformat()})
    a_client.post(f"/console/units/{report_in_id}/contributions", data={
        "csrf_token": token_a, "kind": "funds", "description": "写错的金额", "amount_yuan": "1e9",
        "on_date": local_today().isoformat()})
    a_client.post(f"/console/units/{report_in_id}/evaluation", data={
        "csrf_token": token_a, "grade": "good", "score_service": "5", "score_resources": "4",
        "score_agreement": "5", "comment": "积极参与"})
    again = a_client.post(f"/console/units/{report_in_id}/evaluation", data={
        "csrf_token": token_a, "grade": "poor", "score_service": "1", "score_resources": "1",
        "score_agreement": "1"}, follow_redirects=True).get_data(as_text=True)
    assert "每年只评议一次" in again
    session.rollback()
    assert [c.amount_fen for c in session.scalars(select(Contribution))] == [120050]
    assert session.scalar(select(UnitEvaluation.grade)) == "good"
    session.rollback()
    page = unit_client.get("/employer/cobuilding").get_data(as_text=True)
    assert "1,200.50 元" in page and "社区评议：<strong>好</strong>" in page


def test_another_community_sees_neither_the_resources_nor_the_evaluation_in_the_console(app, session, tree,
                                                                                         people_, make_unit,
                                                                                         make_person):
    unit_client, a_client = app.test_client(), app.test_client()
    token = _login(unit_client, "employer", people_["secretary"].phone)
    unit_client.post("/employer/cobuilding", data=form(token, tree.community_a.id))
    session.rollback()
    report_in_id = session.scalar(select(UnitReportIn.id))
    session.rollback()
    token_a = _login(a_client, "console", people_["admin_a"].phone)
    a_client.post(f"/console/units/{report_in_id}/accept", data={"csrf_token": token_a})
    a_client.post(f"/console/units/{report_in_id}/evaluation", data={
        "csrf_token": token_a, "grade": "good", "score_service": "5", "score_resources": "4",
        "score_agreement": "5", "comment": "积极参与"})

    for who in ("admin_b", "auditor_b"):
        b_client = app.test_client()
        token_b = _login(b_client, "console", people_[who].phone)
        page = b_client.get(f"/console/units/{report_in_id}")
        assert page.status_code == 403
        text = page.get_data(as_text=True)
        assert "三楼会议室" not in text and "积极参与" not in text
        listing = b_client.get("/console/units").get_data(as_text=True)
        assert "市交通运输局" not in listing
        assert b_client.get(f"/console/units?community_id={tree.community_a.id}").status_code == 403
        for path, data in ((f"/console/units/{report_in_id}/evaluation",
                            {"grade": "poor", "score_service": "1", "score_resources": "1", "score_agreement": "1"}),
                           (f"/console/units/{report_in_id}/contributions",
                            {"kind": "goods", "description": "x", "quantity": "1",
                             "on_date": local_today().isoformat()})):
            b_client.post(path, data={"csrf_token": token_b, **data})
    session.rollback()
    assert session.query(UnitEvaluation).count() == 1 and session.query(Contribution).count() == 0
    # Another unit's secretary does not see this unit's report-in in /employer either, nor can it act on it.
    other = make_person("水务党委", password=PASSWORD)
    people.grant(session, None, other, Role.employer_contact, employer_id=make_unit("市水务集团").id)
    session.commit()
    other_client = app.test_client()
    other_token = _login(other_client, "employer", other.phone)
    assert "三楼会议室" not in other_client.get("/employer/cobuilding").get_data(as_text=True)
    assert other_client.get(f"/employer/cobuilding?employer_id={people_['unit'].id}").status_code == 403
    other_client.post(f"/employer/cobuilding/{report_in_id}/withdraw", data={"csrf_token": other_token})
    session.rollback()
    assert session.get(UnitReportIn, report_in_id).status == UnitReportInStatus.active


def test_a_secretary_of_two_units_switches_on_the_report_in_page(app, session, people_, make_unit):
    second = make_unit("市卫健委")
    people.grant(session, None, people_["secretary"], Role.employer_contact, employer_id=second.id)
    session.commit()
    client = app.test_client()
    token = _login(client, "employer", people_["secretary"].phone)
    page = client.get("/employer/cobuilding").get_data(as_text=True)
    assert 'name="back" value="employer_cobuilding.report_ins"' in page
    resp = client.post("/employer/switch", data={"csrf_token": token, "employer_id": second.id,
                                                 "back": "employer_cobuilding.report_ins"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/employer/cobuilding")
    assert "市卫健委" in client.get("/employer/cobuilding").get_data(as_text=True)
