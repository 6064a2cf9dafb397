"""The named queues. Jobs take ids or plain dicts, never ORM objects."""

from __future__ import annotations

from rq import Queue

from timebank.extensions import redis_ext

LEDGER, REDEMPTIONS, REPORTS, NOTIFY, DEFAULT = "ledger", "redemptions", "reports", "notify", "default"
ALL = (LEDGER, REDEMPTIONS, REPORTS, NOTIFY, DEFAULT)


def queue(name: str) -> Queue:
    if name not in ALL:
        raise ValueError(f"unknown queue {name!r}")
    return Queue(name, connection=redis_ext.connection)
