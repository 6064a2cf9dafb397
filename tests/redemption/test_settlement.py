"""A period's statement (JSON and CSV), its settlement through the ledger, and reconciliation with the
merchant's own CSV: missing on either side, differing rows, malformed rows reported by line."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from timebank import ledger
from timebank.clock import DISPLAY_TZ
from timebank.db_base import utcnow
from timebank.redemption.models import Redemption

from .conftest import redeem


@pytest.fixture
def month(client, session, shop, volunteer, tree):
    """Three captured redemptions (two from community A, one from B), one cancelled, one still held."""
    alice, alice_h = volunteer(points=500, name="甲")
    _, carol_h = volunteer(points=500, name="丙", home=tree.community_b)
    captured = []
    for headers in (alice_h, alice_h, carol_h):
        body = redeem(client, headers, shop.reward.id).json
        assert client.post("/api/redemptions/confirm", json={"code": body["code"]},
                           headers=shop.key_headers).status_code == 200
        captured.append(body["id"])
    cancelled = redeem(client, alice_h, shop.reward.id).json["id"]
    client.post(f"/api/redemptions/{cancelled}/cancel", headers=alice_h)
    held = redeem(client, carol_h, shop.reward.id).json["id"]
    today = utcnow().astimezone(DISPLAY_TZ).date()
    return {"captured": captured, "cancelled": cancelled, "held": held, "start": today - timedelta(days=1),
            "end": today, "query": f"period_start={today - timedelta(days=1)}&period_end={today}"}


def test_statement_lists_captured_redemptions_with_totals(client, shop, month, tree):
    resp = client.get(f"/api/merchants/{shop.merchant.id}/statement?{month['query']}", headers=shop.key_headers)
    assert resp.status_code == 200
    data = resp.json
    assert [r["redemption_id"] for r in data["redemptions"]] == month["captured"]
    assert data["totals"]["count"] == 3 and data["totals"]["points"] == 300
    assert data["totals"]["unsettled_points"] == 300
    assert {c["community_id"]: c["points"] for c in data["totals"]["by_community"]} == {
        tree.community_a.id: 200, tree.community_b.id: 100}

    as_csv = client.get(f"/api/merchants/{shop.merchant.id}/statement?{month['query']}&format=csv",
                        headers=shop.key_headers)
    assert as_csv.status_code == 200 and as_csv.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(as_csv.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][0] == "redemption_id" and len(rows) == 1 + 3 + 1
    assert rows[1][2] == "大米 5kg" and rows[-1][0] == "合计" and rows[-1][3] == "300"

    # A period before any redemption is empty, not an error.
    empty = client.get(f"/api/merchants/{shop.merchant.id}/statement?period_start=2020-01-01&period_end=2020-01-31",
                       headers=shop.admin_headers_street)
    assert empty.status_code == 200 and empty.json["totals"]["count"] == 0


def test_settlement_moves_the_merchants_points_once(client, session, shop, month, tree):
    url = f"/api/merchants/{shop.merchant.id}/settlements"
    body = {"period_start": str(month["start"]), "period_end": str(month["end"]), "kind": "paid",
            "note": "十一月结算"}
    refused = client.post(url, json=body, headers=shop.key_headers)  # a person's operation: a key does not open it
    assert refused.status_code == 401 and refused.json["code"] == "auth_required"
    assert client.post(url, json=body, headers=shop.admin_headers).status_code == 403  # community < street
    resp = client.post(url, json=body, headers={**shop.admin_headers_street, "Idempotency-Key": "s-1"})
    assert resp.status_code == 201, resp.json
    settled = resp.json
    assert settled["points"] == 300 and settled["redemption_count"] == 3 and len(settled["transfer_ids"]) == 2

    transfers = [session.get(ledger.Transfer, t) for t in settled["transfer_ids"]]
    assert {t.code for t in transfers} == {int(ledger.Code.settlement)}
    issuer_a = ledger.account_for(session, owner_kind=ledger.OwnerKind.issuer, owner_id=tree.community_a.id,
                                  ledger=ledger.Ledger.points)
    assert {t.credit_account_id: t.amount for t in transfers}[issuer_a.id] == 200
    merchant_account = ledger.account_for(session, owner_kind=ledger.OwnerKind.merchant, owner_id=shop.merchant.id,
                                          ledger=ledger.Ledger.points)
    assert ledger.balance(session, merchant_account.id).credits_posted == 300
    assert ledger.balance(session, merchant_account.id).debits_posted == 300
    session.rollback()

    replay = client.post(url, json=body, headers={**shop.admin_headers_street, "Idempotency-Key": "s-1"})
    assert replay.json["id"] == settled["id"]
    same = client.post(url, json=body, headers=shop.admin_headers_street)
    assert same.status_code == 201 and same.json["id"] == settled["id"]
    other_kind = client.post(url, json={**body, "kind": "donated"}, headers=shop.admin_headers_street)
    assert other_kind.status_code == 409 and other_kind.json["code"] == "settlement_exists"
    # An overlapping period finds nothing left to settle: no redemption is settled twice.
    overlap = client.post(url, json={**body, "period_start": str(month["end"])}, headers=shop.admin_headers_street)
    assert overlap.status_code == 422 and overlap.json["code"] == "nothing_to_settle"
    assert session.scalars(select(Redemption.settlement_id).where(
        Redemption.id.in_(month["captured"]))).all() == [settled["id"]] * 3
    listed = client.get(url, headers=shop.key_headers)
    assert [s["id"] for s in listed.json["items"]] == [settled["id"]]


def test_donated_settlement_goes_to_the_community_fund(client, session, shop, month, tree):
    body = {"period_start": str(month["start"]), "period_end": str(month["end"]), "kind": "donated"}
    resp = client.post(f"/api/merchants/{shop.merchant.id}/settlements", json=body,
                       headers=shop.admin_headers_street)
    assert resp.status_code == 201
    fund_b = ledger.account_for(session, owner_kind=ledger.OwnerKind.community_fund, owner_id=tree.community_b.id,
                                ledger=ledger.Ledger.points)
    assert ledger.balance(session, fund_b.id).available == 100


def _upload(client, shop, month, text: bytes):
    return client.post(f"/api/merchants/{shop.merchant.id}/reconciliations?{month['query']}", data=text,
                       headers={**shop.key_headers, "Content-Type": "text/csv"})


def test_reconciliation_reports_missing_differing_and_malformed_rows(client, session, shop, month, run_jobs):
    first, second, third = month["captured"]
    today = month["end"].isoformat()
    text = "\n".join([
        "\ufeffRedemption_ID,points,reward_id,captured_at,till_note",
        f"{first},100,{shop.reward.id},{today} 10:00:00,ok",       # matches
        f"{second},90,{shop.reward.id},,we rang up 90",            # differs in points
        f"{month['cancelled']},100,,,we think it went through",     # not captured in the ledger
        "abc,100,,,",                                               # malformed id
        f"{first},100,,,",                                          # duplicate
        "77,",                                                      # too few columns
        f"{second + 1000},100,,yesterday-ish,",                     # malformed date
        "",                                                         # blank lines are skipped
        f"{month['held']},-3,,,",                                   # malformed points
    ]).encode()
    resp = _upload(client, shop, month, text)
    assert resp.status_code == 202 and resp.json["status"] == "queued"
    run_jobs()
    report = client.get(f"/api/merchants/{shop.merchant.id}/reconciliations/{resp.json['id']}",
                        headers=shop.key_headers).json
    assert report["status"] == "done"
    r = report["report"]
    assert r["matched"] == 1 and r["balanced"] is False
    assert [d["redemption_id"] for d in r["differing"]] == [second]
    assert r["differing"][0]["fields"]["points"] == {"merchant": 90, "ledger": 100}
    assert [m["redemption_id"] for m in r["missing_in_ledger"]] == [month["cancelled"]]
    assert [m["redemption_id"] for m in r["missing_in_merchant_record"]] == [third]
    assert [m["line"] for m in r["malformed"]] == [5, 6, 7, 8, 10]
    assert "already listed on line 2" in r["malformed"][1]["error"]
    assert r["totals"]["ledger_points"] == 300


def test_reconciliation_of_a_matching_file_balances(client, shop, month, run_jobs):
    rows = ["redemption_id,points"] + [f"{rid},100" for rid in month["captured"]]
    resp = _upload(client, shop, month, "\r\n".join(rows).encode())
    run_jobs()
    report = client.get(f"/api/merchants/{shop.merchant.id}/reconciliations/{resp.json['id']}",
                        headers=shop.admin_headers_street).json["report"]
    assert report["balanced"] is True and report["matched"] == 3


@pytest.mark.parametrize("text", [b"points,amount\n1,2\n", b"\n", b"redemption_id,points\n\"unterminated,1\n",
                                  b"redemption_id,points\n1,2\x00\n"])
def test_reconciliation_never_crashes_on_a_bad_file(client, shop, month, run_jobs, text):
    resp = _upload(client, shop, month, text)
    if resp.status_code == 422:  # an empty body is refused up front
        assert resp.json["code"] == "empty_csv"
        return
    run_jobs()
    report = client.get(f"/api/merchants/{shop.merchant.id}/reconciliations/{resp.json['id']}",
                        headers=shop.key_headers).json
    assert report["status"] == "done"
    assert report["report"]["counts"]["malformed"] >= 1
    assert report["report"]["balanced"] is False


def test_reconciliation_upload_checks_encoding_and_scope(client, shop, month, make_merchant):
    bad = _upload(client, shop, month, "redemption_id,points\n1,2\n".encode("gbk") + "积分".encode("gbk"))
    assert bad.status_code == 422 and bad.json["code"] == "csv_not_utf8"
    _, other_key, _ = make_merchant(name="别家")
    resp = client.post(f"/api/merchants/{shop.merchant.id}/reconciliations?{month['query']}", data=b"x",
                       headers={**other_key, "Content-Type": "text/csv"})
    assert resp.status_code == 403
