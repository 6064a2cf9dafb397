"""Appraisal jobs: render reports (sharded topics, so two workers render at once), deliver them, and the
hourly cron that lapses report-ins and starts scheduled runs."""

from __future__ import annotations

import logging

from flask import current_app

from timebank.appraisal import delivery as appraisal_delivery
from timebank.appraisal import report_in as report_in_service
from timebank.appraisal import reports as appraisal
from timebank.ops.models import OutboxMessage
from timebank.workers import registry
from timebank.workers.queues import REPORTS
from timebank.workers.runner import every

log = logging.getLogger("timebank.jobs.appraisal")


def _render(session, messages: list[OutboxMessage]) -> None:
    base_url = current_app.config["PUBLIC_BASE_URL"]
    for message in messages:
        appraisal.process_report(session, int(message.payload["report_id"]), base_url=base_url)


for _shard in range(appraisal.RENDER_SHARDS):
    registry.handles(f"appraisal.render.{_shard}", queue=REPORTS, batch_size=2)(_render)


@registry.handles(appraisal_delivery.TOPIC, queue=REPORTS, batch_size=20)
def deliver(session, messages: list[OutboxMessage]) -> None:
    cfg = appraisal_delivery.config_from(current_app.config)
    for message in messages:
        appraisal_delivery.deliver(session, int(message.payload["delivery_id"]), cfg)


@every(3600, REPORTS)
def appraisal_cron() -> dict:
    """Lapse report-ins past their expiry, start the runs the districts' schedules call for."""
    from timebank.extensions import db, redis_ext
    from timebank.ops import outbox as outbox_service
    from timebank.workers.outbox import kick_quietly

    try:
        expired = report_in_service.expire_due(db.session)
        runs = appraisal.scheduled_runs(db.session)
        db.session.commit()
        kick_quietly(lambda: redis_ext.connection, outbox_service.touched_topics(db.session))
        result = {"report_ins_expired": expired, "runs_started": [r.id for r in runs]}
        log.info("appraisal cron", extra={"fields": result})
        return result
    finally:
        db.session.rollback()
