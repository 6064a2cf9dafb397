"""The unit of work: the one place a transaction ends. Business rules flush and never commit; the API, the
pages, the jobs and the CLI end their work here — commit once, roll back on any error, then hand the outbox
topics the transaction gave work to the relay. The idempotency store (first responses replayed for a repeated
key) lives here too, because a stored response is only as good as the commit it was written in.
"""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from timebank.extensions import db, redis_ext
from timebank.ledger.retry import is_retryable
from timebank.ops import outbox
from timebank.ops.models import IdempotentResponse

T = TypeVar("T")

# SQLite only: how this context's transactions begin. IMMEDIATE takes the writer lock at BEGIN, so two writers
# queue (busy_timeout) instead of failing on a lock upgrade; DEFERRED lets a pure read run beside a writer (WAL).
sqlite_begin_mode: ContextVar[str] = ContextVar("sqlite_begin_mode", default="IMMEDIATE")


def writes(view: Callable) -> Callable:
    """Mark a view that writes although its method is GET (an audited read, a download): on SQLite its
    transaction takes the writer lock at BEGIN, so it never has to upgrade a read snapshot, which SQLite
    refuses at once ("database is locked") when another writer committed meanwhile."""
    view.writes = True
    return view


def view_writes(view: Callable | None, method: str) -> bool:
    """Whether the view serving this request writes: any method but GET/HEAD, or a view marked `writes`
    (the API's `@write()` marks its methods)."""
    if method not in ("GET", "HEAD"):
        return True
    if view is None:
        return False
    view_class = getattr(view, "view_class", None)
    target = getattr(view_class, method.lower(), None) if view_class is not None else view
    return bool(getattr(target, "writes", False))


def database_unavailable(error: DBAPIError) -> bool:
    """A failure the client may retry (503 + Retry-After), not a bug: the server is down, restarting or refusing
    connections, a connection was lost, or the transaction lost a deadlock or a busy-file race. Any other
    database error that reaches a translator is the code's fault (500)."""
    return error.connection_invalidated or isinstance(error, OperationalError | InterfaceError) or is_retryable(error)


def commit(session: Session | None = None) -> None:
    """Commit, then kick the topics this transaction gave work to (a Redis outage only delays them)."""
    session = session or db.session
    session.commit()
    outbox.kick_quietly(lambda: redis_ext.connection, outbox.touched_topics(session))


def rollback(session: Session | None = None) -> None:
    session = session or db.session
    session.rollback()
    outbox.touched_topics(session)  # promises of a rolled-back transaction are void


def abandon(session: Session | None = None) -> None:
    """After a database error: the transaction is gone either way, leave the session usable. With the server
    down the rollback itself can fail; closing returns the dead connection to the pool, which discards it."""
    session = session or db.session
    try:
        rollback(session)
    except DBAPIError:
        session.close()


@contextlib.contextmanager
def unit_of_work(session: Session | None = None) -> Iterator[Session]:
    """`with unit_of_work() as session:` — commits when the block ends, rolls back if it raises."""
    session = session or db.session
    try:
        yield session
    except BaseException:
        rollback(session)
        raise
    commit(session)


def run(work: Callable[[], T], session: Session | None = None) -> T:
    """Run `work` as one unit of work and return its result."""
    with unit_of_work(session):
        return work()


def retrying(session: Session, work: Callable[[Session], T], *, attempts: int = 8) -> T:
    """`work(session)` as one unit of work; a deadlock or serialisation failure rolls back, backs off briefly
    and tries again (workers, the CLI and the benches, which have no client to retry for them)."""
    for attempt in range(1, attempts + 1):
        try:
            result = work(session)
            commit(session)
            return result
        except DBAPIError as exc:
            rollback(session)
            if attempt == attempts or not is_retryable(exc):
                raise
            time.sleep(random.uniform(0, 0.005 * 2**attempt))
        except BaseException:
            rollback(session)
            raise
    raise AssertionError("unreachable")  # pragma: no cover


# --- the idempotency store -------------------------------------------------------------------------------------


def stored_response(session: Session, actor_label: str, key: str) -> IdempotentResponse | None:
    """The response first given to this actor for this key, if any."""
    return session.scalar(select(IdempotentResponse).where(
        IdempotentResponse.actor == actor_label, IdempotentResponse.key == key))


def store_response(session: Session, actor_label: str, key: str, *, request_hash: str, status_code: int,
                   body: str) -> None:
    """Keep a response for replay; the UNIQUE (actor, key) makes a concurrent twin fail at commit."""
    session.add(IdempotentResponse(actor=actor_label, key=key, request_hash=request_hash,
                                   status_code=status_code, body=body))
