"""The credit job: drains batches of `credit` outbox rows into the ledger (see `services.credit`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from timebank.hours import credit
from timebank.ops.models import OutboxMessage


def handle_credit(session: Session, messages: list[OutboxMessage]) -> None:
    """Post the whole batch in one ledger call; flushes only (the drain commits and marks rows done)."""
    credit.post(session, [int(m.payload["attendance_id"]) for m in messages])
