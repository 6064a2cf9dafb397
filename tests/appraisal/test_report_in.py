"""双报到: a member reports in where they live, the community accepts, the employer sees who has not."""

from __future__ import annotations

from datetime import date, timedelta

from timebank.appraisal import report_in as service
from timebank.appraisal.models import ReportIn, ReportInStatus
from timebank.ops.models import AuditEntry
from timebank.people.models import Role


def test_member_reports_in_and_community_accepts_and_employer_sees_roster(
        client, session, tree, as_user, make_employer, make_member, employer_contact):
    employer = make_employer()
    zhang, zhang_h = make_member(employer, tree.grid_a, name="张党员")
    make_member(employer, tree.grid_b, name="李党员")
    _admin, admin_h = as_user(Role.community_admin, tree.community_a)
    _other_admin, other_h = as_user(Role.community_admin, tree.community_b)

    resp = client.post("/api/report-ins", json={"community_id": tree.community_a.id, "note": "住3栋"},
                       headers=zhang_h)
    assert resp.status_code == 201, resp.json
    ri = resp.json
    assert ri["status"] == "pending" and ri["employer_id"] == employer.id

    again = client.post("/api/report-ins", json={"community_id": tree.community_a.id}, headers=zhang_h)
    assert again.status_code == 409 and again.json["code"] == "already_reported_in"

    crossed = client.post(f"/api/report-ins/{ri['id']}/acceptance", headers=other_h)
    assert crossed.status_code == 403 and crossed.json["code"] == "out_of_scope"
    accepted = client.post(f"/api/report-ins/{ri['id']}/acceptance", headers=admin_h)
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"

    listed = client.get(f"/api/report-ins?community_id={tree.community_a.id}", headers=admin_h).json
    assert [i["id"] for i in listed["items"]] == [ri["id"]]

    _contact, contact_h = employer_contact(employer)
    roster = client.get(f"/api/employers/{employer.id}/report-ins", headers=contact_h)
    assert roster.status_code == 200, roster.json
    body = roster.json
    assert (body["total"], body["reported"], body["not_reported"]) == (2, 1, 1)
    by_name = {line["name"]: line for line in body["items"]}
    assert by_name["张党员"]["status"] == "accepted" and by_name["张党员"]["community"] == "幸福社区"
    assert by_name["李党员"]["status"] == "not_reported" and by_name["李党员"]["community"] is None
    assert "****" in by_name["张党员"]["phone_masked"] and zhang.phone not in str(body)
    assert session.query(AuditEntry).filter_by(action="report_in.roster_read").count() == 1


def test_an_employer_cannot_read_another_employers_roster(client, tree, make_employer, employer_contact,
                                                          as_user):
    mine, theirs = make_employer("甲单位"), make_employer("乙单位")
    _c, contact_h = employer_contact(mine)
    resp = client.get(f"/api/employers/{theirs.id}/report-ins", headers=contact_h)
    assert resp.status_code == 403 and resp.json["code"] == "out_of_scope"
    _v, volunteer_h = as_user(home=tree.grid_a)
    assert client.get(f"/api/employers/{mine.id}/report-ins", headers=volunteer_h).status_code == 403


def test_only_in_service_members_report_in_and_only_where_they_live(client, tree, make_employer, make_member,
                                                                    as_user):
    employer = make_employer()
    _p, h = make_member(employer, tree.grid_a)
    far = client.post("/api/report-ins", json={"community_id": tree.community_b.id}, headers=h)
    assert far.status_code == 422 and far.json["code"] == "not_resident"
    grid = client.post("/api/report-ins", json={"community_id": tree.grid_a.id}, headers=h)
    assert grid.status_code == 422 and grid.json["code"] == "not_a_community"
    _v, volunteer_h = as_user(home=tree.grid_a)
    plain = client.post("/api/report-ins", json={"community_id": tree.community_a.id}, headers=volunteer_h)
    assert plain.status_code == 422 and plain.json["code"] == "not_in_service_member"
    bad = client.post("/api/report-ins", json={"community_id": "x", "extra": 1}, headers=h)
    assert bad.status_code == 422 and set(bad.json["errors"]["json"]) == {"community_id", "extra"}


def test_move_renew_and_expiry(client, session, tree, as_user, make_employer, make_member):
    employer = make_employer()
    _p, h = make_member(employer, tree.grid_a)
    _a, admin_a = as_user(Role.community_admin, tree.community_a)
    _b, admin_b = as_user(Role.community_admin, tree.community_b)
    first = client.post("/api/report-ins", json={"community_id": tree.community_a.id}, headers=h).json
    client.post(f"/api/report-ins/{first['id']}/acceptance", headers=admin_a)

    renewed = client.post(f"/api/report-ins/{first['id']}/renewal", headers=h)
    assert renewed.status_code == 200
    assert date.fromisoformat(renewed.json["expires_on"]) > date.fromisoformat(first["expires_on"])

    moved = client.post(f"/api/report-ins/{first['id']}/move", json={"community_id": tree.community_b.id},
                        headers=h)
    assert moved.status_code == 201 and moved.json["status"] == "pending"
    old = client.get(f"/api/report-ins/{first['id']}", headers=h).json
    assert old["status"] == "moved" and old["moved_to_id"] == moved.json["id"]
    assert client.post(f"/api/report-ins/{moved.json['id']}/acceptance", headers=admin_b).status_code == 200

    mine = client.get("/api/report-ins/mine", headers=h).json["items"]
    assert [r["status"] for r in mine] == ["accepted", "moved"]

    row = session.get(ReportIn, moved.json["id"])
    assert service.expire_due(session, today=row.expires_on + timedelta(days=1)) == 1
    session.commit()
    session.refresh(row)
    assert row.status == ReportInStatus.expired
    back = client.post(f"/api/report-ins/{row.id}/renewal", headers=admin_b)
    assert back.status_code == 200 and back.json["status"] == "accepted"


def test_rejection_needs_a_reason_and_frees_the_member_to_report_again(client, tree, as_user,
                                                                        make_employer, make_member):
    employer = make_employer()
    _p, h = make_member(employer, tree.grid_a)
    _a, admin = as_user(Role.community_admin, tree.community_a)
    ri = client.post("/api/report-ins", json={"community_id": tree.community_a.id}, headers=h).json
    assert client.post(f"/api/report-ins/{ri['id']}/rejection", json={}, headers=admin).status_code == 422
    rejected = client.post(f"/api/report-ins/{ri['id']}/rejection", json={"reason": "地址不符"}, headers=admin)
    assert rejected.json["status"] == "rejected" and rejected.json["reject_reason"] == "地址不符"
    again = client.post("/api/report-ins", json={"community_id": tree.community_a.id}, headers=h)
    assert again.status_code == 201
