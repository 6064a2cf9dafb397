"""单位报到: a unit reports in to a community with its resource list and co-building agreement; the community
accepts or refuses; the unit renews before it lapses, as a member does; a second live one is refused."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.cobuilding.conftest import report_in_body
from timebank.clock import add_months, local_today
from timebank.cobuilding import notices
from timebank.cobuilding import report_in as service
from timebank.cobuilding.models import AgreementStatus, CobuildingAgreement, UnitReportIn, UnitReportInStatus
from timebank.notify.models import Notification
from timebank.ops.models import AuditEntry
from timebank.people.models import Role


def test_a_unit_reports_in_with_resources_and_agreement_and_the_community_accepts(
        client, session, tree, as_user, make_unit, unit_contact):
    unit = make_unit()
    contact, contact_h = unit_contact(unit)
    _admin, admin_h = as_user(Role.community_admin, tree.community_a)

    resp = client.post("/api/unit-report-ins", json=report_in_body(tree.community_a.id), headers=contact_h)
    assert resp.status_code == 201, resp.json
    ri = resp.json
    assert ri["status"] == "pending" and ri["employer_id"] == unit.id and ri["community_name"] == "幸福社区"
    assert [r["kind"] for r in ri["resources"]] == ["venue", "volunteers"]
    assert ri["agreement"]["status"] == "pending" and ri["agreement"]["title"] == "党建共建协议"
    assert ri["expires_on"] == add_months(local_today(), 12).isoformat()

    twice = client.post("/api/unit-report-ins", json=report_in_body(tree.community_a.id), headers=contact_h)
    assert twice.status_code == 409 and twice.json["code"] == "already_reported_in"
    elsewhere = client.post("/api/unit-report-ins", json=report_in_body(tree.community_b.id), headers=contact_h)
    assert elsewhere.status_code == 201  # one live report-in per community, not per unit

    pending = client.get(f"/api/unit-report-ins?community_id={tree.community_a.id}&status=pending",
                         headers=admin_h).json
    assert [i["id"] for i in pending["items"]] == [ri["id"]]
    accepted = client.post(f"/api/unit-report-ins/{ri['id']}/acceptance", headers=admin_h)
    assert accepted.status_code == 200 and accepted.json["status"] == "active"
    assert accepted.json["agreement"]["status"] == "in_force"
    again = client.post(f"/api/unit-report-ins/{ri['id']}/acceptance", headers=admin_h)
    assert again.status_code == 409 and again.json["code"] == "unit_report_in_not_pending"

    told = session.scalars(select(Notification).where(Notification.person_id == contact.id)).all()
    assert [n.kind for n in told] == ["unit_report_in.accepted"] and "幸福社区" in told[0].body
    mine = client.get("/api/unit-report-ins", headers=contact_h).json  # a contact of one unit names none
    assert {i["id"] for i in mine["items"]} == {ri["id"], elsewhere.json["id"]}
    assert session.query(AuditEntry).filter_by(action="unit_report_in.accept").count() == 1


def test_the_community_refuses_with_a_reason_the_unit_reads(client, session, tree, as_user, make_unit,
                                                            unit_contact):
    unit = make_unit()
    contact, contact_h = unit_contact(unit)
    _admin, admin_h = as_user(Role.community_admin, tree.community_a)
    ri = client.post("/api/unit-report-ins", json=report_in_body(tree.community_a.id), headers=contact_h).json
    blank = client.post(f"/api/unit-report-ins/{ri['id']}/rejection", json={"reason": ""}, headers=admin_h)
    assert blank.status_code == 422
    refused = client.post(f"/api/unit-report-ins/{ri['id']}/rejection", json={"reason": "请先与社区签订协议原件"},
                          headers=admin_h)
    assert refused.status_code == 200 and refused.json["status"] == "rejected"
    assert refused.json["agreement"]["status"] == "void"
    note = session.scalar(select(Notification).where(Notification.person_id == contact.id))
    assert note.kind == "unit_report_in.rejected" and "请先与社区签订协议原件" in note.body
    # Refused, the unit may report in there again.
    assert client.post("/api/unit-report-ins", json=report_in_body(tree.community_a.id),
                       headers=contact_h).status_code == 201


def test_renewal_lapse_and_the_warning_before_it(client, session, tree, as_user, make_unit, unit_contact):
    unit = make_unit()
    contact, contact_h = unit_contact(unit)
    _admin, admin_h = as_user(Role.community_admin, tree.community_a)
    ri = client.post("/api/unit-report-ins", json=report_in_body(tree.community_a.id), headers=contact_h).json
    early = client.post(f"/api/unit-report-ins/{ri['id']}/renewal", json={}, headers=contact_h)
    assert early.status_code == 409 and early.json["code"] == "unit_report_in_not_renewable"
    client.post(f"/api/unit-report-ins/{ri['id']}/acceptance", headers=admin_h)
    expires = local_today() + timedelta(days=10)
    session.execute(UnitReportIn.__table__.update().values(expires_on=expires))
    session.commit()

    assert notices.warn_lapsing(session, today=local_today()) == 1
    assert notices.warn_lapsing(session, today=local_today()) == 0  # once per expiry date
    session.commit()
    kinds = session.scalars(select(Notification.kind).where(Notification.person_id == contact.id)).all()
    assert "unit_report_in.lapsing" in kinds

    assert service.lapse_due(session, today=expires + timedelta(days=1)) == 1
    session.commit()
    row = session.get(UnitReportIn, ri["id"])
    assert row.status == UnitReportInStatus.lapsed and row.agreement.status == AgreementStatus.ended
    session.rollback()

    new_end = (local_today() + timedelta(days=1000)).isoformat()
    renewed = client.post(f"/api/unit-report-ins/{ri['id']}/renewal", json={"agreement_ends_on": new_end},
                          headers=contact_h)
    assert renewed.status_code == 200, renewed.json
    assert renewed.json["status"] == "active" and renewed.json["agreement"]["status"] == "in_force"
    assert renewed.json["agreement"]["ends_on"] == new_end
    # The new term counts from the later of today and the old expiry.
    assert renewed.json["expires_on"] == add_months(expires, 12).isoformat()


def test_withdrawal_ends_the_agreement_and_frees_the_community(client, session, tree, as_user, make_unit,
                                                               unit_contact):
    unit = make_unit()
    _c, contact_h = unit_contact(unit)
    _admin, admin_h = as_user(Role.community_admin, tree.community_a)
    ri = client.post("/api/unit-report-ins", json=report_in_body(tree.community_a.id), headers=contact_h).json
    client.post(f"/api/unit-report-ins/{ri['id']}/acceptance", headers=admin_h)
    by_admin = client.post(f"/api/unit-report-ins/{ri['id']}/withdrawal", headers=admin_h)
    assert by_admin.status_code == 403
    gone = client.post(f"/api/unit-report-ins/{ri['id']}/withdrawal", headers=contact_h)
    assert gone.status_code == 200 and gone.json["status"] == "withdrawn"
    assert session.scalar(select(CobuildingAgreement.status)) == AgreementStatus.ended
    twice = client.post(f"/api/unit-report-ins/{ri['id']}/withdrawal", headers=contact_h)
    assert twice.status_code == 409
    assert client.post("/api/unit-report-ins", json=report_in_body(tree.community_a.id),
                       headers=contact_h).status_code == 201


def test_resources_are_edited_while_live_and_never_deleted(client, tree, as_user, make_unit, unit_contact):
    unit = make_unit()
    _c, contact_h = unit_contact(unit)
    _admin, admin_h = as_user(Role.community_admin, tree.community_a)
    ri = client.post("/api/unit-report-ins", json=report_in_body(tree.community_a.id), headers=contact_h).json
    added = client.post(f"/api/unit-report-ins/{ri['id']}/resources",
                        json={"kind": "funds", "description": "共建经费", "quantity": 20000, "unit": "元"},
                        headers=contact_h)
    assert added.status_code == 201, added.json
    by_admin = client.post(f"/api/unit-report-ins/{ri['id']}/resources",
                           json={"kind": "goods", "description": "x"}, headers=admin_h)
    assert by_admin.status_code == 403  # the list is the unit's to keep
    changed = client.patch(f"/api/unit-resources/{added.json['id']}", json={"available": False, "quantity": None},
                           headers=contact_h)
    assert changed.status_code == 200 and changed.json["available"] is False and changed.json["quantity"] is None
    listed = client.get(f"/api/unit-report-ins/{ri['id']}/resources", headers=admin_h).json
    assert len(listed) == 3
    client.post(f"/api/unit-report-ins/{ri['id']}/withdrawal", headers=contact_h)
    late = client.patch(f"/api/unit-resources/{added.json['id']}", json={"available": True}, headers=contact_h)
    assert late.status_code == 409 and late.json["code"] == "unit_report_in_not_live"


def test_careless_and_hostile_input_is_refused_with_a_stable_code(client, tree, as_user, make_unit, unit_contact):
    unit, other = make_unit(), make_unit("市水务集团")
    _c, contact_h = unit_contact(unit)
    no_resources = client.post("/api/unit-report-ins", json=report_in_body(tree.community_a.id, resources=[]),
                               headers=contact_h)
    assert no_resources.status_code == 422 and "resources" in no_resources.json["errors"]["json"]
    many = report_in_body(tree.community_a.id)
    many["resources"] = many["resources"] * 40
    assert client.post("/api/unit-report-ins", json=many, headers=contact_h).status_code == 422
    backwards = report_in_body(tree.community_a.id)
    backwards["agreement"]["ends_on"] = "2001-01-01"
    resp = client.post("/api/unit-report-ins", json=backwards, headers=contact_h)
    assert resp.status_code == 422 and resp.json["code"] == "ends_before_start"
    grid = client.post("/api/unit-report-ins", json=report_in_body(tree.grid_a.id), headers=contact_h)
    assert grid.status_code == 422 and grid.json["code"] == "not_a_community"
    huge = client.post("/api/unit-report-ins", json=report_in_body(tree.community_a.id, party_org_name="党" * 5000),
                       headers=contact_h)
    assert huge.status_code == 422
    junk = client.post("/api/unit-report-ins", json={"community_id": "x", "extra": 1}, headers=contact_h)
    assert junk.status_code == 422 and {"community_id", "extra"} <= set(junk.json["errors"]["json"])
    not_mine = client.post("/api/unit-report-ins", json=report_in_body(tree.community_a.id, employer_id=other.id),
                           headers=contact_h)
    assert not_mine.status_code == 403 and not_mine.json["code"] == "out_of_scope"
    _v, volunteer_h = as_user(home=tree.grid_a)
    stranger = client.post("/api/unit-report-ins", json=report_in_body(tree.community_a.id), headers=volunteer_h)
    assert stranger.status_code == 422 and stranger.json["code"] == "filter_required"
    assert client.get("/api/unit-report-ins/999999", headers=contact_h).status_code == 404


def test_a_double_submit_with_the_same_idempotency_key_is_one_report_in(client, session, tree, make_unit,
                                                                        unit_contact):
    unit = make_unit()
    _c, contact_h = unit_contact(unit)
    headers = {**contact_h, "Idempotency-Key": "unit-report-in-1"}
    first = client.post("/api/unit-report-ins", json=report_in_body(tree.community_a.id), headers=headers)
    second = client.post("/api/unit-report-ins", json=report_in_body(tree.community_a.id), headers=headers)
    assert first.status_code == second.status_code == 201 and first.json["id"] == second.json["id"]
    assert session.query(UnitReportIn).count() == 1


def test_the_cron_sweeps_warn_then_lapse(client, session, tree, as_user, make_unit, unit_contact):
    from timebank.workers.jobs import cobuilding as jobs

    unit = make_unit()
    _c, contact_h = unit_contact(unit)
    _admin, admin_h = as_user(Role.community_admin, tree.community_a)
    ri = client.post("/api/unit-report-ins", json=report_in_body(tree.community_a.id), headers=contact_h).json
    client.post(f"/api/unit-report-ins/{ri['id']}/acceptance", headers=admin_h)
    session.execute(UnitReportIn.__table__.update().values(expires_on=local_today() + timedelta(days=3)))
    session.commit()
    assert jobs.warn_lapsing_unit_report_ins() == 1
    assert jobs.lapse_unit_report_ins() == 0
    session.execute(UnitReportIn.__table__.update().values(reported_on=local_today() - timedelta(days=30),
                                                           expires_on=local_today() - timedelta(days=1)))
    session.commit()
    assert jobs.lapse_unit_report_ins() == 1
    assert client.get(f"/api/unit-report-ins/{ri['id']}", headers=contact_h).json["status"] == "lapsed"
