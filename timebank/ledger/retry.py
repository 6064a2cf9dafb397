"""Which database errors are worth retrying: deadlocks, serialisation failures, a busy SQLite file.

Single ledger calls lock accounts in ascending id order and cannot deadlock with each other, but a caller's
transaction that makes several calls (or mixes in other rows) can; `timebank.uow.retrying` retries those,
so a deadlock never reaches the caller. API views rely on the client's retry with the same Idempotency-Key.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError

RETRYABLE_SQLSTATES = {"40P01", "40001", "55P03"}  # deadlock, serialization failure, lock not available


def is_retryable(exc: BaseException) -> bool:
    if not isinstance(exc, DBAPIError):
        return False
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(orig)
