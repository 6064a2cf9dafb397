"""Appraisal jobs: render reports (sharded topics, so two workers render at once), deliver them, and the
hourly cron that lapses report-ins and starts scheduled runs."""

from __future__ import annotations

import logging

from flask import current_app

from timebank import links, uow
from timebank.appraisal import delivery as appraisal_delivery
from timebank.appraisal import report_in as report_in_service
from timebank.appraisal import reports as appraisal
from timebank.ops.models import OutboxMessage

log = logging.getLogger("timebank.jobs.appraisal")


def render(session, messages: list[OutboxMessage]) -> None:
    base_url = links.public_base_url()
    for message in messages:
        appraisal_delivery.render_and_queue(session, int(message.payload["report_id"]), base_url=base_url)


def deliver(session, messages: list[OutboxMessage]) -> None:
    cfg = appraisal_delivery.config_from(current_app.config)
    for message in messages:
        appraisal_delivery.deliver(session, int(message.payload["delivery_id"]), cfg)


def appraisal_cron() -> dict:
    """Lapse report-ins past their expiry, start the runs the districts' schedules call for."""
    with uow.unit_of_work() as session:
        expired = report_in_service.expire_due(session)
        runs = appraisal.scheduled_runs(session)
    result = {"report_ins_expired": expired, "runs_started": [r.id for r in runs]}
    log.info("appraisal cron", extra={"fields": result})
    return result
