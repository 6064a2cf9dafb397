"""Idempotency-Key on value-creating writes, and the audit trail of admin writes."""

from __future__ import annotations

from sqlalchemy import func, select

from timebank.ops.models import AuditEntry
from timebank.people.credit_code import make
from timebank.people.models import Merchant, Role


def test_a_repeated_key_replays_the_first_response(client, session, tree, as_user):
    _, admin = as_user(Role.community_admin, tree.community_a)
    body = {"name": "爱心超市", "credit_code": make("92330100MA0000031"), "org_id": tree.community_a.id}
    headers = admin | {"Idempotency-Key": "onboard-1"}
    first = client.post("/api/merchants", json=body, headers=headers)
    again = client.post("/api/merchants", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json == first.json
    assert again.headers["Idempotent-Replayed"] == "true"
    assert session.scalar(select(func.count()).select_from(Merchant)) == 1


def test_the_same_key_with_another_body_is_a_conflict(client, session, tree, as_user):
    _, admin = as_user(Role.community_admin, tree.community_a)
    headers = admin | {"Idempotency-Key": "onboard-2"}
    body = {"name": "爱心超市", "credit_code": make("92330100MA0000032"), "org_id": tree.community_a.id}
    assert client.post("/api/merchants", json=body, headers=headers).status_code == 201
    other = client.post("/api/merchants", json=body | {"name": "别的店"}, headers=headers)
    assert other.status_code == 409 and other.json["code"] == "idempotency_key_reused"


def test_a_failed_write_is_not_remembered(client, tree, as_user):
    _, admin = as_user(Role.community_admin, tree.community_a)
    headers = admin | {"Idempotency-Key": "onboard-3"}
    bad = {"name": "坏码店", "credit_code": "I23456789012345678", "org_id": tree.community_a.id}
    assert client.post("/api/merchants", json=bad, headers=headers).status_code == 422
    good = bad | {"credit_code": make("92330100MA0000033")}
    assert client.post("/api/merchants", json=good, headers=headers).status_code == 201


def test_admin_writes_are_audited_with_request_id(client, session, tree, as_user):
    admin_person, admin = as_user(Role.community_admin, tree.community_a)
    resp = client.post("/api/people", json={"name": "赵六", "phone": "13512345678", "home_org_id": tree.grid_a.id},
                       headers=admin | {"X-Request-ID": "req-audit-1"})
    assert resp.status_code == 201
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "person.register"))
    assert entry.actor == f"person:{admin_person.id}"
    assert entry.request_id == "req-audit-1"
    assert entry.after["name"] == "赵六" and entry.after["phone"] == "135****5678"
    log = client.get(f"/api/audit-log?org_id={tree.community_a.id}", headers=admin)
    assert log.status_code == 200
    assert [e["action"] for e in log.json["items"]][0] == "person.register"
    _, other_admin = as_user(Role.community_admin, tree.community_b)
    assert client.get(f"/api/audit-log?org_id={tree.community_a.id}", headers=other_admin).status_code == 403


def test_lists_page_with_cursors(client, tree, as_user):
    _, admin = as_user(Role.district_admin, tree.district)
    first = client.get("/api/orgs?limit=2", headers=admin).json
    assert len(first["items"]) == 2 and first["next_cursor"]
    seen = [o["id"] for o in first["items"]]
    cursor = first["next_cursor"]
    while cursor:
        page = client.get(f"/api/orgs?limit=2&cursor={cursor}", headers=admin).json
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == 6
