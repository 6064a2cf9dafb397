"""Every periodic job, declared here: the function, its queue and its interval in seconds.

RQ's cron scheduler registers exactly these at start; a redeploy neither duplicates nor orphans them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import Flask

from timebank.workers import outbox
from timebank.workers.jobs import appraisal, cobuilding, ledger_maintenance, needs, notify, redemption
from timebank.workers.queues import DEFAULT, LEDGER, NOTIFY, REDEMPTIONS, REPORTS


@dataclass(frozen=True)
class Periodic:
    func: Callable
    queue: str
    seconds: int


def periodic_jobs(app: Flask) -> tuple[Periodic, ...]:
    return (
        # The relay's safety net: every due outbox topic gets a drain (after a Redis outage, a lost kick).
        Periodic(outbox.sweep_job, DEFAULT, app.config.get("OUTBOX_SWEEP_SECONDS", 5)),
        Periodic(redemption.retry_webhooks, REDEMPTIONS, 5),
        Periodic(redemption.expire_redemptions, REDEMPTIONS, 30),
        Periodic(ledger_maintenance.seal_job, LEDGER, 30),
        Periodic(ledger_maintenance.release_expired_holds_job, LEDGER, 60),
        Periodic(ledger_maintenance.reconcile_job, LEDGER, 3600),
        Periodic(ledger_maintenance.expire_points_job, LEDGER, 24 * 3600),
        Periodic(appraisal.appraisal_cron, REPORTS, 3600),
        Periodic(notify.retry_notifications, NOTIFY, 10),
        Periodic(notify.remind_starting_tasks, NOTIFY, 300),
        Periodic(notify.warn_expiring_points, NOTIFY, 6 * 3600),
        Periodic(notify.warn_lapsing_report_ins, NOTIFY, 24 * 3600),
        # cobuilding: a unit's report-in lapses like a member's, and its contacts are warned before
        Periodic(cobuilding.lapse_unit_report_ins, REPORTS, 3600),
        Periodic(cobuilding.warn_lapsing_unit_report_ins, NOTIFY, 24 * 3600),
        # needs: overdue needs go up the tree
        Periodic(needs.escalate_overdue_needs, DEFAULT, 15 * 60),
    )
