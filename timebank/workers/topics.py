"""Every outbox topic, declared here: its handler, the queue its drain runs on, and its batch size.

A handler takes (session, messages) and flushes, never commits: the drain commits each batch and marks its
rows done (`timebank.workers.outbox`). The app factory installs the topic -> queue map for the relay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from timebank.appraisal import delivery as appraisal_delivery
from timebank.appraisal import reports as appraisal_reports
from timebank.notify import rules as notify_rules
from timebank.ops import webhooks
from timebank.ops.models import OutboxMessage
from timebank.redemption import reconciliation as merchant_reconciliation
from timebank.workers.jobs import appraisal, credit, notify, redemption
from timebank.workers.queues import LEDGER, NOTIFY, REDEMPTIONS, REPORTS

Handler = Callable[[Session, list[OutboxMessage]], None]


@dataclass(frozen=True)
class Topic:
    name: str
    queue: str
    handler: Handler
    batch_size: int


_DECLARED = (
    # 1,000 attendances = up to 2,000 transfers in one linked ledger call (the ledger's limit is 8,190).
    Topic("credit", LEDGER, credit.handle_credit, 1000),
    # Rendering is sharded so that two workers render at once.
    *(Topic(f"{appraisal_reports.RENDER_TOPIC_PREFIX}{shard}", REPORTS, appraisal.render, 2)
      for shard in range(appraisal_reports.RENDER_SHARDS)),
    Topic(appraisal_delivery.TOPIC, REPORTS, appraisal.deliver, 20),
    Topic(webhooks.TOPIC, REDEMPTIONS, redemption.hand_deliveries_to_rq, 200),
    Topic(merchant_reconciliation.TOPIC, REPORTS, redemption.run_merchant_reconciliations, 5),
    # Each row is one notification's deliveries; the handler hands them to sender jobs in chunks.
    Topic(notify_rules.TOPIC, NOTIFY, notify.hand_to_senders, 500),
)

TOPICS: dict[str, Topic] = {t.name: t for t in _DECLARED}


def queues() -> dict[str, str]:
    """topic -> queue, for the relay (`timebank.ops.outbox.install_queues`)."""
    return {t.name: t.queue for t in _DECLARED}
