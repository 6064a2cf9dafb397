"""Bad input gets a 4xx application/problem+json with a stable code — never a 500, never a partial row."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from timebank.ops.models import AuditEntry
from timebank.people.credit_code import make
from timebank.people.models import Employer, Role

VALID_CODE = make("12330100MB0000077")


def _employer_body(**overrides):
    body = {"name": "区卫健委", "credit_code": VALID_CODE, "org_id": None}
    body.update(overrides)
    return body


CASES = [
    # (name, raw body or json, content type, expected status, expected code)
    ("malformed json", b'{"name": "x",', "application/json", 400, "malformed_json"),
    ("not an object", b'[1, 2, 3]', "application/json", 422, "validation_failed"),
    ("wrong type", {"name": 42}, None, 422, "validation_failed"),
    ("unknown field", {"is_admin": True}, None, 422, "validation_failed"),
    ("missing field", {"credit_code": None}, None, 422, "validation_failed"),
    ("credit code wrong length", {"credit_code": "123"}, None, 422, "validation_failed"),
    ("credit code bad check digit", {"credit_code": VALID_CODE[:-1] + ("0" if VALID_CODE[-1] != "0" else "1")},
     None, 422, "invalid_credit_code"),
    ("credit code bad alphabet", {"credit_code": "I" + VALID_CODE[1:]}, None, 422, "invalid_credit_code"),
    ("bad email", {"contact_email": "not-an-email"}, None, 422, "validation_failed"),
    ("empty name", {"name": ""}, None, 422, "validation_failed"),
]


@pytest.mark.parametrize("name,payload,ctype,status,code", CASES, ids=[c[0] for c in CASES])
def test_bad_employer_bodies(client, session, tree, as_user, name, payload, ctype, status, code):
    _, admin = as_user(Role.district_admin, tree.district)
    if isinstance(payload, dict):
        body = _employer_body(org_id=tree.district.id)
        body.update(payload)
        if payload.get("credit_code") is None and "credit_code" in payload:
            del body["credit_code"]
        resp = client.post("/api/employers", json=body, headers=admin)
    else:
        resp = client.post("/api/employers", data=payload, content_type=ctype, headers=admin)
    assert resp.status_code == status, resp.json
    assert resp.mimetype == "application/problem+json"
    assert resp.json["code"] == code
    assert resp.json["title"] and resp.json["status"] == status
    if status == 422 and code == "validation_failed":
        assert resp.json["errors"]
    assert session.scalar(select(func.count()).select_from(Employer)) == 0
    assert session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "employer.create")) == 0


def test_oversized_body_is_413(client, tree, as_user):
    _, admin = as_user(Role.district_admin, tree.district)
    resp = client.post("/api/employers", data=b"{" + b" " * (2 * 1024 * 1024) + b"}",
                       content_type="application/json", headers=admin)
    assert resp.status_code == 413
    assert resp.json["code"] == "payload_too_large"


def test_unknown_route_and_wrong_method_are_problems(client):
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"
    assert missing.json["code"] == "not_found"
    wrong = client.delete("/api/auth/token")
    assert wrong.status_code == 405 and wrong.json["code"] == "method_not_allowed"


def test_bad_query_args_and_cursor(client, tree, as_user):
    _, admin = as_user(Role.district_admin, tree.district)
    assert client.get("/api/orgs?limit=0", headers=admin).json["code"] == "validation_failed"
    assert client.get("/api/orgs?limit=abc", headers=admin).status_code == 422
    bad_cursor = client.get("/api/orgs?cursor=%%%", headers=admin)
    assert bad_cursor.status_code == 422 and bad_cursor.json["code"] == "invalid_cursor"
    assert client.get("/api/people", headers=admin).status_code == 422  # org_id required


def test_a_duplicate_phone_is_a_conflict_and_leaves_one_row(client, session, tree, as_user):
    _, admin = as_user(Role.community_admin, tree.community_a)
    body = {"name": "李四", "phone": "13612345678", "home_org_id": tree.grid_a.id}
    assert client.post("/api/people", json=body, headers=admin).status_code == 201
    again = client.post("/api/people", json=body | {"name": "李四二"}, headers=admin)
    assert again.status_code == 409 and again.json["code"] == "phone_taken"


def test_org_levels_are_enforced(client, tree, as_user):
    _, admin = as_user(Role.district_admin, tree.district)
    resp = client.post("/api/orgs", json={"kind": "grid", "name": "错层", "parent_id": tree.street.id}, headers=admin)
    assert resp.status_code == 422 and resp.json["code"] == "org_level_mismatch"
    resp = client.post("/api/orgs", json={"kind": "planet", "name": "x", "parent_id": tree.street.id}, headers=admin)
    assert resp.status_code == 422 and resp.json["code"] == "validation_failed"
