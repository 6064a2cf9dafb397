"""The whole story: members report in, serve and are verified; a period run renders the employer's letter;
the e-mail with the PDF arrives at a real SMTP server on loopback; the employer acknowledges and evaluates;
the community reads the evaluation; every figure equals the ledger's."""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.conftest import bearer
from timebank import ledger
from timebank.hours.models import Verification
from timebank.ops.models import AuditEntry
from timebank.people import partners
from timebank.people.access import SYSTEM
from timebank.people.models import Role

from .mail import smtp_server
from .service import community, install_clock, work


def test_report_in_serve_run_mail_acknowledge_evaluate(app, client, session, tree, monkeypatch, make_person,
                                                       make_employer, make_member, as_user, run_jobs):
    clock = install_clock(monkeypatch)
    site = community(session, clock, tree, make_person, tree.community_a)
    employer = make_employer("市交通运输局", email="dangwei@jtj.example.test")
    other = make_employer("市水务集团", email="dw@water.example.test")
    _key_row, employer_key = partners.issue_api_key(session, SYSTEM, employer_id=employer.id, label="党委")
    _other_row, other_key = partners.issue_api_key(session, SYSTEM, employer_id=other.id, label="党委")
    session.commit()
    employer_h, other_h = {"X-API-Key": employer_key}, {"X-API-Key": other_key}
    zhang, zhang_h = make_member(employer, tree.grid_a, name="张伟")
    wang, wang_h = make_member(employer, tree.grid_a, name="王芳")
    make_member(other, tree.grid_a, name="李娜")
    admin_h = bearer(app, site.admin)
    _d, district_h = as_user(Role.district_admin, tree.district)

    # 双报到: both report in; the community accepts.
    for h in (zhang_h, wang_h):
        ri = client.post("/api/report-ins", json={"community_id": tree.community_a.id}, headers=h)
        assert ri.status_code == 201, ri.json
        assert client.post(f"/api/report-ins/{ri.json['id']}/acceptance", headers=admin_h).status_code == 200
    roster = client.get(f"/api/employers/{employer.id}/report-ins", headers=employer_h).json
    assert (roster["total"], roster["reported"]) == (2, 2)

    # They serve; the grid worker confirms, the community verifies; the credit job posts to the ledger.
    site.serve(zhang, minutes=120, category="红色先锋")
    site.serve(zhang, minutes=60, category="橙色关爱", micro_wish=True, stars=5, title="帮独居老人买药")
    site.serve(wang, minutes=45, category="绿色环保")
    work(session, run_jobs)
    assert session.scalar(select(Verification).where(Verification.person_id == wang.id)).credited_at is not None
    year = session.scalar(select(Verification.served_on)).year

    with smtp_server() as (mailbox, port):
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, MAIL_FROM="aixin@district.example.test")
        period = client.post("/api/appraisal/periods", json={"district_id": tree.district.id, "kind": "year",
                                                             "year": year}, headers=district_h)
        assert period.status_code == 201, period.json
        run = client.post("/api/appraisal/runs", json={"period_id": period.json["id"]}, headers=district_h)
        assert run.status_code == 202, run.json
        assert (run.json["total"], run.json["done"], run.json["status"]) == (3, 0, "queued")
        work(session, run_jobs)
        progress = client.get(f"/api/appraisal/runs/{run.json['id']}", headers=district_h).json
        assert (progress["status"], progress["done"], progress["errors"]) == ("done", 3, 0)

        assert len(mailbox.messages) == 2
        mail = next(m for m in mailbox.messages if m["To"] == "dangwei@jtj.example.test")
    assert "一信一函" in mail["Subject"] and "市交通运输局" in mail["Subject"]
    attachments = {part.get_filename(): part.get_content() for part in mail.iter_attachments()}
    pdf_name = next(n for n in attachments if n.endswith(".pdf"))
    assert "一信一函" in pdf_name and attachments[pdf_name].startswith(b"%PDF")

    # The employer finds its report: delivered by e-mail, the same PDF as the API serves.
    reports = client.get(f"/api/appraisal/reports?employer_id={employer.id}", headers=employer_h).json["items"]
    assert len(reports) == 1
    report = reports[0]
    assert [(d["channel"], d["status"]) for d in report["deliveries"]] == [("email", "sent")]
    pdf = client.get(f"/api/appraisal/reports/{report['id']}/document?format=pdf", headers=employer_h)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.data == attachments[pdf_name]
    assert report["verification_code"].encode() in mail.get_body(("plain",)).get_content().encode()
    doc = client.get(f"/api/appraisal/reports/{report['id']}/document?format=json", headers=employer_h).json
    csv_text = client.get(f"/api/appraisal/reports/{report['id']}/document?format=csv",
                          headers=employer_h).data.decode("utf-8-sig")
    assert "张伟" in csv_text and "李娜" not in csv_text and "李娜" not in json.dumps(doc, ensure_ascii=False)
    crossed = client.get(f"/api/appraisal/reports/{report['id']}/document?format=pdf", headers=other_h)
    assert crossed.status_code == 403

    # Every figure equals the ledger's.
    for member in doc["members"]:
        person_id = {"张伟": zhang.id, "王芳": wang.id}[member["name"]]
        account = ledger.account_for(session, owner_kind=ledger.OwnerKind.volunteer, owner_id=person_id,
                                     ledger=ledger.Ledger.minutes)
        balance = ledger.balance(session, account.id)
        assert member["metrics"]["minutes"]["net"] == balance.credits_posted - balance.debits_posted
        assert set(member["metrics"]["trace"]["transfer_ids"]) >= set(session.scalars(
            select(Verification.minutes_transfer_id).where(Verification.person_id == person_id)))
    assert doc["summary"]["minutes_net"] == 120 + 60 + 45

    # 双评议: the employer acknowledges and evaluates; the community reads it; another employer cannot.
    ack = client.post(f"/api/appraisal/reports/{report['id']}/acknowledgement", headers=employer_h)
    assert ack.status_code == 200 and ack.json["deliveries"][0]["status"] == "acknowledged"
    entries = {m["name"]: m["entry_id"] for m in doc["members"]}
    body = {"items": [{"entry_id": entries["张伟"], "grade": "excellent", "comment": "社区服务表现突出"},
                      {"entry_id": entries["王芳"], "grade": "competent"}]}
    assert client.put(f"/api/appraisal/reports/{report['id']}/evaluations", json=body,
                      headers=other_h).status_code == 403
    evaluated = client.put(f"/api/appraisal/reports/{report['id']}/evaluations", json=body, headers=employer_h)
    assert evaluated.status_code == 200, evaluated.json
    seen = client.get(f"/api/appraisal/reports/{report['id']}/evaluations", headers=admin_h).json
    assert {(i["name"], i["grade_label"]) for i in seen["items"]} == {("张伟", "优秀"), ("王芳", "称职")}
    _b, other_admin_h = as_user(Role.community_admin, tree.community_b)
    assert client.get(f"/api/appraisal/reports/{report['id']}/evaluations",
                      headers=other_admin_h).json["items"] == []
    mine = client.get("/api/appraisal/entries/mine", headers=zhang_h).json["items"]
    assert mine[0]["grade"] == "优秀" and mine[0]["metrics"]["minutes"]["net"] == 180

    reads = session.scalars(select(AuditEntry).where(AuditEntry.action == "appraisal.report_read")).all()
    assert {r.after["format"] for r in reads} == {"pdf", "csv", "json"}
    assert all(r.actor == f"employer:{employer.id}" for r in reads)
