"""The scenario through the API: a unit reports in with its resources, the community accepts, records what the
unit gave and evaluates it; the district's run renders the unit's letter (一信一函), whose section 单位报到与共建
shows the report-in, the resources offered and used, the contributions and the evaluation beside the members'
figures. A unit with no party member in service still gets its letter."""

from __future__ import annotations

import json

from tests.appraisal.documents import csv_sections
from tests.appraisal.service import community, install_clock, work
from tests.cobuilding.conftest import report_in_body
from tests.conftest import bearer
from timebank.appraisal import render
from timebank.clock import local_today
from timebank.people import orgs
from timebank.people import persons as people
from timebank.people.access import SYSTEM
from timebank.people.models import PartyMemberStatus, Role


def _member(session, make_person, unit, home, name):
    person = make_person(name=name, home=home)
    branch = orgs.create_branch(session, SYSTEM, name=f"{unit.name}党支部", org_id=unit.org_id)
    people.register_party_member(session, None, person, status=PartyMemberStatus.in_service, employer_id=unit.id,
                                 branch_id=branch.id)
    session.commit()
    return person


def test_unit_reports_in_is_accepted_and_its_letter_shows_it(app, client, session, tree, monkeypatch, make_person,
                                                             as_user, make_unit, unit_contact, run_jobs):
    clock = install_clock(monkeypatch)
    site = community(session, clock, tree, make_person, tree.community_a)
    unit, lone = make_unit("市交通运输局"), make_unit("市图书馆")
    _c, contact_h = unit_contact(unit)
    _l, lone_h = unit_contact(lone, name="图书馆书记")
    zhang = _member(session, make_person, unit, tree.grid_a, "张伟")
    admin_h = bearer(app, site.admin)
    _d, district_h = as_user(Role.district_admin, tree.district)

    ri = client.post("/api/unit-report-ins", json=report_in_body(tree.community_a.id), headers=contact_h).json
    assert client.post(f"/api/unit-report-ins/{ri['id']}/acceptance", headers=admin_h).status_code == 200
    today = local_today().isoformat()
    url = f"/api/unit-report-ins/{ri['id']}/contributions"
    assert client.post(url, json={"kind": "funds", "description": "重阳节慰问经费", "amount_yuan": "3000",
                                  "on_date": today}, headers=admin_h).status_code == 201
    assert client.post(url, json={"kind": "venue", "description": "借用活动室开展党课", "quantity": "2 次",
                                  "on_date": today, "resource_id": ri["resources"][0]["id"]},
                       headers=admin_h).status_code == 201
    assert client.post(f"/api/unit-report-ins/{ri['id']}/evaluations",
                       json={"grade": "fairly_good", "scores": {"service": 4, "resources": 5, "agreement": 4},
                             "comment": "资源开放及时"}, headers=admin_h).status_code == 201
    lone_ri = client.post("/api/unit-report-ins", json=report_in_body(tree.community_a.id,
                                                                      party_org_name="市图书馆党支部"),
                          headers=lone_h).json
    client.post(f"/api/unit-report-ins/{lone_ri['id']}/acceptance", headers=admin_h)

    # A member of the unit serves, as before; the district runs the year.
    report_in_member = client.post("/api/report-ins", json={"community_id": tree.community_a.id},
                                   headers=bearer(app, zhang))
    client.post(f"/api/report-ins/{report_in_member.json['id']}/acceptance", headers=admin_h)
    site.serve(zhang, minutes=120)
    work(session, run_jobs)
    period = client.post("/api/appraisal/periods", json={"district_id": tree.district.id, "kind": "year",
                                                         "year": clock.now.year}, headers=district_h)
    assert period.status_code == 201, period.json
    run = client.post("/api/appraisal/runs", json={"period_id": period.json["id"]}, headers=district_h)
    assert run.status_code == 202, run.json
    assert run.json["reports_total"] == 2  # the unit, and the library with no member in service
    work(session, run_jobs)

    reports = client.get(f"/api/appraisal/reports?employer_id={unit.id}", headers=contact_h).json["items"]
    assert [r["status"] for r in reports] == ["rendered"]
    doc = json.loads(client.get(f"/api/appraisal/reports/{reports[0]['id']}/document?format=json",
                                headers=contact_h).get_data())
    assert doc["summary"]["members"] == 1 and doc["summary"]["minutes_net"] == 120  # the members' figures
    section = doc["cobuilding"]
    assert [(r["community"], r["status"]) for r in section["report_ins"]] == [("幸福社区", "active")]
    line = section["report_ins"][0]
    assert line["agreement"]["title"] == "党建共建协议"
    assert [(r["kind"], r["used"]) for r in line["resources"]] == [("venue", 1), ("volunteers", 0)]
    assert section["contributions_fen"] == 300000 and section["contributions_count"] == 2
    assert line["evaluation"]["grade"] == "fairly_good" and line["evaluation"]["scores"]["resources"] == 5

    pdf = client.get(f"/api/appraisal/reports/{reports[0]['id']}/document?format=pdf", headers=contact_h)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # The CSV carries the section too, as titled tables after the members'.
    tables = csv_sections(client.get(f"/api/appraisal/reports/{reports[0]['id']}/document?format=csv",
                                     headers=contact_h).data)
    assert [r["姓名"] for r in tables["党员"]] == ["张伟"]
    assert [(r["报到社区"], r["状态"], r["共建协议"], r["评议等次"], r["评语"]) for r in tables["单位报到与共建"]] == [
        ("幸福社区", "有效", "党建共建协议", "较好", "资源开放及时")]
    assert [(r["类别"], r["本期使用（次）"]) for r in tables["资源清单"]] == [("场地", "1"), ("志愿者", "0")]
    assert [(r["类别"], r["内容"], r["金额（元）"], r["数量"]) for r in tables["共建贡献"]] == [
        ("资金", "重阳节慰问经费", "3000.00", ""), ("场地", "借用活动室开展党课", "", "2 次")]

    lone_reports = client.get(f"/api/appraisal/reports?employer_id={lone.id}", headers=lone_h).json["items"]
    assert [(r["status"], r["member_count"]) for r in lone_reports] == [("rendered", 0)]
    lone_doc = json.loads(client.get(f"/api/appraisal/reports/{lone_reports[0]['id']}/document?format=json",
                                     headers=lone_h).get_data())
    assert lone_doc["cobuilding"]["report_ins"][0]["party_org_name"] == "市图书馆党支部"
    assert lone_doc["cobuilding"]["contributions"] == []
    assert lone_doc["cobuilding"]["report_ins"][0]["evaluation"] is None
    # The unit reads only its own letter.
    other = client.get(f"/api/appraisal/reports/{lone_reports[0]['id']}/document?format=json", headers=contact_h)
    assert other.status_code == 403


def test_the_letter_pdf_draws_the_section_from_the_document():
    """The PDF renders the section for a unit with resources, contributions, a reversal and no evaluation, and
    for a unit that did not report in (the words come from the label table)."""
    doc = {"kind": "appraisal_report", "report_id": 1, "issuer": "示范区", "employer": {"id": 1, "name": "甲单位"},
           "period": {"id": 1, "kind": "year", "label": "2026年度", "starts_on": "2026-01-01",
                      "ends_on": "2026-12-31"},
           "run_id": 1, "issued_at": "2026-12-31T00:00:00", "issued_on": "2026-12-31",
           "verification": {"code": "ABCD-EFGH-JKLM-NPQR", "url": "http://x/verify/ABCD"},
           "weights": {"hour": 1, "task_individual": 1, "task_organisation": 1, "micro_wish": 1, "rating": 1,
                       "report_in": 1, "late_withdrawal": 1, "no_show": 1, "reversal": 1, "cap": 100},
           "summary": {"members": 0, "reported_in": 0, "minutes_net": 0, "tasks_individual": 0,
                       "tasks_organisation": 0, "micro_wishes": 0, "vanguard_mean": None, "failed": 0},
           "members": []}
    section = {"year": 2026, "contributions_count": 1, "contributions_fen": 0, "resources_used": 0,
               "report_ins": [{"id": 1, "community": "幸福社区", "party_org_name": "甲单位党委", "status": "lapsed",
                               "reported_on": "2026-01-05", "expires_on": "2026-11-05",
                               "agreement": {"title": "共建协议", "status": "ended", "starts_on": "2026-01-01",
                                             "ends_on": "2026-12-31"},
                               "resources": [{"id": 1, "kind": "skill", "description": "法律咨询" * 20,
                                              "quantity": None, "unit": None, "available": False, "used": 0}],
                               "evaluation": None}],
               "contributions": [
                   {"id": 1, "community": "幸福社区", "kind": "funds", "description": "经费", "amount_fen": 100,
                    "quantity": "", "on_date": "2026-03-01", "reverses_id": None, "reason": "", "reversed": True},
                   {"id": 2, "community": "幸福社区", "kind": "funds", "description": "经费", "amount_fen": -100,
                    "quantity": "", "on_date": "2026-03-01", "reverses_id": 1, "reason": "录错", "reversed": False}]}
    assert render.render_pdf({**doc, "cobuilding": section}).startswith(b"%PDF")
    assert render.render_pdf({**doc, "cobuilding": {**section, "report_ins": []}}).startswith(b"%PDF")

