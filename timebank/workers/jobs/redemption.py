"""Redemption jobs: webhook deliveries (outbox -> one RQ job per delivery), their retry sweep, the expiry of
timed-out holds, and merchant reconciliations. Thin: the rules live in the services.

What survives a `kill -9` of the worker at any point:
* during the outbox drain: the outbox row is still pending (its transaction never committed); the sweep
  hands it to a new drain once the relay's pending key has expired;
* during a delivery: the lease was committed before the HTTP call; when it runs out, `retry_webhooks`
  enqueues the delivery again (same delivery id, so the merchant can dedupe);
* in any case the hold has a timeout: `expire_redemptions` releases it and restores the stock.
"""

from __future__ import annotations

import logging

from timebank import uow
from timebank.extensions import db, redis_ext
from timebank.ops import webhooks
from timebank.redemption import reconciliation as merchant_reconciliation
from timebank.redemption import redemptions as redemption
from timebank.workers.jobs import webhooks as webhook_jobs
from timebank.workers.queues import REDEMPTIONS, queue

log = logging.getLogger("timebank.jobs.redemption")

ENQUEUED_TTL_SECONDS = 30


def _enqueue_delivery(delivery_id: int) -> None:
    queue(REDEMPTIONS).enqueue(webhook_jobs.deliver, delivery_id, result_ttl=0, failure_ttl=24 * 3600,
                               job_timeout=int(webhook_jobs.timeout() + 60),
                               description=f"webhook delivery {delivery_id}")


def hand_deliveries_to_rq(session, messages) -> None:
    """Outbox -> RQ: one job per delivery, so one slow receiver does not hold up the others."""
    for message in messages:
        _enqueue_delivery(int(message.payload["delivery_id"]))


def retry_webhooks() -> int:
    """Cron: enqueue deliveries whose back-off has passed or whose lease ran out (a killed worker)."""
    conn = redis_ext.connection
    count = 0
    try:
        for delivery_id in webhooks.due_ids(db.session):
            if conn.set(f"timebank:webhook-enqueued:{delivery_id}", "1", nx=True, ex=ENQUEUED_TTL_SECONDS):
                _enqueue_delivery(delivery_id)
                count += 1
    finally:
        uow.rollback()
    return count


def expire_redemptions() -> int:
    """Cron: release holds whose pickup code has timed out, one commit per redemption."""
    released = 0
    for redemption_id in redemption.expired_ids(db.session):
        try:
            with uow.unit_of_work():  # the commit also kicks the "released" webhooks
                released += redemption.expire_one(db.session, redemption_id)
        except Exception:
            log.exception("expiring a redemption failed", extra={"fields": {"redemption_id": redemption_id}})
    uow.rollback()
    return released


def run_merchant_reconciliations(session, messages) -> None:
    for message in messages:
        merchant_reconciliation.run(session, int(message.payload["reconciliation_id"]))
