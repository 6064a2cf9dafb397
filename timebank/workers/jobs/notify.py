"""Notification jobs: the outbox handler that hands deliveries to senders, the sender (lease, provider calls,
outcomes), the retry sweep, and the cron sweeps that raise time-based events. Thin: the rules are in the domains.

What survives a `kill -9` of a sender: the lease was committed before the first provider call; when it runs
out, `retry_notifications` hands the deliveries to a sender again, under the same delivery ids, which the
providers receive as their idempotency ids and send once.
"""

from __future__ import annotations

import logging

from flask import current_app

from timebank import uow
from timebank.accounts import notices as account_notices
from timebank.appraisal import notices as appraisal_notices
from timebank.appraisal.report_in import local_today
from timebank.extensions import db, redis_ext
from timebank.hours import notices as hours_notices
from timebank.notify import channels, delivery
from timebank.workers.queues import NOTIFY, queue

log = logging.getLogger("timebank.jobs.notify")

CHUNK = 50
ENQUEUED_TTL_SECONDS = 30


def channel_config() -> channels.ChannelConfig:
    cfg = current_app.config
    return channels.ChannelConfig(
        live=frozenset(cfg.get("NOTIFY_LIVE_CHANNELS", ())), timeout=float(cfg.get("NOTIFY_TIMEOUT_SECONDS", 5)),
        sms_url=cfg.get("SMS_GATEWAY_URL", ""), sms_app_key=cfg.get("SMS_APP_KEY", ""),
        sms_app_secret=cfg.get("SMS_APP_SECRET", ""), sms_sign_name=cfg.get("SMS_SIGN_NAME", "爱心银行"),
        wechat_api_base=cfg.get("WECHAT_API_BASE", ""), wechat_appid=cfg.get("WECHAT_APPID", ""),
        wechat_secret=cfg.get("WECHAT_SECRET", ""), wechat_page=cfg.get("WECHAT_PAGE", ""),
        smtp_host=cfg["SMTP_HOST"], smtp_port=cfg["SMTP_PORT"], smtp_user=cfg.get("SMTP_USER"),
        smtp_password=cfg.get("SMTP_PASSWORD"), smtp_starttls=bool(cfg.get("SMTP_STARTTLS")),
        mail_from=cfg["MAIL_FROM"])


def _enqueue(ids: list[int]) -> None:
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        timeout = float(current_app.config.get("NOTIFY_TIMEOUT_SECONDS", 5))
        queue(NOTIFY).enqueue(send, chunk, result_ttl=0, failure_ttl=24 * 3600,
                              job_timeout=int(timeout * len(chunk) + 60),
                              description=f"send notifications {chunk[0]}..{chunk[-1]}")


def hand_to_senders(session, messages) -> None:
    """Outbox -> RQ: the deliveries of these notifications, in chunks, one sender job per chunk."""
    ids: list[int] = []
    for message in messages:
        if "delivery_ids" in message.payload:
            ids.extend(int(i) for i in message.payload["delivery_ids"])
        else:
            ids.extend(delivery.ids_of_notification(session, int(message.payload["notification_id"])))
    _enqueue(sorted(ids))


def send_now(session, delivery_ids: list[int], config: channels.ChannelConfig) -> dict[int, str]:
    """One chunk: lease (committed), provider calls outside any transaction, outcomes (committed)."""
    with uow.unit_of_work(session):
        messages = delivery.prepare(session, delivery_ids, timeout=config.timeout)
    if not messages:
        return {}
    outcomes = channels.send_all(config, messages, int(current_app.config.get("NOTIFY_SEND_CONCURRENCY", 4)))
    with uow.unit_of_work(session):
        return delivery.record(session, outcomes)


def send(delivery_ids: list[int]) -> dict[int, str]:
    """The RQ job."""
    return send_now(db.session, delivery_ids, channel_config())


def retry_notifications() -> int:
    """Cron: hand over deliveries whose back-off or deferral has passed or whose lease ran out (a killed sender)."""
    conn = redis_ext.connection
    try:
        due = [i for i in delivery.due_ids(db.session)
               if conn.set(f"timebank:notify-enqueued:{i}", "1", nx=True, ex=ENQUEUED_TTL_SECONDS)]
    finally:
        uow.rollback()
    _enqueue(due)
    return len(due)


def remind_starting_tasks() -> int:
    """Cron: claims whose task starts within two hours."""
    with uow.unit_of_work():
        return hours_notices.remind_starting(db.session)


def warn_expiring_points() -> int:
    """Cron: lots expiring in 30 and in 7 days, a page of accounts per unit of work."""
    told, cursor = 0, 0
    while cursor is not None:
        with uow.unit_of_work():
            page, cursor = account_notices.warn_expiring(db.session, after_account_id=cursor)
        told += page
    return told


def warn_lapsing_report_ins() -> int:
    """Cron: accepted report-ins lapsing within 30 days."""
    with uow.unit_of_work():
        return appraisal_notices.warn_lapsing(db.session, today=local_today())
