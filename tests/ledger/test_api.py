"""The ledger API: own balances and history, scoped reads, gifts, adjustments, reconciliation runs."""

from __future__ import annotations

import pytest

from timebank import ledger
from timebank.ledger import Code, Ledger, OwnerKind
from timebank.people.models import Role


@pytest.fixture
def volunteer(session, tree, as_user):
    """A volunteer of community A with 100 points and 120 minutes credited by the community's issuer."""
    person, headers = as_user(home=tree.grid_a, name="王志愿")
    for led, amount in ((Ledger.points, 100), (Ledger.minutes, 120)):
        issuer = ledger.account_for(session, owner_kind=OwnerKind.issuer, owner_id=tree.community_a.id, ledger=led)
        own = ledger.account_for(session, owner_kind=OwnerKind.volunteer, owner_id=person.id, ledger=led)
        ledger.transfer(session, key=f"credit:attendance:1:{led}", debit_account_id=issuer.id,
                        credit_account_id=own.id, amount=amount, ledger=led, code=Code.credit)
    session.commit()
    return person, headers


def test_volunteer_reads_own_balances_and_history(client, volunteer):
    person, headers = volunteer
    r = client.get("/api/ledger/me", headers=headers)
    assert r.status_code == 200, r.json
    assert r.json["points"]["available"] == 100 and r.json["minutes"]["credits_posted"] == 120
    assert r.json["points_expiring_soon"] == [] and r.json["points_expiry_months"] is None
    page = client.get("/api/ledger/me/history?ledger=points&limit=1", headers=headers).json
    assert [e["change"] for e in page["items"]] == [100]
    assert page["items"][0]["code"] == "credit" and page["items"][0]["created_at"].endswith("+00:00")
    assert page["next_cursor"] is None


def test_history_pages_with_a_cursor(client, session, volunteer, tree, as_user):
    person, headers = volunteer
    relative, _ = as_user(home=tree.grid_b, name="王家人")
    for i in range(3):
        r = client.post("/api/gifts", json={"amount": 1, "to_person_id": relative.id},
                        headers={**headers, "Idempotency-Key": f"g{i}"})
        assert r.status_code == 201, r.json
    first = client.get("/api/ledger/me/history?limit=2", headers=headers).json
    assert [e["change"] for e in first["items"]] == [-1, -1]
    rest = client.get(f"/api/ledger/me/history?limit=2&cursor={first['next_cursor']}", headers=headers).json
    assert [e["change"] for e in rest["items"]] == [-1, 100] and rest["next_cursor"] is None
    bad = client.get("/api/ledger/me/history?cursor=zzz", headers=headers)
    assert bad.status_code == 422 and bad.json["code"] == "invalid_cursor"


def test_gift_to_a_relative_and_to_the_community_fund(client, session, volunteer, tree, as_user):
    person, headers = volunteer
    relative, rel_headers = as_user(home=tree.grid_b, name="王家人")
    r = client.post("/api/gifts", json={"amount": 30, "to_person_id": relative.id, "note": "给妈妈"},
                    headers={**headers, "Idempotency-Key": "gift-1"})
    assert r.status_code == 201 and r.json["change"] == -30 and r.json["code"] == "gift"
    again = client.post("/api/gifts", json={"amount": 30, "to_person_id": relative.id, "note": "给妈妈"},
                        headers={**headers, "Idempotency-Key": "gift-1"})
    assert again.status_code == 201 and again.json["id"] == r.json["id"]
    assert client.get("/api/ledger/me", headers=rel_headers).json["points"]["available"] == 30
    fund = client.post("/api/gifts", json={"amount": 20, "to_community_id": tree.community_a.id},
                       headers={**headers, "Idempotency-Key": "gift-2"})
    assert fund.status_code == 201
    assert client.get("/api/ledger/me", headers=headers).json["points"]["available"] == 50


@pytest.mark.parametrize("body, status, code", [
    ({"amount": 1000, "to_community_id": "A"}, 422, None),
    ({"amount": 0, "to_person_id": 1}, 422, None),
    ({"amount": "5", "to_person_id": 1}, 422, None),
    ({"amount": 5}, 422, "one_recipient"),
    ({"amount": 5, "to_person_id": 999999}, 404, "person_not_found"),
    ({"amount": 5, "to_community_id": 999999}, 404, "community_not_found"),
    ({"amount": 5, "to_person_id": 1, "extra": True}, 422, None),
])
def test_bad_gifts_are_refused(client, volunteer, body, status, code):
    _, headers = volunteer
    r = client.post("/api/gifts", json=body, headers={**headers, "Idempotency-Key": "bad"})
    assert r.status_code == status, r.json
    assert r.content_type.startswith("application/problem+json")
    if code:
        assert r.json["code"] == code


def test_gift_beyond_the_balance_is_refused_and_leaves_nothing(client, session, volunteer, tree):
    person, headers = volunteer
    r = client.post("/api/gifts", json={"amount": 101, "to_community_id": tree.community_a.id},
                    headers={**headers, "Idempotency-Key": "too-much"})
    assert r.status_code == 422 and r.json["code"] == "insufficient_funds"
    assert client.get("/api/ledger/me", headers=headers).json["points"]["available"] == 100


def test_gift_needs_an_idempotency_key(client, volunteer, tree):
    _, headers = volunteer
    r = client.post("/api/gifts", json={"amount": 1, "to_community_id": tree.community_a.id}, headers=headers)
    assert r.status_code == 428 and r.json["code"] == "idempotency_key_required"


def test_scope_is_enforced_on_reads(client, session, volunteer, tree, as_user):
    person, _ = volunteer
    _, other_volunteer = as_user(home=tree.grid_a, name="邻居")
    _, admin_a = as_user(Role.community_admin, tree.community_a)
    _, admin_b = as_user(Role.community_admin, tree.community_b)
    _, auditor = as_user(Role.auditor, tree.district)
    url = f"/api/ledger/people/{person.id}/history"
    assert client.get(url, headers=other_volunteer).status_code == 403
    assert client.get(url, headers=admin_b).json["code"] == "out_of_scope"
    assert client.get(url, headers=admin_a).status_code == 200
    assert client.get(f"/api/ledger/people/{person.id}/balances", headers=auditor).json["points"]["available"] == 100
    assert client.get(url).status_code == 401
    issuer = ledger.account_for(session, owner_kind=OwnerKind.issuer, owner_id=tree.community_a.id,
                                ledger=Ledger.points)
    session.commit()
    assert client.get(f"/api/ledger/accounts/{issuer.id}/balance", headers=admin_b).status_code == 403
    b = client.get(f"/api/ledger/accounts/{issuer.id}/balance", headers=admin_a).json
    assert b["debits_posted"] == 100


def test_merchant_key_cannot_read_volunteers(client, session, volunteer, tree, as_user):
    from timebank.people import partners
    from timebank.people.access import SYSTEM
    from timebank.people.credit_code import make

    person, _ = volunteer
    admin, _ = as_user(Role.community_admin, tree.community_a)
    merchant = partners.create_merchant(session, SYSTEM, name="爱心超市", credit_code_value=make("92330100MA00000L1"),
                                        org_id=tree.community_a.id, contact_name=None, contact_phone=None)
    _row, key = partners.issue_api_key(session, SYSTEM, merchant_id=merchant.id, label="收银台")
    own = ledger.account_for(session, owner_kind=OwnerKind.merchant, owner_id=merchant.id, ledger=Ledger.points)
    session.commit()
    api_key = {"X-API-Key": key}
    r = client.get(f"/api/ledger/people/{person.id}/history", headers=api_key)
    assert r.status_code == 401 and r.json["code"] == "auth_required"  # a person's read: a key does not open it
    assert client.get("/api/ledger/me", headers=api_key).json["code"] == "auth_required"
    assert client.get(f"/api/ledger/accounts/{own.id}/balance", headers=api_key).status_code == 200


def test_balance_as_of_over_http(client, session, volunteer):
    person, headers = volunteer
    acc = ledger.account_for(session, owner_kind=OwnerKind.volunteer, owner_id=person.id, ledger=Ledger.points)
    session.commit()
    r = client.get(f"/api/ledger/accounts/{acc.id}/balance?as_of=2000-01-01T00:00:00Z", headers=headers)
    assert r.status_code == 200 and r.json["available"] == 0
    naive = client.get(f"/api/ledger/accounts/{acc.id}/balance?as_of=2000-01-01T00:00:00", headers=headers)
    assert naive.status_code == 422


def test_statement_for_a_period(client, volunteer):
    _, headers = volunteer
    r = client.get("/api/ledger/me/statement?ledger=minutes&start=2000-01-01T00:00:00Z&end=2100-01-01T00:00:00Z",
                   headers=headers)
    assert r.status_code == 200, r.json
    assert (r.json["opening"]["available"], r.json["closing"]["available"], r.json["credits"]) == (0, 120, 120)
    bad = client.get("/api/ledger/me/statement?start=2100-01-01T00:00:00Z&end=2000-01-01T00:00:00Z",
                     headers=headers)
    assert bad.status_code == 422 and bad.json["code"] == "invalid_period"


def test_admin_adjustment_is_audited_and_scoped(client, session, volunteer, tree, as_user):
    person, headers = volunteer
    _, admin_a = as_user(Role.community_admin, tree.community_a)
    _, admin_b = as_user(Role.community_admin, tree.community_b)
    body = {"person_id": person.id, "ledger": "points", "amount": -10, "reason": "重复计分更正"}
    denied = client.post("/api/ledger/adjustments", json=body, headers={**admin_b, "Idempotency-Key": "adj-1"})
    assert denied.status_code == 403
    denied = client.post("/api/ledger/adjustments", json=body, headers={**headers, "Idempotency-Key": "adj-1"})
    assert denied.status_code == 403
    r = client.post("/api/ledger/adjustments", json=body, headers={**admin_a, "Idempotency-Key": "adj-1"})
    assert r.status_code == 201 and r.json["change"] == -10 and r.json["metadata"]["reason"] == "重复计分更正"
    assert client.get("/api/ledger/me", headers=headers).json["points"]["available"] == 90
    from sqlalchemy import select

    from timebank.ops.models import AuditEntry

    assert session.scalar(select(AuditEntry.action).where(AuditEntry.action == "ledger.adjust")) == "ledger.adjust"
    zero = client.post("/api/ledger/adjustments", json={**body, "amount": 0},
                       headers={**admin_a, "Idempotency-Key": "adj-2"})
    assert zero.status_code == 422


def test_reconciliation_runs_are_for_auditors(client, session, volunteer, tree, as_user, run_jobs):
    _, headers = volunteer
    _, auditor = as_user(Role.auditor, tree.district)
    _, admin_a = as_user(Role.community_admin, tree.community_a)
    assert client.get("/api/ledger/reconciliations/latest", headers=auditor).status_code == 404
    assert client.post("/api/ledger/reconciliations", headers=admin_a).status_code == 403
    assert client.get("/api/ledger/reconciliations", headers=headers).status_code == 403
    started = client.post("/api/ledger/reconciliations", headers=auditor)
    assert started.status_code == 202
    session.commit()  # end the reads' transaction: on SQLite the job's writer must not wait for it
    assert run_jobs() >= 1
    latest = client.get("/api/ledger/reconciliations/latest", headers=auditor).json
    assert latest["ok"] is True and latest["entries_checked"] == 2
    page = client.get("/api/ledger/reconciliations", headers=auditor).json
    assert [r["id"] for r in page["items"]] == [latest["id"]]


def test_history_at_the_largest_page_size_still_offers_the_next_page(client, session, volunteer, tree):
    """At limit=200 the look-ahead row (201st) must not be cut by the ledger's own page cap."""
    person, headers = volunteer
    issuer = ledger.account_for(session, owner_kind=OwnerKind.issuer, owner_id=tree.community_a.id,
                                ledger=Ledger.points)
    own = ledger.account_for(session, owner_kind=OwnerKind.volunteer, owner_id=person.id, ledger=Ledger.points)
    ledger.linked(session, [ledger.TransferSpec(key=f"adjust:{i}", debit_account_id=issuer.id,
                                                credit_account_id=own.id, amount=1, ledger=Ledger.points,
                                                code=Code.adjustment) for i in range(200)])
    session.commit()  # 201 entries on the points account with the fixture's credit
    first = client.get("/api/ledger/me/history?ledger=points&limit=200", headers=headers).json
    assert len(first["items"]) == 200 and first["next_cursor"] is not None
    rest = client.get(f"/api/ledger/me/history?ledger=points&limit=200&cursor={first['next_cursor']}",
                      headers=headers).json
    assert [e["change"] for e in rest["items"]] == [100] and rest["next_cursor"] is None
