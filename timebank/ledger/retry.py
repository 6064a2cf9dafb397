"""Run a unit of work in its own transaction, retrying deadlocks and serialisation failures.

Single ledger calls lock accounts in ascending id order and cannot deadlock with each other, but a caller's
transaction that makes several calls (or mixes in other rows) can; those retry here, so a deadlock never
reaches the caller. Workers, the CLI and the bench use this; API views rely on `@write()` and the client's
retry with the same Idempotency-Key.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

T = TypeVar("T")
RETRYABLE_SQLSTATES = {"40P01", "40001", "55P03"}  # deadlock, serialization failure, lock not available


def is_retryable(exc: BaseException) -> bool:
    if not isinstance(exc, DBAPIError):
        return False
    orig = getattr(exc, "orig", None)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    return isinstance(exc, OperationalError) and "database is locked" in str(orig)


def in_transaction(session: Session, work: Callable[[Session], T], *, attempts: int = 8) -> T:
    """Call `work(session)` and commit; on a retryable error roll back, back off briefly, and try again."""
    for attempt in range(1, attempts + 1):
        try:
            result = work(session)
            session.commit()
            return result
        except DBAPIError as exc:
            session.rollback()
            if attempt == attempts or not is_retryable(exc):
                raise
            time.sleep(random.uniform(0, 0.005 * 2**attempt))
        except BaseException:
            session.rollback()
            raise
    raise AssertionError("unreachable")  # pragma: no cover
