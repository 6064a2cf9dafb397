"""The OpenAPI document and the server agree, operation by operation: the credentials each operation names are
the only ones it accepts, an anonymous caller hears 401 before any 422, errors are problem+json, 405 says Allow."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest

from timebank.people import partners
from timebank.people.access import SYSTEM
from timebank.people.credit_code import make


def _operations(client):
    doc = client.get("/api/openapi.json").json
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield re.sub(r"\{[^}]+\}", "1", path), method, op


@pytest.fixture
def merchant_key(session, tree):
    merchant = partners.create_merchant(session, SYSTEM, name="爱心超市", credit_code_value=make("92330100MA00000L1"),
                                        org_id=tree.community_a.id)
    _row, key = partners.issue_api_key(session, SYSTEM, merchant_id=merchant.id)
    session.commit()
    return key


def test_an_anonymous_caller_hears_401_before_any_check_of_the_input(client):
    checked = 0
    for path, method, op in _operations(client):
        if not op.get("security"):
            continue
        resp = client.open(path + "?limit=-5&cursor=~", method=method.upper(), data=b'{"not": ["valid"',
                           content_type="application/json")
        assert resp.status_code == 401, (method, path, resp.status_code, resp.get_data(as_text=True)[:200])
        assert resp.json["code"] == "auth_required"
        checked += 1
    assert checked > 80


def test_a_merchant_key_opens_only_the_operations_that_name_api_keys(client, merchant_key):
    bearer_only = 0
    for path, method, op in _operations(client):
        schemes = {name for s in op.get("security", []) for name in s}
        if schemes != {"BearerAuth"}:
            continue
        resp = client.open(path, method=method.upper(), json={}, headers={"X-API-Key": merchant_key})
        assert resp.status_code == 401, (method, path, resp.status_code, resp.get_data(as_text=True)[:200])
        assert resp.json["code"] == "auth_required" and "不接受 API 密钥" in resp.json["detail"]
        bearer_only += 1
    assert bearer_only > 50
    listed = client.get("/api/tasks", headers={"X-API-Key": merchant_key})
    assert listed.status_code == 401  # a merchant's key used to list every open task


def test_me_with_a_merchant_key_is_refused_not_a_missing_person(client, merchant_key):
    resp = client.get("/api/me", headers={"X-API-Key": merchant_key})
    assert resp.status_code == 401 and resp.json["code"] == "auth_required"


def test_a_wrong_method_says_which_methods_are_allowed(client):
    resp = client.delete("/api/auth/token")
    assert resp.status_code == 405 and resp.mimetype == "application/problem+json"
    assert set(resp.headers["Allow"].split(", ")) >= {"POST"}
    page = client.delete("/app/login")
    assert page.status_code == 405 and "GET" in page.headers["Allow"]


def test_errors_are_documented_as_problem_json_and_readyz_as_it_answers(client):
    doc = client.get("/api/openapi.json").json
    errors = {name: response for name, response in doc["components"]["responses"].items()
              if name == "DEFAULT_ERROR" or HTTPStatus[name] >= 400}
    assert errors and all(list(r["content"]) == ["application/problem+json"] for r in errors.values())
    ready = client.get("/readyz")
    documented = doc["paths"]["/readyz"]["get"]["responses"][str(ready.status_code)]
    assert documented["content"]["application/json"]["schema"]["$ref"].endswith("/ReadyOut")
