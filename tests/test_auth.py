"""Logging in, bearer tokens, API keys."""

from __future__ import annotations

import time

from timebank.people import partners, security
from timebank.people.access import SYSTEM
from timebank.people.credit_code import make
from timebank.people.models import Role


def test_a_volunteer_logs_in_with_phone_and_password(client, tree, make_person):
    person = make_person(name="王芳", home=tree.grid_a, password="correct horse battery")
    resp = client.post("/api/auth/token", json={"phone": person.phone, "password": "correct horse battery"})
    assert resp.status_code == 201
    token = resp.json["access_token"]
    me = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json["name"] == "王芳"
    assert me.json["grants"] == [{"role": "volunteer", "org_id": tree.grid_a.id, "merchant_id": None,
                                  "employer_id": None}]


def test_passwords_are_stored_with_argon2(session, tree, make_person):
    person = make_person(home=tree.grid_a, password="a long passphrase")
    assert person.password_hash.startswith("$argon2id$")
    assert "a long passphrase" not in person.password_hash


def test_a_wrong_password_and_an_unknown_phone_get_the_same_answer(client, tree, make_person):
    person = make_person(home=tree.grid_a, password="right-password")
    wrong = client.post("/api/auth/token", json={"phone": person.phone, "password": "wrong-password"})
    unknown = client.post("/api/auth/token", json={"phone": "13111111111", "password": "right-password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json["code"] == unknown.json["code"] == "invalid_credentials"
    assert wrong.mimetype == "application/problem+json"


def test_forged_expired_and_revoked_tokens_are_refused(app, client, session, tree, make_person):
    person = make_person(home=tree.grid_a)
    forged = security.issue_token("another-secret", person.id, person.token_version)
    assert client.get("/api/me", headers={"Authorization": f"Bearer {forged}"}).json["code"] == "invalid_token"

    app.config["TOKEN_TTL_SECONDS"] = 1
    token = security.issue_token(app.config["SECRET_KEY"], person.id, person.token_version)
    time.sleep(2.1)
    expired = client.get("/api/me", headers={"Authorization": f"Bearer {token}"})
    assert expired.status_code == 401 and expired.json["code"] == "invalid_token"

    app.config["TOKEN_TTL_SECONDS"] = 3600
    token = security.issue_token(app.config["SECRET_KEY"], person.id, person.token_version)
    person.token_version += 1
    session.commit()
    assert client.get("/api/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_no_credentials_is_401_problem(client):
    resp = client.get("/api/me")
    assert resp.status_code == 401
    assert resp.json["code"] == "auth_required"


def test_merchant_api_key_is_shown_once_and_stored_hashed(client, session, tree, as_user):
    _, admin = as_user(Role.street_admin, tree.street)
    merchant = partners.create_merchant(session, SYSTEM, name="联盟超市", credit_code_value=make("92330100MA0000011"),
                                        org_id=tree.community_a.id)
    session.commit()
    resp = client.post(f"/api/merchants/{merchant.id}/api-keys", json={"label": "收银台"}, headers=admin)
    assert resp.status_code == 201
    key = resp.json["api_key"]
    from timebank.people.models import ApiKey

    row = session.get(ApiKey, resp.json["id"])
    assert key not in row.key_hash and row.key_hash == security.sha256_hex(key)
    me = client.get(f"/api/merchants/{merchant.id}", headers={"X-API-Key": key})
    assert me.status_code == 200 and me.json["name"] == "联盟超市"
    bad = client.get(f"/api/merchants/{merchant.id}", headers={"X-API-Key": key[:-2] + "xx"})
    assert bad.status_code == 401 and bad.json["code"] == "invalid_api_key"


def test_a_revoked_api_key_stops_working(client, session, tree):
    merchant = partners.create_merchant(session, SYSTEM, name="理发店", credit_code_value=make("92330100MA0000012"),
                                        org_id=tree.community_a.id)
    row, key = partners.issue_api_key(session, SYSTEM, merchant_id=merchant.id)
    session.commit()
    assert client.get(f"/api/merchants/{merchant.id}", headers={"X-API-Key": key}).status_code == 200
    partners.revoke_api_key(session, SYSTEM, row.id, merchant_id=merchant.id)
    session.commit()
    assert client.get(f"/api/merchants/{merchant.id}", headers={"X-API-Key": key}).status_code == 401
