"""The credit job: drains batches of `credit` outbox rows into the ledger (see `services.credit`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from timebank.hours import credit
from timebank.ops.models import OutboxMessage
from timebank.workers import registry

# 1,000 attendances = up to 2,000 transfers in one linked ledger call (the ledger's limit is 8,190).
BATCH_SIZE = 1000


@registry.handles("credit", queue="ledger", batch_size=BATCH_SIZE)
def handle_credit(session: Session, messages: list[OutboxMessage]) -> None:
    """Post the whole batch in one ledger call; flushes only (the drain commits and marks rows done)."""
    credit.post(session, [int(m.payload["attendance_id"]) for m in messages])
