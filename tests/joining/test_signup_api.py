"""Self-registration through the API, as a resident would walk it: pick a community, get a code, sign up, wait
for the community, claim a task once approved, earn points once the hours are verified."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select

from tests.hours.conftest import publish, token_for
from timebank.joining.models import JoinRequest
from timebank.notify.models import Notification
from timebank.people import security
from timebank.people.models import Person, Role

from .people_data import code_for, id_number, new_phone


def _bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def test_sign_up_approval_claim_and_credit(client, session, hours, clock, run_jobs, sign_up):
    tree = hours.tree
    # The picker: an anonymous person reads the tree's names (district → street → community), nothing else.
    picker = client.get("/api/communities")
    assert picker.status_code == 200
    names = {(o["kind"], o["name"]) for o in picker.json["items"]}
    assert ("community", "幸福社区") in names and ("street", "东方街道") in names
    assert set(picker.json["items"][0]) == {"id", "name", "kind", "parent_id"}

    resp = sign_up(tree.community_a, name="赵新")
    assert resp.status_code == 201, resp.json
    me = _bearer(resp.json["access_token"])
    assert resp.json["volunteer_no"] == f"V{resp.json['person_id']:08d}"
    assert resp.json["join_request"]["status"] == "pending"
    assert "id_number" not in resp.get_data(as_text=True)

    # Until the community approves, the person sees the request and cannot claim.
    task = publish(client, hours, clock, slots=2)
    mine = client.get("/api/me/join-requests", headers=me).json["items"]
    assert [(r["status"], r["community_name"]) for r in mine] == [("pending", "幸福社区")]
    refused = client.post(f"/api/tasks/{task['id']}/claims", headers=me)
    assert refused.status_code == 403 and refused.json["code"] == "not_joined"

    # The community's admin sees it (the other community's does not) and approves.
    listed = client.get(f"/api/join-requests?org_id={tree.community_a.id}&status=pending", headers=hours.admin_a)
    assert [r["person_name"] for r in listed.json["items"]] == ["赵新"]
    request_id = listed.json["items"][0]["id"]
    assert client.post(f"/api/join-requests/{request_id}/approval", headers=hours.admin_b).status_code == 403
    approved = client.post(f"/api/join-requests/{request_id}/approval", headers=hours.admin_a)
    assert approved.status_code == 200 and approved.json["status"] == "approved"
    again = client.post(f"/api/join-requests/{request_id}/approval", headers=hours.admin_a)
    assert again.status_code == 409 and again.json["code"] == "join_request_decided"
    person_id = resp.json["person_id"]
    told = session.scalar(select(Notification).where(Notification.person_id == person_id))
    assert told.kind == "join.decided" and "已通过" in told.body
    session.rollback()

    # Now a volunteer of 幸福社区: claim, check in and out, get verified, get points.
    assert client.post(f"/api/tasks/{task['id']}/claims", headers=me).status_code == 201
    start = datetime.fromisoformat(task["starts_at"])
    clock.set(start)
    assert client.post("/api/attendance/check-in", json={"token": token_for(client, hours, task["id"])},
                       headers=me).status_code == 201
    clock.set(start + timedelta(minutes=60))
    out = client.post("/api/attendance/check-out", json={"token": token_for(client, hours, task["id"])}, headers=me)
    assert out.status_code == 200, out.json
    verified = client.post(f"/api/attendances/{out.json['id']}/verification", headers=hours.admin_a,
                           json={"decision": "accepted"})
    assert verified.status_code == 201, verified.json
    session.rollback()
    run_jobs()
    assert client.get("/api/me/points", headers=me).json["points"]["available"] == 10
    assert client.get("/api/me", headers=me).json["home_org_id"] == tree.community_a.id


def test_a_refusal_carries_its_reason_and_the_person_may_ask_again(client, session, hours, sign_up):
    resp = sign_up(hours.tree.community_a)
    me = _bearer(resp.json["access_token"])
    request_id = resp.json["join_request"]["id"]
    blank = client.post(f"/api/join-requests/{request_id}/refusal", json={"reason": "  "}, headers=hours.admin_a)
    assert blank.status_code == 422 and blank.json["code"] == "refusal_reason_required"
    refused = client.post(f"/api/join-requests/{request_id}/refusal", json={"reason": "不在本社区居住"},
                          headers=hours.admin_a)
    assert refused.status_code == 200 and refused.json["reason"] == "不在本社区居住"
    mine = client.get("/api/me/join-requests", headers=me).json["items"]
    assert mine[0]["status"] == "refused" and mine[0]["reason"] == "不在本社区居住"
    again = client.post("/api/me/join-requests", json={"community_id": hours.tree.community_b.id}, headers=me)
    assert again.status_code == 201 and again.json["status"] == "pending"
    twice = client.post("/api/me/join-requests", json={"community_id": hours.tree.community_b.id}, headers=me)
    assert twice.status_code == 409 and twice.json["code"] == "join_request_pending"
    # Someone else's request is not the person's to read.
    other = client.get(f"/api/join-requests/{request_id}", headers=hours.vol1)
    assert other.status_code == 403


def test_a_community_that_approves_at_once(client, session, hours, sign_up):
    hours.tree.community_b.settings = {"auto_approve_join": True}
    session.commit()
    resp = sign_up(hours.tree.community_b)
    assert resp.status_code == 201 and resp.json["join_request"]["status"] == "approved"
    assert session.get(Person, resp.json["person_id"]).home_org_id == hours.tree.community_b.id


def test_the_same_id_number_or_phone_twice_is_refused(client, session, tree, sign_up, clock):
    number = id_number()
    assert sign_up(tree.community_a, id_no=number).status_code == 201
    second = sign_up(tree.community_a, id_no=number.lower() if number.endswith("X") else number)
    assert second.status_code == 409 and second.json["code"] == "id_number_taken"
    phone = new_phone()
    assert sign_up(tree.community_a, phone=phone).status_code == 201
    clock.advance(minutes=2)  # a new code for the same phone, a minute later
    third = sign_up(tree.community_a, phone=phone)
    assert third.status_code == 409 and third.json["code"] == "phone_taken"
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Person)) == 2
    # Only the keyed hash is kept.
    assert session.scalar(select(Person.id_number_hash).where(Person.phone == phone)) != number


def test_bad_input_is_refused_before_the_code_is_used(client, session, tree):
    phone = new_phone()
    code = code_for(session, phone, "signup")
    body = {"phone": phone, "code": code, "name": "钱多", "id_number": "110105194912310021",
            "community_id": tree.community_a.id, "password": "long-enough-1"}
    wrong_id = client.post("/api/signup", json=body)
    assert wrong_id.status_code == 422 and wrong_id.json["code"] == "id_number_invalid"
    assert "校验位" in wrong_id.json["detail"]
    street = client.post("/api/signup", json={**body, "id_number": id_number(), "community_id": tree.street.id})
    assert street.status_code == 422 and street.json["code"] == "not_a_community"
    short = client.post("/api/signup", json={**body, "id_number": id_number(), "password": "short"})
    assert short.status_code == 422 and short.json["code"] == "password_length"
    wrong_code = client.post("/api/signup", json={**body, "id_number": id_number(),
                                                  "code": "000000" if code != "000000" else "111111"})
    assert wrong_code.status_code == 422 and wrong_code.json["code"] == "code_invalid"
    assert wrong_code.json["tries_left"] == 4  # the wrong try was counted (committed)
    ok = client.post("/api/signup", json={**body, "id_number": id_number()})
    assert ok.status_code == 201, ok.json
    malformed = client.post("/api/signup", json={**body, "community_id": "x", "extra": 1})
    assert malformed.status_code == 422 and malformed.json["code"] == "validation_failed"
    session.rollback()
    assert session.scalar(select(func.count()).select_from(JoinRequest)) == 1


def test_password_reset_by_code_ends_every_session(client, session, tree, make_person, app):
    person = make_person("孙丽", tree.community_a, password="old-password-1")
    old = {"Authorization": "Bearer " + security.issue_token(app.config["SECRET_KEY"], person.id,
                                                             person.token_version)}
    phone = person.phone
    assert client.get("/api/me", headers=old).status_code == 200
    code = code_for(session, phone, "reset_password")
    session.rollback()
    bad = client.post("/api/auth/password-reset", json={"phone": phone, "code": "12345x", "new_password": "x" * 9})
    assert bad.status_code == 422
    resp = client.post("/api/auth/password-reset", json={"phone": phone, "code": code,
                                                          "new_password": "new-password-1"})
    assert resp.status_code == 200 and resp.json == {"reset": True}
    assert client.get("/api/me", headers=old).status_code == 401
    assert client.post("/api/auth/token", json={"phone": phone, "password": "new-password-1"}).status_code == 201
    used = client.post("/api/auth/password-reset", json={"phone": phone, "code": code,
                                                          "new_password": "newer-password-2"})
    assert used.status_code == 422 and used.json["code"] == "code_invalid"
    # An unknown phone reads like a wrong code: nobody learns who is registered.
    stranger = new_phone()
    code = code_for(session, stranger, "reset_password")
    session.rollback()
    unknown = client.post("/api/auth/password-reset", json={"phone": stranger, "code": code,
                                                             "new_password": "new-password-1"})
    assert unknown.status_code == 422 and unknown.json["code"] == "code_invalid"


def test_every_person_has_a_volunteer_number_and_admins_see_it(client, session, tree, as_user, make_person):
    _admin, headers = as_user(Role.community_admin, tree.community_a)
    person = make_person("周到", tree.community_a)
    assert person.volunteer_no == f"V{person.id:08d}"
    listed = client.get(f"/api/people?org_id={tree.community_a.id}", headers=headers).json["items"]
    assert all(p["volunteer_no"].startswith("V") for p in listed)




def test_an_admin_registering_a_resident_is_held_to_the_same_id_check(client, session, tree, as_user):
    _admin, headers = as_user(Role.community_admin, tree.community_a)
    body = {"name": "李大爷", "phone": new_phone(), "home_org_id": tree.community_a.id,
            "id_number": "110105194912310021"}
    wrong = client.post("/api/people", json=body, headers=headers)
    assert wrong.status_code == 422 and wrong.json["code"] == "id_number_invalid"
    number = id_number()
    ok = client.post("/api/people", json={**body, "id_number": number}, headers=headers)
    assert ok.status_code == 201 and ok.json["volunteer_no"].startswith("V")
    twice = client.post("/api/people", json={**body, "phone": new_phone(), "id_number": number}, headers=headers)
    assert twice.status_code == 409 and twice.json["code"] == "id_number_taken"
