"""Webhook deliveries: the receivers each kind resolves to, the hooks run on a receiver's answer, and the
job that makes one attempt. Both maps are declared here, in one place."""

from __future__ import annotations

from datetime import datetime

from flask import current_app
from sqlalchemy.orm import Session

from timebank import uow
from timebank.extensions import db
from timebank.ops import webhooks
from timebank.redemption import redemptions, rewards

TARGETS: dict[str, webhooks.Resolver] = {
    "merchant": rewards.merchant_webhook_target,
}

RESPONSE_HOOKS: dict[str, webhooks.ResponseHook] = {
    redemptions.HELD_EVENT: redemptions.on_merchant_answer,
}


def timeout() -> float:
    return float(current_app.config.get("WEBHOOK_TIMEOUT_SECONDS", webhooks.DEFAULT_TIMEOUT_SECONDS))


def deliver_now(session: Session, delivery_id: int, *, timeout: float = webhooks.DEFAULT_TIMEOUT_SECONDS,
                now: datetime | None = None, allow_private: bool = False) -> str:
    """One attempt. Two units of work on purpose: the lease before the HTTP call, the outcome after it, so
    no transaction (and no lock) stays open while a slow receiver thinks.

    Returns "skipped" (not due, leased elsewhere, or finished), "delivered", "retry" or "dead".
    """
    with uow.unit_of_work(session):
        attempt = webhooks.prepare(session, delivery_id, TARGETS, timeout=timeout, now=now)
    if attempt is None:
        return "skipped"
    outcome, url = webhooks.send(attempt, timeout=timeout, allow_private=allow_private)
    with uow.unit_of_work(session):
        delivery = webhooks.record(session, delivery_id, outcome, url=url, hooks=RESPONSE_HOOKS)
        result = webhooks.result_of(delivery)
    return result


def deliver(delivery_id: int) -> str:
    """The RQ job: one attempt of one delivery (lease, HTTP, outcome)."""
    return deliver_now(db.session, delivery_id, timeout=timeout(),
                       allow_private=bool(current_app.config.get("WEBHOOK_ALLOW_PRIVATE_HOSTS")))
