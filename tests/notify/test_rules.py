"""The rules with the movable service clock: quiet hours defer (never drop) and spare security codes, opt-out, the
daily cap; exactly once when the provider times out after receiving; retries, dead letters and an admin's
re-send (with its scope); the inbox API; the WeChat token exchange; e-mail; and masked logs."""

from __future__ import annotations

import json
import logging

from sqlalchemy import select

from tests.appraisal.mail import smtp_server
from timebank.notify import channels
from timebank.notify.models import DeliveryAttempt, DeliveryState, Notification, NotificationDelivery
from timebank.people.models import Role
from timebank.workers.jobs import notify as notify_jobs

from .conftest import beijing, inbox, kinds

_keys = iter(range(1, 10_000))


def gift(client, giver_headers, to_id: int, points: int = 1, note: str = "谢谢") -> None:
    resp = client.post("/api/gifts", json={"amount": points, "to_person_id": to_id, "note": note},
                       headers={**giver_headers, "Idempotency-Key": f"g-{next(_keys)}"})
    assert resp.status_code == 201, resp.json


def choose(client, headers, **body) -> dict:
    resp = client.put("/api/me/notification-preferences", json=body, headers=headers)
    assert resp.status_code == 200, resp.json
    return resp.json


def deliveries(session) -> list[NotificationDelivery]:
    session.rollback()
    rows = list(session.scalars(select(NotificationDelivery).order_by(NotificationDelivery.id)))
    session.rollback()
    return rows


def test_quiet_hours_defer_messages_to_eight_and_codes_go_at_once(client, session, volunteer, live, deliver, clock):
    sms, _wechat = live
    clock.set(beijing(2026, 3, 5, 22, 30))
    giver, giver_h = volunteer(points=50, name="王芳")
    receiver, receiver_h = volunteer(points=0, name="王大妈")
    choose(client, receiver_h, channels={"gift.received": ["inapp", "sms"]})
    gift(client, giver_h, receiver.id)
    assert client.post("/api/codes", json={"phone": "13800000005", "purpose": "reset_password"}).status_code == 202
    deliver()
    assert kinds(client, receiver_h) == ["gift.received"]  # the inbox is not quiet
    assert [s.to for s in sms.sent.values()] == ["13800000005"]  # the code went at once; the gift waits
    [waiting] = [d for d in deliveries(session) if d.code_id is None]
    assert waiting.state == DeliveryState.pending and waiting.attempts == 0
    assert waiting.next_attempt_at == beijing(2026, 3, 6, 8, 0)

    clock.set(beijing(2026, 3, 6, 7, 59))
    notify_jobs.retry_notifications()
    deliver()
    assert len(sms.sent) == 1
    clock.set(beijing(2026, 3, 6, 8, 1))
    deliver()
    notify_jobs.retry_notifications()
    deliver()
    assert len(sms.sent_to(receiver.phone)) == 1 and len(sms.sent) == 2


def test_a_delivery_due_at_night_after_a_retry_waits_for_morning(client, session, volunteer, live, deliver, clock,
                                                                 run_jobs):
    sms, _wechat = live
    clock.set(beijing(2026, 3, 5, 21, 59))
    sms.mode = "error"
    giver, giver_h = volunteer(points=50)
    receiver, receiver_h = volunteer(points=0)
    choose(client, receiver_h, channels={"gift.received": ["inapp", "sms"]})
    gift(client, giver_h, receiver.id)
    deliver()
    [row] = deliveries(session)
    assert row.attempts == 1 and row.state == DeliveryState.pending  # failed at 21:59, backing off
    sms.mode = "accept"
    clock.set(beijing(2026, 3, 5, 22, 10))
    notify_jobs.retry_notifications()
    run_jobs()
    [row] = deliveries(session)
    assert sms.sent == {} and row.attempts == 1 and row.next_attempt_at == beijing(2026, 3, 6, 8, 0)


def test_opting_out_stops_a_kind_on_every_channel_but_codes_cannot_be_turned_off(client, session, volunteer, live,
                                                                                  deliver, daytime):
    giver, giver_h = volunteer(points=50)
    receiver, receiver_h = volunteer(points=0)
    prefs = client.get("/api/me/notification-preferences", headers=receiver_h).json
    assert prefs["channels"]["gift.received"] == ["inapp", "wechat"] and "security.code" not in prefs["channels"]
    choose(client, receiver_h, channels={"gift.received": []})
    gift(client, giver_h, receiver.id)
    deliver()
    assert kinds(client, receiver_h) == [] and deliveries(session) == []

    refused = client.put("/api/me/notification-preferences", json={"channels": {"security.code": []}},
                         headers=receiver_h)
    assert refused.status_code == 422 and refused.json["code"] == "notification_kind_required"
    unknown = client.put("/api/me/notification-preferences", json={"channels": {"lottery.won": ["sms"]}},
                         headers=receiver_h)
    assert unknown.status_code == 422 and unknown.json["code"] == "notification_kind_unknown"
    assert "lottery.won" in unknown.json["detail"]
    bad_channel = client.put("/api/me/notification-preferences", json={"channels": {"gift.received": ["fax"]}},
                             headers=receiver_h)
    assert bad_channel.status_code == 422 and bad_channel.json["code"] == "validation_failed"
    assert client.get("/api/me/notification-preferences").status_code == 401


def test_the_daily_cap_keeps_the_inbox_and_resets_the_next_day(app, client, session, volunteer, live, deliver,
                                                               daytime):
    sms, _wechat = live
    app.config["NOTIFY_DAILY_CAP"] = 2
    giver, giver_h = volunteer(points=50)
    receiver, receiver_h = volunteer(points=0)
    choose(client, receiver_h, channels={"gift.received": ["inapp", "sms"]})
    for _ in range(3):
        gift(client, giver_h, receiver.id)
    deliver()
    assert len(inbox(client, receiver_h)) == 3
    assert len(sms.sent_to(receiver.phone)) == 2
    session.rollback()
    assert [n.note for n in session.scalars(select(Notification).order_by(Notification.id))] == [None, None, "capped"]
    daytime.advance(days=1)
    gift(client, giver_h, receiver.id)
    deliver()
    assert len(sms.sent_to(receiver.phone)) == 3


def test_provider_that_times_out_after_receiving_sends_once(app, client, session, volunteer, live, deliver, daytime,
                                                            run_jobs):
    sms, _wechat = live
    sms.mode, sms.hold_seconds = "timeout", 2.5  # the gateway sends, then answers after our 1 s timeout
    giver, giver_h = volunteer(points=50)
    receiver, receiver_h = volunteer(points=0)
    choose(client, receiver_h, channels={"gift.received": ["inapp", "sms"]})
    gift(client, giver_h, receiver.id)
    deliver()
    [row] = deliveries(session)
    assert row.state == DeliveryState.pending and row.attempts == 1 and "timeout" in row.last_error
    sms.mode = "accept"
    daytime.advance(minutes=5)  # past the back-off
    assert notify_jobs.retry_notifications() == 1
    run_jobs()
    [row] = deliveries(session)
    assert row.state == DeliveryState.sent and row.attempts == 2
    out_ids = {json.loads(body)["out_id"] for _h, body in sms.requests}
    assert len(sms.requests) == 2 and out_ids == {f"tb-{row.id}"}  # same idempotency id both times
    assert len(sms.sent_to(receiver.phone)) == 1  # the handset got one message
    assert session.query(DeliveryAttempt).count() == 2


def test_dead_deliveries_are_listed_for_admins_in_scope_and_resent(app, client, session, tree, volunteer, live,
                                                                   deliver, daytime, as_user, run_jobs):
    sms, _wechat = live
    app.config["NOTIFY_MAX_ATTEMPTS"] = 2
    sms.mode = "error"
    giver, giver_h = volunteer(points=50)
    receiver, receiver_h = volunteer(points=0)
    choose(client, receiver_h, channels={"gift.received": ["inapp", "sms"]})
    gift(client, giver_h, receiver.id)
    deliver()
    daytime.advance(minutes=5)
    notify_jobs.retry_notifications()
    run_jobs()
    [row] = deliveries(session)
    assert row.state == DeliveryState.dead and row.attempts == 2 and "HTTP 503" in row.last_error

    _a, admin_a = as_user(Role.community_admin, tree.community_a)
    _b, admin_b = as_user(Role.community_admin, tree.community_b)
    listed = client.get("/api/notification-deliveries?dead=true", headers=admin_a)
    assert listed.status_code == 200 and [d["id"] for d in listed.json["items"]] == [row.id]
    assert client.get("/api/notification-deliveries", headers=admin_b).json["items"] == []
    assert client.get("/api/notification-deliveries", headers=receiver_h).json["code"] == "out_of_scope"
    crossed = client.post(f"/api/notification-deliveries/{row.id}/resend", headers=admin_b)
    assert crossed.status_code == 403 and crossed.json["code"] == "out_of_scope"
    assert client.post("/api/notification-deliveries/999999/resend", headers=admin_a).status_code == 404

    sms.mode = "accept"
    resent = client.post(f"/api/notification-deliveries/{row.id}/resend", headers=admin_a)
    assert resent.status_code == 200 and resent.json["state"] == "pending" and resent.json["resends"] == 1
    deliver()
    [row] = deliveries(session)
    assert row.state == DeliveryState.sent and len(sms.sent_to(receiver.phone)) == 1
    again = client.post(f"/api/notification-deliveries/{row.id}/resend", headers=admin_a)
    assert again.status_code == 409 and again.json["code"] == "notification_not_dead"


def test_inbox_pages_counts_unread_and_marks_only_ones_own(client, session, volunteer, daytime):
    giver, giver_h = volunteer(points=50)
    receiver, receiver_h = volunteer(points=0)
    for _ in range(3):
        gift(client, giver_h, receiver.id)
    first = client.get("/api/me/notifications?limit=2", headers=receiver_h).json
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = client.get(f"/api/me/notifications?limit=2&cursor={first['next_cursor']}", headers=receiver_h).json
    assert len(second["items"]) == 1 and second["next_cursor"] is None
    ids = [n["id"] for n in first["items"] + second["items"]]
    assert ids == sorted(ids, reverse=True)
    assert client.get("/api/me/notifications/unread-count", headers=receiver_h).json == {"unread": 3}

    marked = client.post("/api/me/notifications/read", json={"ids": [ids[0]]}, headers=receiver_h)
    assert marked.status_code == 200 and marked.json == {"marked": 1, "unread": 2}
    assert client.post("/api/me/notifications/read", json={"ids": ids}, headers=giver_h).json["marked"] == 0
    assert client.get("/api/me/notifications?unread=true", headers=receiver_h).json["items"][0]["id"] == ids[1]
    empty = client.post("/api/me/notifications/read", json={}, headers=receiver_h)
    assert empty.status_code == 422 and empty.json["code"] == "notification_ids_required"
    assert client.post("/api/me/notifications/read", json={"all": True}, headers=receiver_h).json["unread"] == 0
    assert client.post("/api/me/notifications/read", json={"ids": "x"}, headers=receiver_h).status_code == 422


def test_wechat_token_is_exchanged_once_cached_and_renewed_when_rejected(client, session, volunteer, live, deliver,
                                                                         daytime):
    _sms, wechat = live
    giver, giver_h = volunteer(points=50)
    receiver, receiver_h = volunteer(points=0)
    prefs = choose(client, receiver_h, wechat_openid="oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
                   channels={"gift.received": ["inapp", "wechat"]})
    assert prefs["wechat_openid"] == "oUpF****eS6o"  # never shown in full
    gift(client, giver_h, receiver.id, note="买菜")
    gift(client, giver_h, receiver.id)
    deliver()
    assert wechat.token_fetches == 1 and len(wechat.sent) == 2
    wechat.expire_next = True
    gift(client, giver_h, receiver.id)
    deliver()
    assert wechat.token_fetches == 2 and len(wechat.sent) == 3 and wechat.rejected == []
    first = min(wechat.sent.values(), key=lambda s: s.out_id)
    assert first.to == "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o" and first.template == "WX_TB_POINTS"
    assert first.params["thing1"]["value"] == "收到积分赠与" and "time3" in first.params


def test_email_goes_over_the_configured_smtp(app, client, session, volunteer, deliver, daytime):
    with smtp_server() as (box, port):
        app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, NOTIFY_LIVE_CHANNELS=frozenset({"email"}))
        giver, giver_h = volunteer(points=50, name="王芳")
        receiver, receiver_h = volunteer(points=0)
        choose(client, receiver_h, email="wang@example.test", channels={"gift.received": ["inapp", "email"]})
        gift(client, giver_h, receiver.id, points=5, note="节日快乐")
        deliver()
    [message] = box.messages
    assert message["To"] == "wang@example.test" and "收到积分赠与" in message["Subject"]
    assert "王芳赠与您5积分" in message.get_content() and message["Message-ID"].startswith("<tb-")


def test_the_log_channel_masks_the_phone_and_never_shows_a_code(client, session, deliver, daytime, caplog):
    caplog.set_level(logging.INFO, logger="timebank.notify")
    assert client.post("/api/codes", json={"phone": "13800000005", "purpose": "signup"}).status_code == 202
    deliver()
    [row] = deliveries(session)
    assert row.state == DeliveryState.sent
    text = " ".join(f"{r.getMessage()} {getattr(r, 'fields', '')}" for r in caplog.records)
    assert "138****0005" in text and "13800000005" not in text
    session.rollback()
    from timebank.notify.models import OneTimeCode

    code = session.scalar(select(OneTimeCode))
    assert code.sealed is None and len(code.code_hash) == 64  # sent: the only readable copy is gone
    assert channels.mask("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o") == "oUpF****eS6o"


def test_code_requests_refuse_bad_input_with_chinese_problems(client, daytime):
    bad_phone = client.post("/api/codes", json={"phone": "12345", "purpose": "signup"})
    assert bad_phone.status_code == 422 and bad_phone.json["code"] == "validation_failed"
    bad_purpose = client.post("/api/codes", json={"phone": "13800000005", "purpose": "lottery"})
    assert bad_purpose.status_code == 422
    none_sent = client.post("/api/codes/verify", json={"phone": "13800000006", "purpose": "signup",
                                                        "code": "123456"})
    assert none_sent.status_code == 422 and none_sent.json["code"] == "code_invalid" and "验证码" in none_sent.json[
        "detail"]


def test_five_wrong_tries_use_up_a_code_even_though_each_answer_is_an_error(client, session, daytime):
    assert client.post("/api/codes", json={"phone": "13800000007", "purpose": "signup"}).status_code == 202
    for left in (4, 3, 2, 1, 0):
        resp = client.post("/api/codes/verify", json={"phone": "13800000007", "purpose": "signup", "code": "999999"})
        assert resp.status_code == 422 and resp.json.get("tries_left") == left
    from timebank.notify.models import OneTimeCode

    session.rollback()
    real = session.scalar(select(OneTimeCode)).sealed
    resp = client.post("/api/codes/verify", json={"phone": "13800000007", "purpose": "signup", "code": real})
    assert resp.status_code == 422 and resp.json["code"] == "code_tries_exhausted"
    daytime.advance(minutes=6)
    resp = client.post("/api/codes/verify", json={"phone": "13800000007", "purpose": "signup", "code": real})
    assert resp.json["code"] == "code_expired"


def test_a_sweeps_batch_keeps_every_rule_of_one_at_a_time(app, client, session, volunteer, live, deliver, daytime):
    """`notify_many` (the expiry sweep's page) against the rules `notify` keeps: a repeat of a dedupe key is told
    once (in the batch and across batches), an opted-out person is not told, the cap counts within the batch, and
    every delivery is sent once."""
    from timebank import uow
    from timebank.notify import Event, notify_many

    sms, _wechat = live
    app.config["NOTIFY_DAILY_CAP"] = 2
    keen, _ = volunteer(points=0)
    capped, _ = volunteer(points=0)
    quiet, quiet_h = volunteer(points=0)
    choose(client, quiet_h, channels={"points.expiring": []})
    params = {"points": 5, "expires_on": "2027年1月1日", "days": 30}
    batch = [Event(keen.id, params, "k:1"), Event(keen.id, params, "k:1"), Event(quiet.id, params, "q:1"),
             *(Event(capped.id, params, f"c:{n}") for n in range(3))]
    session.rollback()
    with uow.unit_of_work(session):
        rows = notify_many(session, "points.expiring", batch)
        told = [bool(getattr(r, "just_created", False)) if r is not None else None for r in rows]
    assert told == [True, True, None, True, True, True] and rows[0] is rows[1]  # the repeat shares the first's row
    with uow.unit_of_work(session):
        again = notify_many(session, "points.expiring", batch[:1])
        assert again[0].just_created is False
    deliver()
    assert len(sms.sent_to(keen.phone)) == 1
    assert len(sms.sent_to(capped.phone)) == 2  # the third of the batch is over the cap: inbox only
    assert sms.sent_to(quiet.phone) == []
    session.rollback()
    notes = [n.note for n in session.scalars(select(Notification).where(Notification.person_id == capped.id)
                                              .order_by(Notification.id))]
    assert notes == [None, None, "capped"]
