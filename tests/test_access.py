"""Role *and* scope on every foundation endpoint: each test tries to cross a boundary."""

from __future__ import annotations

import pytest

from timebank.people import partners
from timebank.people import persons as people
from timebank.people.access import SYSTEM
from timebank.people.credit_code import make
from timebank.people.models import PartyMemberStatus, Role


@pytest.fixture
def world(session, tree, make_person):
    """Two communities, two merchants, two employers, a member of each employer."""
    merchant_a = partners.create_merchant(session, SYSTEM, name="甲超市", credit_code_value=make("92330100MA00000A1"),
                                          org_id=tree.community_a.id)
    merchant_b = partners.create_merchant(session, SYSTEM, name="乙超市", credit_code_value=make("92330100MA00000B1"),
                                          org_id=tree.community_b.id)
    employer_a = partners.create_employer(session, SYSTEM, name="甲单位", credit_code_value=make("12330100MB00000A2"),
                                          org_id=tree.district.id)
    employer_b = partners.create_employer(session, SYSTEM, name="乙单位", credit_code_value=make("12330100MB00000B2"),
                                          org_id=tree.district.id)
    member_a = make_person(name="甲党员", home=tree.grid_a)
    member_b = make_person(name="乙党员", home=tree.grid_b)
    people.register_party_member(session, None, member_a, status=PartyMemberStatus.in_service,
                                 employer_id=employer_a.id, branch_id=None)
    people.register_party_member(session, None, member_b, status=PartyMemberStatus.in_service,
                                 employer_id=employer_b.id, branch_id=None)
    _, key_a = partners.issue_api_key(session, SYSTEM, merchant_id=merchant_a.id)
    _, emp_key_a = partners.issue_api_key(session, SYSTEM, employer_id=employer_a.id)
    session.commit()
    return dict(merchant_a=merchant_a, merchant_b=merchant_b, employer_a=employer_a, employer_b=employer_b,
                member_a=member_a, member_b=member_b, merchant_key_a={"X-API-Key": key_a},
                employer_key_a={"X-API-Key": emp_key_a})


def test_community_admin_cannot_read_another_communitys_people(client, tree, world, as_user):
    _, admin_a = as_user(Role.community_admin, tree.community_a)
    own = client.get(f"/api/people?org_id={tree.community_a.id}", headers=admin_a)
    assert own.status_code == 200
    assert world["member_a"].id in [p["id"] for p in own.json["items"]]
    assert world["member_b"].id not in [p["id"] for p in own.json["items"]]
    other = client.get(f"/api/people?org_id={tree.community_b.id}", headers=admin_a)
    assert other.status_code == 403 and other.json["code"] == "out_of_scope"
    assert client.get(f"/api/people/{world['member_b'].id}", headers=admin_a).status_code == 403


def test_community_admin_cannot_change_another_communitys_data(client, tree, world, as_user, session):
    _, admin_a = as_user(Role.community_admin, tree.community_a)
    attempts = [
        ("post", "/api/people", {"name": "越权", "phone": "13712345678", "home_org_id": tree.grid_b.id}),
        ("post", "/api/orgs", {"kind": "grid", "name": "越权网格", "parent_id": tree.community_b.id}),
        ("post", f"/api/people/{world['member_b'].id}/roles", {"role": "grid_worker", "org_id": tree.grid_b.id}),
        ("put", f"/api/people/{world['member_b'].id}/party-member", {"status": "retired"}),
        ("put", f"/api/merchants/{world['merchant_b'].id}/status", {"status": "suspended"}),
        ("post", f"/api/merchants/{world['merchant_b'].id}/api-keys", {}),
    ]
    for method, url, body in attempts:
        resp = getattr(client, method)(url, json=body, headers=admin_a)
        assert resp.status_code == 403, (url, resp.json)
    from timebank.people.models import MerchantStatus

    session.refresh(world["merchant_b"])
    assert world["merchant_b"].status == MerchantStatus.active


def test_community_admin_cannot_grant_a_role_above_their_own(client, tree, world, as_user):
    _, admin_a = as_user(Role.community_admin, tree.community_a)
    resp = client.post(f"/api/people/{world['member_a'].id}/roles", json={"role": "street_admin",
                                                                         "org_id": tree.community_a.id},
                       headers=admin_a)
    assert resp.status_code == 403
    ok = client.post(f"/api/people/{world['member_a'].id}/roles", json={"role": "grid_worker",
                                                                       "org_id": tree.grid_a.id}, headers=admin_a)
    assert ok.status_code == 201


def test_street_admin_sees_the_whole_subtree(client, tree, world, as_user):
    _, street = as_user(Role.street_admin, tree.street)
    ids = [p["id"] for p in client.get(f"/api/people?org_id={tree.street.id}", headers=street).json["items"]]
    assert {world["member_a"].id, world["member_b"].id} <= set(ids)


def test_a_volunteer_sees_only_themself(client, tree, world, app):
    from tests.conftest import bearer

    headers = bearer(app, world["member_a"])
    assert client.get(f"/api/people/{world['member_a'].id}", headers=headers).status_code == 200
    assert client.get(f"/api/people/{world['member_b'].id}", headers=headers).status_code == 403
    assert client.get(f"/api/people?org_id={tree.grid_a.id}", headers=headers).status_code == 403
    assert client.get("/api/orgs", headers=headers).json["items"] == []


def test_a_merchant_cannot_see_another_merchant(client, world):
    key = world["merchant_key_a"]
    assert client.get(f"/api/merchants/{world['merchant_a'].id}", headers=key).status_code == 200
    resp = client.get(f"/api/merchants/{world['merchant_b'].id}", headers=key)
    assert resp.status_code == 403 and resp.json["code"] == "out_of_scope"
    assert client.get(f"/api/employers/{world['employer_a'].id}", headers=key).status_code == 403


def test_an_employer_sees_only_its_own_members(client, world):
    key = world["employer_key_a"]
    own = client.get(f"/api/employers/{world['employer_a'].id}/members", headers=key)
    assert own.status_code == 200
    assert [m["person_id"] for m in own.json] == [world["member_a"].id]
    assert "****" in own.json[0]["phone_masked"]
    assert "phone" not in own.json[0]
    other = client.get(f"/api/employers/{world['employer_b'].id}/members", headers=key)
    assert other.status_code == 403
    assert client.get(f"/api/merchants/{world['merchant_a'].id}", headers=key).status_code == 403


def test_only_street_or_district_admins_register_employers(client, tree, as_user):
    body = {"name": "新单位", "credit_code": make("12330100MB0000099"), "org_id": tree.district.id}
    _, community_admin = as_user(Role.community_admin, tree.community_a)
    assert client.post("/api/employers", json=body, headers=community_admin).status_code == 403
    _, district_admin = as_user(Role.district_admin, tree.district)
    assert client.post("/api/employers", json=body, headers=district_admin).status_code == 201


def test_an_auditor_reads_but_cannot_write(client, tree, world, as_user):
    _, auditor = as_user(Role.auditor, tree.district)
    assert client.get(f"/api/people?org_id={tree.district.id}", headers=auditor).status_code == 200
    resp = client.post("/api/orgs", json={"kind": "grid", "name": "审计网格", "parent_id": tree.community_a.id},
                       headers=auditor)
    assert resp.status_code == 403
