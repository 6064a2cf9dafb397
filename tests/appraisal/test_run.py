"""A period run: figures per member from the hours records and the ledger, a bad record failing alone,
progress, the rendered PDF/CSV/JSON, and the public verification of the code."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from timebank import ledger
from timebank.appraisal import render as appraisal_render
from timebank.appraisal import report_in, vanguard
from timebank.appraisal import reports as appraisal
from timebank.appraisal.models import AppraisalEntry, AppraisalReport, EntryStatus
from timebank.hours.models import TaskScope, Verification
from timebank.people.access import load_person_actor
from timebank.people.models import Role

from .documents import csv_sections
from .service import community, drain_all, install_clock


@pytest.fixture
def world(monkeypatch, session, tree, make_person, make_employer, make_member):
    clock = install_clock(monkeypatch)
    site = community(session, clock, tree, make_person, tree.community_a)
    transport, water = make_employer("市交通运输局"), make_employer("市水务集团")
    zhang, _ = make_member(transport, tree.grid_a, name="张伟")
    wang, _ = make_member(transport, tree.grid_a, name="王芳")
    li, _ = make_member(water, tree.grid_a, name="李娜")
    ri = report_in.submit(session, load_person_actor(session, zhang), community_id=tree.community_a.id)
    report_in.accept(session, load_person_actor(session, site.admin), ri.id)
    session.commit()
    district_admin = make_person("区委组织部", tree.district, roles=((Role.district_admin, tree.district),))
    return clock, site, transport, water, zhang, wang, li, district_admin


def _run(session, district_admin, tree, year):
    actor = load_person_actor(session, district_admin)
    period = appraisal.create_period(session, actor, district_id=tree.district.id, kind="year", year=year)
    run = appraisal.start_run(session, actor, period.id)
    session.commit()
    return actor, run


def test_run_counts_what_the_ledger_holds_and_fails_a_bad_record_alone(session, tree, world):
    clock, site, transport, water, zhang, wang, li, district_admin = world
    site.serve(zhang, minutes=90, category="红色先锋")
    site.serve(zhang, minutes=120, category="金色助老", scope=TaskScope.organisation, title="重阳节慰问")
    site.serve(zhang, minutes=60, category="橙色关爱", micro_wish=True, stars=5, title="帮买药")
    bad = site.serve(zhang, minutes=30, category="绿色环保", title="绿地补种")
    site.no_show(zhang)
    site.late_withdrawal(zhang)
    li_row = site.serve(li, minutes=45)
    drain_all(session)
    site.uphold_complaint(bad.id)
    served_year = session.scalar(select(Verification.served_on).where(Verification.attendance_id == bad.id)).year
    # Li's verification names a transfer that is not in the ledger: that entry must fail, alone.
    session.scalar(select(Verification).where(Verification.attendance_id == li_row.id)).minutes_transfer_id = 10**9
    session.commit()

    actor, run = _run(session, district_admin, tree, served_year)
    assert appraisal.progress(session, actor, run.id)["done"] == 0
    drain_all(session)

    progress = appraisal.progress(session, actor, run.id)
    assert (progress["total"], progress["done"], progress["errors"]) == (3, 3, 1)
    assert progress["status"] == "done" and progress["reports_rendered"] == 2
    errors = appraisal.run_errors(session, actor, run.id)
    assert len(errors) == 1 and errors[0]["error"].startswith("ledger_mismatch")

    entry = session.scalar(select(AppraisalEntry).where(AppraisalEntry.person_id == zhang.id))
    m = entry.metrics
    account = ledger.account_for(session, owner_kind=ledger.OwnerKind.volunteer, owner_id=zhang.id,
                                 ledger=ledger.Ledger.minutes)
    bal = ledger.balance(session, account.id)
    assert m["minutes"]["net"] == bal.credits_posted - bal.debits_posted == 90 + 120 + 60
    assert (m["minutes"]["credited"], m["minutes"]["reversed"]) == (300, 30)
    assert m["minutes"]["by_category"] == {"橙色关爱": 60, "红色先锋": 90, "绿色环保": 0, "金色助老": 120}
    assert sum(m["minutes"]["by_month"].values()) == 270
    assert m["tasks"] == {"individual": 2, "organisation": 1}
    assert m["micro_wishes"] == 1
    assert m["ratings"]["count"] == 1 and m["ratings"]["mean"] == 5
    assert (m["late_withdrawals"], m["no_shows"]) == (1, 1)
    assert [c["reason"] for c in m["corrections"]] == ["经核实未实际到场"]
    assert m["report_in"]["status"] == "accepted" and m["report_in"]["community"] == "幸福社区"
    counted = session.scalars(select(ledger.Transfer).where(ledger.Transfer.id.in_(entry.transfer_ids))).all()
    minutes_posted = sum(t.amount if t.code == ledger.Code.credit else -t.amount
                         for t in counted if t.ledger == ledger.Ledger.minutes)
    assert minutes_posted == m["minutes"]["net"]
    assert len(entry.attendance_ids) == 4
    assert entry.vanguard_index == vanguard.index(m, run.weights)
    assert entry.vanguard_index == round(270 / 60 + 2 * 2 + 3 + 5 + 2 * 2 + 10 - 3 - 5 - 5, 1)
    assert entry.community_path == tree.community_a.path

    wang_entry = session.scalar(select(AppraisalEntry).where(AppraisalEntry.person_id == wang.id))
    assert wang_entry.status == EntryStatus.done and wang_entry.metrics["report_in"]["status"] == "not_reported"


def test_report_documents_and_public_verification(app, client, session, tree, world):
    clock, site, transport, water, zhang, wang, li, district_admin = world
    site.serve(zhang, minutes=90)
    drain_all(session)
    year = session.scalar(select(Verification.served_on)).year
    actor, run = _run(session, district_admin, tree, year)
    drain_all(session)
    report = session.scalar(select(AppraisalReport).where(AppraisalReport.employer_id == transport.id))

    pdf, mime, _ = appraisal.document_bytes(session, report, "pdf", base_url="http://testserver")
    assert pdf.startswith(b"%PDF") and mime == "application/pdf"
    assert b"/FontFile2" in pdf and b"WenQuanYiMicroHei" in pdf  # a TrueType CJK font is embedded
    doc = json.loads(appraisal.document_bytes(session, report, "json", base_url="http://testserver")[0])
    assert doc["summary"]["members"] == 2 and doc["summary"]["minutes_net"] == 90
    assert {m["name"] for m in doc["members"]} == {"张伟", "王芳"}
    assert all("****" in m["phone_masked"] for m in doc["members"])
    assert zhang.phone not in json.dumps(doc, ensure_ascii=False)
    rows = csv_sections(appraisal.document_bytes(session, report, "csv", base_url="x")[0])["党员"]
    assert {r["姓名"]: int(r["服务分钟(净)"] or 0) for r in rows} == {"张伟": 90, "王芳": 0}

    genuine = client.get(f"/api/appraisal/verify/{report.verification_code.lower()}").json
    assert genuine["genuine"] is True and genuine["employer"] == "市交通运输局"
    assert genuine["member_count"] == 2 and genuine["pdf_sha256"] == report.pdf_sha256
    assert "张伟" not in json.dumps(genuine, ensure_ascii=False)
    assert client.get("/api/appraisal/verify/AAAA-BBBB-CCCC-DDDD").json == {"genuine": False,
                                                                            "code": "AAAA-BBBB-CCCC-DDDD"}


def test_vanguard_weights_are_per_district_and_validated(session, tree):
    tree.district.settings = {"vanguard_weights": {"hour": 2, "cap": 50}}
    session.commit()
    weights = vanguard.weights_for(session, tree.community_a)
    assert weights["hour"] == 2.0 and weights["cap"] == 50.0 and weights["micro_wish"] == 5.0
    with pytest.raises(Exception) as exc:
        vanguard.merge({"bogus": 1})
    assert exc.value.code == "invalid_vanguard_weights"


def test_cjk_font_is_found_from_the_installed_package():
    assert appraisal_render.find_cjk_font().endswith((".ttc", ".ttf"))


def test_a_report_that_cannot_render_fails_alone_and_the_run_still_finishes(session, tree, world, monkeypatch):
    clock, site, transport, water, zhang, wang, li, district_admin = world
    real = appraisal_render.render_pdf

    def flaky(doc):
        if doc["employer"]["name"] == "市水务集团":
            raise RuntimeError("disk full")
        return real(doc)

    monkeypatch.setattr(appraisal_render, "render_pdf", flaky)
    actor, run = _run(session, district_admin, tree, 2026)
    drain_all(session)
    progress = appraisal.progress(session, actor, run.id)
    assert (progress["status"], progress["done"], progress["errors"], progress["reports_rendered"]) == \
        ("done", 3, 1, 1)
    failed = session.scalar(select(AppraisalReport).where(AppraisalReport.employer_id == water.id))
    assert failed.status == "failed" and "disk full" in failed.error
    assert appraisal.run_errors(session, actor, run.id)[0]["error"] == "report_failed: RuntimeError: disk full"
