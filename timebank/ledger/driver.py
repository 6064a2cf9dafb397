"""Statements run straight through the database driver, for the ledger's hot paths on PostgreSQL."""

from __future__ import annotations

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session


def pg_exec(session: Session, sql: str, params: dict) -> list[tuple]:
    """Run one statement on the session's connection (its transaction) straight through the driver.

    SQLAlchemy's per-statement result set-up costs more CPU than PostgreSQL spends on these statements;
    errors are wrapped as SQLAlchemy would (IntegrityError, OperationalError...), so callers and
    `retry` see the usual exceptions.
    """
    conn = session.connection()
    raw = conn.connection.driver_connection
    try:
        cur = raw.execute(sql, params)
        return cur.fetchall() if cur.description is not None else []
    except raw.Error as exc:
        if raw.closed:  # the connection died: do not hand it back to the pool
            conn.invalidate(exc)
        raise sa_exc.DBAPIError.instance(sql, params, exc, raw.Error, dialect=conn.dialect,
                                         connection_invalidated=raw.closed) from exc


def on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"
