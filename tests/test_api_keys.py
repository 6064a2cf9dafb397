"""API keys: the secret is shown once — never stored, not even for an idempotent replay — and an admin can list
and revoke a merchant's or employer's keys, inside their own scope only."""

from __future__ import annotations

from timebank.ops.models import IdempotentResponse
from timebank.people import partners
from timebank.people.access import SYSTEM
from timebank.people.credit_code import make
from timebank.people.models import Role


def _merchant(session, org, name="联盟超市", code="92330100MA0000011"):
    merchant = partners.create_merchant(session, SYSTEM, name=name, credit_code_value=make(code), org_id=org.id)
    session.commit()
    return merchant


def test_a_repeated_key_request_never_shows_or_stores_the_secret(client, session, tree, as_user):
    merchant = _merchant(session, tree.community_a)
    _, admin = as_user(Role.community_admin, tree.community_a)
    headers = {**admin, "Idempotency-Key": "issue-till-key"}
    first = client.post(f"/api/merchants/{merchant.id}/api-keys", json={"label": "收银台"}, headers=headers)
    assert first.status_code == 201
    key = first.json["api_key"]
    again = client.post(f"/api/merchants/{merchant.id}/api-keys", json={"label": "收银台"}, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert "api_key" not in again.json and again.json["prefix"] == first.json["prefix"]
    stored = session.query(IdempotentResponse).one()
    assert key not in stored.body and first.json["prefix"] in stored.body
    assert client.get(f"/api/merchants/{merchant.id}", headers={"X-API-Key": key}).status_code == 200


def test_an_admin_lists_and_revokes_a_key_and_it_stops_working(client, session, tree, as_user):
    merchant = _merchant(session, tree.community_a)
    _, admin = as_user(Role.community_admin, tree.community_a)
    key = client.post(f"/api/merchants/{merchant.id}/api-keys", json={"label": "旧收银机"}, headers=admin).json
    listed = client.get(f"/api/merchants/{merchant.id}/api-keys", headers=admin)
    assert listed.status_code == 200
    assert [(k["prefix"], k["label"], k["revoked_at"]) for k in listed.json] == [(key["prefix"], "旧收银机", None)]
    assert all("api_key" not in k for k in listed.json)

    revoked = client.delete(f"/api/merchants/{merchant.id}/api-keys/{key['id']}", headers=admin)
    assert revoked.status_code == 200 and revoked.json["revoked_at"] is not None
    refused = client.get(f"/api/merchants/{merchant.id}", headers={"X-API-Key": key["api_key"]})
    assert refused.status_code == 401 and refused.json["code"] == "invalid_api_key"
    twice = client.delete(f"/api/merchants/{merchant.id}/api-keys/{key['id']}", headers=admin)
    assert twice.status_code == 200 and twice.json["revoked_at"] == revoked.json["revoked_at"]


def test_another_communitys_admin_can_neither_list_nor_revoke(client, session, tree, as_user):
    merchant = _merchant(session, tree.community_a)
    _, admin = as_user(Role.community_admin, tree.community_a)
    _, stranger = as_user(Role.community_admin, tree.community_b)
    key = client.post(f"/api/merchants/{merchant.id}/api-keys", json={}, headers=admin).json
    assert client.get(f"/api/merchants/{merchant.id}/api-keys", headers=stranger).status_code in (403, 404)
    assert client.delete(f"/api/merchants/{merchant.id}/api-keys/{key['id']}",
                         headers=stranger).status_code in (403, 404)
    assert client.get(f"/api/merchants/{merchant.id}", headers={"X-API-Key": key["api_key"]}).status_code == 200


def test_a_key_is_revoked_only_through_its_own_owner(client, session, tree, as_user):
    mine = _merchant(session, tree.community_a)
    other = _merchant(session, tree.community_a, name="理发店", code="92330100MA0000012")
    _, admin = as_user(Role.community_admin, tree.community_a)
    key = client.post(f"/api/merchants/{other.id}/api-keys", json={}, headers=admin).json
    resp = client.delete(f"/api/merchants/{mine.id}/api-keys/{key['id']}", headers=admin)
    assert resp.status_code == 404 and resp.json["code"] == "api_key_not_found"


def test_an_employers_keys_are_listed_and_revoked_too(client, session, tree, as_user):
    employer = partners.create_employer(session, SYSTEM, name="区人民医院", credit_code_value=make("12330100MB0000013"),
                                        org_id=tree.district.id)
    session.commit()
    _, admin = as_user(Role.district_admin, tree.district)
    key = client.post(f"/api/employers/{employer.id}/api-keys", json={"label": "党办"}, headers=admin).json
    assert client.delete(f"/api/employers/{employer.id}/api-keys/{key['id']}", headers=admin).status_code == 200
    assert [k["revoked_at"] is not None for k in
            client.get(f"/api/employers/{employer.id}/api-keys", headers=admin).json] == [True]
