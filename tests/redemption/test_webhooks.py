"""Signed webhooks against a real merchant HTTP server on loopback: slow answers, a server that is down and
comes back, bad signatures (rejected by the verification helper we ship), 5xx until the dead letter, resend."""

from __future__ import annotations

import random
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from timebank.db_base import utcnow
from timebank.ops import webhooks
from timebank.ops.models import DeliveryStatus, WebhookDelivery
from timebank.ops.webhook_verify import WebhookVerificationError, compute_signature, verify
from timebank.redemption.models import Redemption
from timebank.workers.jobs import webhooks as webhook_jobs
from timebank.workers.jobs.redemption import retry_webhooks

from .conftest import redeem

SECRET = "whsec_test"


def _signed(body: bytes, *, secret: str = SECRET, ts: int | None = None) -> dict:
    ts = int(time.time()) if ts is None else ts
    return {"X-Timebank-Timestamp": str(ts), "X-Timebank-Signature": webhooks.sign(secret, ts, body)}


def test_verify_accepts_a_fresh_signature_and_returns_the_event():
    body = b'{"id":1,"type":"redemption.held","data":{}}'
    assert verify(SECRET, _signed(body), body)["type"] == "redemption.held"
    lowercase = {k.lower(): v for k, v in _signed(body).items()}
    assert verify(SECRET, lowercase, body)["id"] == 1


@pytest.mark.parametrize("case", ["tampered body", "wrong secret", "stale", "from the future", "no signature",
                                  "no timestamp", "garbage timestamp", "other scheme"])
def test_verify_rejects_bad_signatures_and_stale_timestamps(case):
    body = b'{"id":1}'
    headers = _signed(body)
    if case == "tampered body":
        body = b'{"id":2}'
    elif case == "wrong secret":
        headers = _signed(body, secret="whsec_other")
    elif case == "stale":
        headers = _signed(body, ts=int(time.time()) - 301)
    elif case == "from the future":
        headers = _signed(body, ts=int(time.time()) + 301)
    elif case == "no signature":
        del headers["X-Timebank-Signature"]
    elif case == "no timestamp":
        del headers["X-Timebank-Timestamp"]
    elif case == "garbage timestamp":
        headers["X-Timebank-Timestamp"] = "yesterday"
    elif case == "other scheme":
        headers["X-Timebank-Signature"] = "v0=" + compute_signature(SECRET, headers["X-Timebank-Timestamp"], body)
    with pytest.raises(WebhookVerificationError):
        verify(SECRET, headers, body)


def test_verify_accepts_any_of_several_signatures_during_rotation():
    body = b"{}"
    ts = int(time.time())
    headers = {"X-Timebank-Timestamp": str(ts),
               "X-Timebank-Signature": f"{webhooks.sign('old', ts, body)}, {webhooks.sign(SECRET, ts, body)}"}
    assert verify(SECRET, headers, body) == {}


def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    rng = random.Random(7)
    for attempts in range(1, 16):
        ceiling = min(webhooks.BACKOFF_CAP_SECONDS, webhooks.BACKOFF_BASE_SECONDS * 2 ** (attempts - 1))
        delay = webhooks.backoff_delay(attempts, rng=rng)
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(webhooks.backoff_delay(5, rng=rng), 6) for _ in range(20)}) > 1  # jittered


def _delivery(session) -> WebhookDelivery:
    session.rollback()
    row = session.scalar(select(WebhookDelivery).order_by(WebhookDelivery.id))
    session.rollback()
    return row


def _make_due(session, delivery_id) -> None:
    """Let the back-off pass (instead of sleeping through it)."""
    session.get(WebhookDelivery, delivery_id).next_attempt_at = utcnow() - timedelta(seconds=1)
    session.commit()


def test_slow_answer_past_the_timeout_is_retried_and_then_delivered(app, client, session, shop, volunteer,
                                                                  run_jobs):
    app.config["WEBHOOK_TIMEOUT_SECONDS"] = 0.3
    shop.server.mode, shop.server.delay = "slow", 1.5
    _, headers = volunteer(points=300)
    body = redeem(client, headers, shop.reward.id).json
    run_jobs()
    row = _delivery(session)
    assert row.status == DeliveryStatus.pending and row.attempts == 1
    assert "timeout" in row.last_error.lower() or "timed out" in row.last_error.lower()
    assert row.next_attempt_at > utcnow()
    assert session.get(Redemption, body["id"]).status == "held"  # a slow merchant changes nothing
    session.rollback()

    shop.server.mode = "accept"
    _make_due(session, row.id)
    assert retry_webhooks() == 1
    run_jobs()
    row = _delivery(session)
    assert row.status == DeliveryStatus.delivered and row.attempts == 2
    # Both attempts carried the same delivery id, so the merchant can tell the retry from a new event.
    assert {r.delivery_id for r in shop.server.verified()} == {str(row.id)}


def test_server_down_then_up_retries_deliver_once(client, session, shop, volunteer, run_jobs):
    shop.server.stop()
    _, headers = volunteer(points=300)
    redeem(client, headers, shop.reward.id)
    run_jobs()
    row = _delivery(session)
    assert row.status == DeliveryStatus.pending and row.attempts == 1 and row.last_status_code is None
    assert shop.server.received == []

    shop.server.start()  # same port
    _make_due(session, row.id)
    retry_webhooks()
    run_jobs()
    retry_webhooks()  # nothing is due any more
    run_jobs()
    row = _delivery(session)
    assert row.status == DeliveryStatus.delivered and row.attempts == 2
    assert len(shop.server.received) == 1 and shop.server.received[0].delivery_id == str(row.id)


def test_bad_signature_is_rejected_by_the_receiver_dead_lettered_and_resent(client, session, shop, volunteer,
                                                                           run_jobs):
    shop.server.secret = "whsec_not_the_one_we_sign_with"
    _, headers = volunteer(points=300)
    body = redeem(client, headers, shop.reward.id).json
    run_jobs()
    [rejected] = shop.server.received
    assert rejected.event is None and "signature" in rejected.error
    row = _delivery(session)
    assert row.status == DeliveryStatus.dead and row.last_status_code == 401  # a 4xx is not retried

    dead = client.get(f"/api/merchants/{shop.merchant.id}/webhook-deliveries?status=dead",
                      headers=shop.admin_headers_street)
    assert dead.status_code == 200 and [d["id"] for d in dead.json["items"]] == [row.id]
    assert session.get(Redemption, body["id"]).status == "held"  # the hold waits for the code or its timeout
    session.rollback()

    shop.server.secret = shop.secret  # the merchant fixes its configuration
    resent = client.post(f"/api/merchants/{shop.merchant.id}/webhook-deliveries/{row.id}/resend",
                         headers=shop.key_headers)
    assert resent.status_code == 200 and resent.json["status"] == "pending" and resent.json["resends"] == 1
    run_jobs()
    row = _delivery(session)
    assert row.status == DeliveryStatus.delivered
    assert len(shop.server.verified()) == 1
    again = client.post(f"/api/merchants/{shop.merchant.id}/webhook-deliveries/{row.id}/resend",
                        headers=shop.key_headers)
    assert again.status_code == 200  # delivered rows may be sent again on request


def test_server_errors_are_retried_until_the_dead_letter(client, session, shop, volunteer, run_jobs):
    shop.server.mode = "error"
    _, headers = volunteer(points=300)
    redeem(client, headers, shop.reward.id)
    run_jobs()
    row = _delivery(session)
    outcomes = []
    for _ in range(row.max_attempts - 1):
        outcomes.append(webhook_jobs.deliver_now(session, row.id, timeout=2, now=utcnow() + timedelta(days=1),
                                             allow_private=True))
    assert outcomes[-1] == "dead" and set(outcomes[:-1]) == {"retry"}
    row = _delivery(session)
    assert row.status == DeliveryStatus.dead and row.attempts == row.max_attempts and row.last_status_code == 503
    assert webhook_jobs.deliver_now(session, row.id, now=utcnow() + timedelta(days=2), allow_private=True) == "skipped"
    assert len(shop.server.received) == row.max_attempts


def test_a_lease_keeps_a_second_worker_off_an_attempt_in_flight(session, shop, volunteer, client):
    _, headers = volunteer(points=300)
    redeem(client, headers, shop.reward.id)
    row = _delivery(session)
    assert webhooks.claim(session, row.id, timeout=5) is True
    session.commit()
    assert webhooks.claim(session, row.id, timeout=5) is False
    session.rollback()
    assert webhooks.claim(session, row.id, timeout=5, now=utcnow() + timedelta(minutes=5)) is True  # ran out
    session.rollback()


def test_profile_secret_is_shown_once_and_rotation_takes_effect(client, session, shop, run_jobs, volunteer):
    profile = client.get(f"/api/merchants/{shop.merchant.id}/profile", headers=shop.key_headers)
    assert profile.status_code == 200 and profile.json["has_webhook_secret"] is True
    assert "webhook_secret" not in profile.json
    rotated = client.post(f"/api/merchants/{shop.merchant.id}/webhook-secret", headers=shop.key_headers)
    assert rotated.status_code == 201 and rotated.json["webhook_secret"] != shop.secret
    _, headers = volunteer(points=300)
    redeem(client, headers, shop.reward.id)
    run_jobs()
    assert shop.server.received[0].event is None  # still checking with the old secret: rejected
    shop.server.secret = rotated.json["webhook_secret"]
    row = _delivery(session)
    client.post(f"/api/merchants/{shop.merchant.id}/webhook-deliveries/{row.id}/resend", headers=shop.key_headers)
    run_jobs()
    assert len(shop.server.verified()) == 1


def test_a_webhook_to_a_non_public_address_is_refused_not_retried(app, client, session, shop, volunteer, run_jobs):
    """A merchant's URL pointing inside our network (here: the test receiver on 127.0.0.1) is never called when
    private hosts are not allowed, the production default: the delivery goes straight to the dead letters."""
    app.config["WEBHOOK_ALLOW_PRIVATE_HOSTS"] = False
    _, headers = volunteer(points=300)
    redeem(client, headers, shop.reward.id)
    run_jobs()
    row = _delivery(session)
    assert row.status == DeliveryStatus.dead and row.attempts == 1
    assert row.last_error.startswith("blocked: 127.0.0.1 resolves to a non-public address")
    assert shop.server.received == []
    for url in ("http://10.1.2.3/hook", "http://[::1]:8080/hook", "http://169.254.169.254/latest", "ftp://x/y"):
        assert webhooks.blocked_destination(url) is not None
    assert webhooks.blocked_destination("https://8.8.8.8/hook") is None


def test_the_signing_secret_is_stored_encrypted_and_still_signs(client, session, shop, volunteer, run_jobs):
    stored = session.scalar(text("SELECT webhook_secret FROM merchant_profile WHERE merchant_id = :m"),
                            {"m": shop.merchant.id})
    assert stored.startswith("enc1:") and shop.secret not in stored  # a copy of the database reveals nothing
    _, headers = volunteer(points=300)
    redeem(client, headers, shop.reward.id)
    run_jobs()
    assert len(shop.server.verified()) == 1  # the receiver checks the signature with the secret it was shown
