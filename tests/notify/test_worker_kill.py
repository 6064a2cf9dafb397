"""`kill -9` of a real `timebank worker` process while it waits on the SMS gateway: the gateway had received the
message, the worker never recorded it. The lease keeps the delivery from being sent again until it runs out;
the retry goes out under the same idempotency id, so the person gets one SMS."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from timebank.db_base import utcnow
from timebank.notify.models import DeliveryState, NotificationDelivery
from timebank.workers.jobs import notify as notify_jobs

from .providers import APP_KEY, APP_SECRET
from .test_rules import choose, deliveries, gift


def test_killed_sender_leaves_a_lease_and_the_retry_sends_once(app, client, session, volunteer, live, run_jobs,
                                                               tmp_path):
    sms, _wechat = live
    app.config.update(NOTIFY_QUIET_START=0, NOTIFY_QUIET_END=0)  # the worker runs on the wall clock: never quiet
    giver, giver_h = volunteer(points=50)
    receiver, receiver_h = volunteer(points=0)
    choose(client, receiver_h, channels={"gift.received": ["inapp", "sms"]})
    sms.mode = "block"
    env = {**os.environ, "TIMEBANK_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
           "TIMEBANK_REDIS_URL": app.config["REDIS_URL"], "TIMEBANK_INSTANCE_PATH": str(tmp_path / "worker"),
           "TIMEBANK_LOG_LEVEL": "WARNING", "TIMEBANK_SECRET_KEY": app.config["SECRET_KEY"],
           "TIMEBANK_NOTIFY_LIVE_CHANNELS": "sms", "TIMEBANK_SMS_GATEWAY_URL": app.config["SMS_GATEWAY_URL"],
           "TIMEBANK_SMS_APP_KEY": APP_KEY, "TIMEBANK_SMS_APP_SECRET": APP_SECRET,
           "TIMEBANK_NOTIFY_TIMEOUT_SECONDS": "30", "TIMEBANK_NOTIFY_QUIET_START": "0",
           "TIMEBANK_NOTIFY_QUIET_END": "0"}
    proc = subprocess.Popen([str(Path(sys.executable).with_name("timebank")), "worker", "notify"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        gift(client, giver_h, receiver.id)  # the commit kicks the relay: the worker drains, then sends
        assert sms.arrived.wait(90), "the worker never called the gateway"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    sms.release.set()  # the held request answers a dead socket
    sms.mode = "accept"

    [row] = deliveries(session)
    assert row.state == DeliveryState.pending and row.attempts == 1 and row.lease_until is not None
    assert len(sms.sent) == 1  # the gateway had it
    assert notify_jobs.retry_notifications() == 0  # the lease still covers the dead worker's attempt

    session.get(NotificationDelivery, row.id).lease_until = utcnow() - timedelta(seconds=1)  # time passes
    session.commit()
    assert notify_jobs.retry_notifications() == 1
    run_jobs()
    [row] = deliveries(session)
    assert row.state == DeliveryState.sent and row.attempts == 2
    assert [json.loads(body)["out_id"] for _h, body in sms.requests] == [f"tb-{row.id}"] * 2
    assert len(sms.sent_to(receiver.phone)) == 1  # exactly once on the handset
    run_jobs()
    assert notify_jobs.retry_notifications() == 0 and len(sms.requests) == 2
