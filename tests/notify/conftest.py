"""Notification fixtures: fake SMS and WeChat providers on loopback, the app configured to send to them, a
daytime service clock (quiet hours are tested by moving it), and helpers that run the relay and the senders
as the workers would. The hours, redemption and appraisal fixtures are reused for the flows that cause events."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.appraisal.conftest import employer_contact, make_employer, make_member  # noqa: F401 - fixtures
from tests.hours.conftest import hours  # noqa: F401 - fixture
from tests.redemption.conftest import (  # noqa: F401 - fixtures
    give_points,
    make_merchant,
    merchant_server,
    shop,
    volunteer,
)
from timebank import clock as service_clock
from timebank.extensions import redis_ext
from timebank.notify import channels
from timebank.ops.outbox import due_topics, sweep

from .providers import APP_KEY, APP_SECRET, APPID, WECHAT_SECRET, start_sms, start_wechat


@pytest.fixture
def sms():
    fake, running = start_sms()
    yield fake
    running.stop()


@pytest.fixture
def wechat():
    fake, running = start_wechat()
    channels.wechat_tokens.drop(channels.ChannelConfig(wechat_appid=APPID))
    yield fake
    running.stop()
    channels.wechat_tokens.drop(channels.ChannelConfig(wechat_appid=APPID))


@pytest.fixture
def live(app, sms, wechat):
    """SMS and WeChat sent for real, to the fakes."""
    app.config.update(NOTIFY_LIVE_CHANNELS=frozenset({"sms", "wechat"}), NOTIFY_TIMEOUT_SECONDS=1.0,
                      SMS_GATEWAY_URL=f"http://127.0.0.1:{sms.port}/sms/send", SMS_APP_KEY=APP_KEY,
                      SMS_APP_SECRET=APP_SECRET, WECHAT_API_BASE=wechat.url(), WECHAT_APPID=APPID,
                      WECHAT_SECRET=WECHAT_SECRET)
    return sms, wechat


def beijing(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=service_clock.DISPLAY_TZ).astimezone(
        service_clock.utcnow().tzinfo)


@pytest.fixture
def daytime(clock):
    """The service clock at 10:00 Beijing time today (outside quiet hours whatever the wall clock says)."""
    local = service_clock.local(clock.now)
    clock.set(beijing(local.year, local.month, local.day, 10))
    return clock


@pytest.fixture
def deliver(session, run_jobs):
    """What the sweep and the workers do: hand due outbox topics to RQ and run every job to the end."""

    def run() -> None:
        for _ in range(10):
            session.rollback()
            if not due_topics(session):
                return
            sweep(session, redis_ext.connection)
            run_jobs()

    return run


def inbox(client, headers) -> list[dict]:
    resp = client.get("/api/me/notifications?limit=200", headers=headers)
    assert resp.status_code == 200, resp.json
    return resp.json["items"]


def kinds(client, headers) -> list[str]:
    return [n["kind"] for n in inbox(client, headers)]
