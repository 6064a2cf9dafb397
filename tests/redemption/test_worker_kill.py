"""`kill -9` of a real `timebank worker` process in the middle of a redemption's webhook job leaves nothing stuck:
the delivery is retried once its lease runs out, or the hold times out and the sweep releases it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from timebank.db_base import utcnow
from timebank.ops.models import DeliveryStatus, WebhookDelivery
from timebank.redemption.models import Redemption, Reward
from timebank.workers.jobs.redemption import expire_redemptions, retry_webhooks

from .conftest import available, redeem


@pytest.fixture
def killed_mid_delivery(app, client, session, shop, volunteer, tmp_path):
    """A volunteer redeems; a worker subprocess picks up the webhook job; the merchant's server holds the request
    open; the worker is killed with SIGKILL while it waits."""
    shop.server.mode = "block"
    person, headers = volunteer(points=300)
    body = redeem(client, headers, shop.reward.id).json
    env = {**os.environ, "TIMEBANK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "TIMEBANK_REDIS_URL": app.config["REDIS_URL"], "TIMEBANK_INSTANCE_PATH": str(tmp_path / "worker"),
           "TIMEBANK_LOG_LEVEL": "WARNING", "TIMEBANK_SECRET_KEY": app.config["SECRET_KEY"],  # reads the secret
           "TIMEBANK_WEBHOOK_ALLOW_PRIVATE_HOSTS": "1"}  # the merchant's test server listens on 127.0.0.1
    timebank_cli = Path(sys.executable).with_name("timebank")
    proc = subprocess.Popen([str(timebank_cli), "worker", "redemptions"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert shop.server.arrived.wait(90), "the worker never called the merchant"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    shop.server.release_block()  # the held request answers a dead socket
    shop.server.mode = "accept"
    return person, body


def _row(session):
    session.rollback()
    row = session.query(WebhookDelivery).one()
    red = session.query(Redemption).one()
    session.rollback()
    return row, red


def test_killed_worker_leaves_a_lease_that_runs_out_and_the_job_is_retried(client, session, shop,
                                                                         killed_mid_delivery, run_jobs):
    person, body = killed_mid_delivery
    row, red = _row(session)
    assert row.status == DeliveryStatus.pending and row.attempts == 1 and row.lease_until is not None
    assert red.status == "held" and available(session, person) == 200
    assert retry_webhooks() == 0  # the lease still covers the dead worker's attempt

    session.get(WebhookDelivery, row.id).lease_until = utcnow() - timedelta(seconds=1)  # time passes
    session.commit()
    assert retry_webhooks() == 1
    run_jobs()
    row, red = _row(session)
    assert row.status == DeliveryStatus.delivered and row.attempts == 2
    assert red.merchant_ack_at is not None
    assert {r.delivery_id for r in shop.server.verified()} == {str(row.id)}  # same id: the merchant dedupes
    confirm = client.post("/api/redemptions/confirm", json={"code": body["code"]}, headers=shop.key_headers)
    assert confirm.status_code == 200 and confirm.json["status"] == "captured"


def test_killed_worker_then_timeout_releases_the_hold_and_stock(session, shop, killed_mid_delivery, run_jobs):
    person, body = killed_mid_delivery
    red = session.get(Redemption, body["id"])
    red.expires_at = utcnow() - timedelta(seconds=1)
    session.commit()
    assert expire_redemptions() == 1
    session.rollback()
    red = session.get(Redemption, body["id"])
    assert red.status == "released" and red.release_reason == "expired"
    assert session.get(Reward, shop.reward.id).stock == 10
    session.rollback()
    assert available(session, person) == 300
    # A late retry of the interrupted delivery reaches the merchant but cannot revive the released hold.
    session.query(WebhookDelivery).filter(WebhookDelivery.event_type == "redemption.held").update(
        {"lease_until": utcnow() - timedelta(seconds=1)})
    session.commit()
    retry_webhooks()
    run_jobs()
    session.rollback()
    assert session.get(Redemption, body["id"]).status == "released"
    assert available(session, person) == 300
