"""A volunteer redeems, the merchant is told by a signed webhook, confirms the code at the till: captured.
Refusal, cancellation and timeout release the hold and put the stock back; every change happens once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from timebank import ledger
from timebank.db_base import utcnow
from timebank.ops.models import DeliveryStatus, WebhookDelivery
from timebank.redemption import redemptions as redemption_service
from timebank.redemption.models import Redemption, Reward
from timebank.workers.jobs.redemption import expire_redemptions

from .conftest import available, redeem


def _stock(session, reward_id):
    session.rollback()
    stock = session.get(Reward, reward_id).stock
    session.rollback()
    return stock


def test_redeem_notify_confirm_captures_once(client, session, shop, volunteer, run_jobs):
    person, headers = volunteer(points=300)
    resp = redeem(client, headers, shop.reward.id, key="k-1")
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["status"] == "held" and body["points"] == 100
    assert len(body["code"]) == 8 and body["qr_payload"] == f"TBR1:{body['id']}:{body['code']}"
    assert available(session, person) == 200
    assert _stock(session, shop.reward.id) == 9

    # The same Idempotency-Key replays the first answer: no second hold, same code.
    again = redeem(client, headers, shop.reward.id, key="k-1")
    assert again.status_code == 201 and again.json["id"] == body["id"] and again.json["code"] == body["code"]
    assert available(session, person) == 200

    run_jobs()
    [received] = shop.server.verified()
    assert received.event["type"] == "redemption.held"
    assert received.event["data"]["redemption_id"] == body["id"]
    assert received.event["data"]["volunteer"]["name"].startswith("志")
    assert "code" not in received.event["data"]  # the merchant learns the code only from the volunteer
    session.rollback()
    red = session.get(Redemption, body["id"])
    assert red.merchant_ack_at is not None
    session.rollback()

    confirm = client.post("/api/redemptions/confirm", json={"code": body["code_display"].lower()},
                          headers=shop.key_headers)
    assert confirm.status_code == 200, confirm.json
    assert confirm.json["status"] == "captured" and confirm.json["just_changed"] is True
    repeat = client.post("/api/redemptions/confirm", json={"code": body["qr_payload"]}, headers=shop.key_headers)
    assert repeat.status_code == 200 and repeat.json["just_changed"] is False

    session.expire_all()
    red = session.get(Redemption, body["id"])
    capture = session.get(ledger.Transfer, red.capture_transfer_id)
    assert capture.pending_id == red.hold_transfer_id and capture.amount == 100
    merchant_account = ledger.account_for(session, owner_kind=ledger.OwnerKind.merchant,
                                          owner_id=shop.merchant.id, ledger=ledger.Ledger.points)
    assert ledger.balance(session, merchant_account.id).available == 100
    assert available(session, person) == 200
    # Cancelling what was captured is refused.
    cancel = client.post(f"/api/redemptions/{body['id']}/cancel", headers=headers)
    assert cancel.status_code == 409 and cancel.json["code"] == "redemption_captured"


def test_merchant_refusal_in_webhook_answer_releases_hold_and_stock(client, session, shop, volunteer, run_jobs):
    shop.server.mode = "refuse"
    person, headers = volunteer(points=300)
    body = redeem(client, headers, shop.reward.id).json
    assert available(session, person) == 200
    run_jobs()
    session.expire_all()
    red = session.get(Redemption, body["id"])
    assert red.status == "released" and red.release_reason == "refused" and red.note == "货架上已无此商品"
    assert available(session, person) == 300
    assert _stock(session, shop.reward.id) == 10
    release = session.get(ledger.Transfer, red.release_transfer_id)
    assert release.pending_id == red.hold_transfer_id
    # The code no longer captures anything.
    late = client.post("/api/redemptions/confirm", json={"code": body["code"]}, headers=shop.key_headers)
    assert late.status_code == 409 and late.json["code"] == "redemption_released"


def test_merchant_refuses_through_api_and_volunteer_cancel_is_idempotent(client, session, shop, volunteer):
    person, headers = volunteer(points=300)
    first = redeem(client, headers, shop.reward.id).json
    second = redeem(client, headers, shop.reward.id).json
    assert available(session, person) == 100

    refused = client.post(f"/api/redemptions/{first['id']}/refuse", json={"reason": "暂停营业"},
                          headers=shop.key_headers)
    assert refused.status_code == 200 and refused.json["release_reason"] == "refused"
    cancelled = client.post(f"/api/redemptions/{second['id']}/cancel", headers=headers)
    assert cancelled.status_code == 200 and cancelled.json["release_reason"] == "cancelled"
    again = client.post(f"/api/redemptions/{second['id']}/cancel", headers=headers)
    assert again.status_code == 200 and again.json["just_changed"] is False
    assert available(session, person) == 300
    assert _stock(session, shop.reward.id) == 10
    releases = session.scalars(select(ledger.Transfer).where(ledger.Transfer.key.like("redemption:%:release")))
    assert len(list(releases)) == 2


def test_timed_out_hold_is_released_by_the_sweep_exactly_once(app, client, session, shop, volunteer, run_jobs):
    person, headers = volunteer(points=300)
    body = redeem(client, headers, shop.reward.id).json
    run_jobs()
    session.expire_all()
    red = session.get(Redemption, body["id"])
    red.expires_at = utcnow() - timedelta(seconds=1)  # the pickup window has passed
    session.commit()

    assert expire_redemptions() == 1
    assert expire_redemptions() == 0
    session.expire_all()
    red = session.get(Redemption, body["id"])
    assert red.status == "released" and red.release_reason == "expired"
    assert available(session, person) == 300 and _stock(session, shop.reward.id) == 10
    late = client.post("/api/redemptions/confirm", json={"code": body["code"]}, headers=shop.key_headers)
    assert late.status_code == 409
    # The merchant is told about the release too.
    run_jobs()
    events = [r.event["type"] for r in shop.server.verified()]
    assert events == ["redemption.held", "redemption.released"]


def test_capture_after_expiry_time_but_before_sweep_is_refused(client, session, shop, volunteer):
    person, headers = volunteer(points=300)
    body = redeem(client, headers, shop.reward.id).json
    later = utcnow() + timedelta(days=2)
    red = session.get(Redemption, body["id"])
    try:
        redemption_service.confirm_code(session, _merchant_actor(shop), code=body["code"], now=later)
        raise AssertionError("an expired code must not capture")
    except Exception as exc:  # noqa: BLE001 - the domain error is what we check
        assert getattr(exc, "code", None) == "redemption_expired"
    session.rollback()
    session.expire_all()
    assert session.get(Redemption, red.id).status == "held"


def _merchant_actor(shop):
    from timebank.people.access import Actor

    return Actor(kind="merchant", id=shop.merchant.id)


def test_till_flow_pay_code_used_once(client, session, shop, volunteer, staff):
    person, headers = volunteer(points=300)
    pay = client.post("/api/redemptions/pay-codes", headers=headers)
    assert pay.status_code == 201
    staff_headers = staff(shop.merchant)
    opened = client.post("/api/redemptions/till", json={"pay_code": pay.json["code_display"],
                                                        "reward_id": shop.reward.id}, headers=staff_headers)
    assert opened.status_code == 201, opened.json
    assert opened.json["origin"] == "till" and opened.json["person_id"] == person.id
    reused = client.post("/api/redemptions/till", json={"pay_code": pay.json["code"], "reward_id": shop.reward.id},
                         headers=staff_headers)
    assert reused.status_code == 409 and reused.json["code"] == "pay_code_used_or_expired"
    captured = client.post(f"/api/redemptions/{opened.json['id']}/capture", headers=staff_headers)
    assert captured.status_code == 200 and captured.json["status"] == "captured"
    assert available(session, person) == 200


def test_pickup_redemption_cannot_be_captured_by_id(client, shop, volunteer):
    _, headers = volunteer(points=300)
    body = redeem(client, headers, shop.reward.id).json
    resp = client.post(f"/api/redemptions/{body['id']}/capture", headers=shop.key_headers)
    assert resp.status_code == 422 and resp.json["code"] == "code_required"


def test_reissued_code_replaces_the_old_one(client, shop, volunteer):
    _, headers = volunteer(points=300)
    body = redeem(client, headers, shop.reward.id).json
    new = client.post(f"/api/redemptions/{body['id']}/code", headers=headers)
    assert new.status_code == 200 and new.json["code"] != body["code"]
    old = client.post("/api/redemptions/confirm", json={"code": body["code"]}, headers=shop.key_headers)
    assert old.status_code == 404
    ok = client.post("/api/redemptions/confirm", json={"code": new.json["code"]}, headers=shop.key_headers)
    assert ok.status_code == 200 and ok.json["status"] == "captured"


def test_webhook_rows_are_delivered_and_listed(client, session, shop, volunteer, run_jobs):
    _, headers = volunteer(points=300)
    redeem(client, headers, shop.reward.id)
    run_jobs()
    rows = client.get(f"/api/merchants/{shop.merchant.id}/webhook-deliveries", headers=shop.key_headers)
    assert rows.status_code == 200
    [row] = rows.json["items"]
    assert row["status"] == "delivered" and row["attempts"] == 1
    assert session.scalar(select(WebhookDelivery.status)) == DeliveryStatus.delivered
