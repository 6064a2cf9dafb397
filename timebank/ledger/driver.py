"""The ledger's write statements, one set per database, run straight through the database driver.

Posting takes the same steps on PostgreSQL and SQLite (post.py): (1) one statement reads the accounts (on
PostgreSQL it locks the limited ones, FOR NO KEY UPDATE in ascending id order; SQLite's writer lock is taken
at BEGIN IMMEDIATE) and, for a single transfer, probes its idempotency key; (2) the limits are checked in
Python; (3) one statement inserts the journal rows, fed as one JSON parameter, RETURNING (id, key); (4) the
deltas, another JSON parameter, are added to the cached balances of the limited accounts. PostgreSQL does
(3) and (4) in one statement (a data-modifying CTE); SQLite runs (4) as a second statement, only when (3)
inserted something. Only the SQL text (and how a list of ids or a timestamp is spelled as a parameter)
differs: `statements(session)` picks the set once per database.

Why straight through the driver: SQLAlchemy's per-statement result set-up costs more CPU than PostgreSQL
spends on these statements. Errors are wrapped as SQLAlchemy would (IntegrityError, OperationalError...),
so callers and `retry` see the usual exceptions.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from timebank.ledger.models import Transfer

_COLUMNS = ("key, ledger, debit_account_id, credit_account_id, amount, code, phase, pending_id, corrects_id, "
            "timeout_at, meta, created_at, row_hash")
_ACCOUNT = "id, ledger, flags, debits_posted, credits_posted, debits_pending, credits_pending"


@dataclass(frozen=True)
class Statements:
    """One database's SQL for the ledger's hot paths, and how its parameters are spelled.

    Rows of `lock`/`lock_probe`: (id, ledger, flags, the four balances; zeros for unlimited accounts); the key
    probe rides along as a row (transfer id, NULL, -1, 0, 0, 0, 0) (no account has negative flags).
    `insert_one` (ON CONFLICT DO NOTHING) and `insert_many` return (id, key) per row written;
    `update_balances` is None where the insert statement updates the balances itself."""

    lock: str
    lock_probe: str
    insert_one: str
    insert_many: str
    update_balances: str | None
    any_key: str
    balance: str
    ids: Callable[[list[int]], str]
    stamp: Callable[[datetime], Any]
    stamp_text: Callable[[datetime | None], str | None]


def _pg_array(ids: list[int]) -> str:
    """An array literal of integers (cheaper than adapting a list element by element)."""
    return "{" + ",".join(str(int(i)) for i in ids) + "}"


def _json_array(ids: list[int]) -> str:
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


# ------------------------------------------------------------------------------------------- PostgreSQL
# Rows and balance deltas travel as one JSON parameter each: building and parsing one JSON text is several
# times cheaper than adapting a dozen Python lists to arrays, and keeps a 1,000-row batch one statement.
_PG_LOCK = (
    f"WITH locked AS (SELECT {_ACCOUNT} "
    "FROM ledger_account WHERE id = ANY(%(ids)s::bigint[]) AND (flags & 3) <> 0 ORDER BY id FOR NO KEY UPDATE) "
    f"SELECT {_ACCOUNT} FROM locked "
    "UNION ALL SELECT id, ledger, flags, 0, 0, 0, 0 FROM ledger_account "
    "WHERE id = ANY(%(ids)s::bigint[]) AND (flags & 3) = 0"
)
_PG_INSERT = (
    f"WITH ins AS (INSERT INTO ledger_transfer ({_COLUMNS}) "
    "SELECT k, l, d, c, a, co, ph, pe, cr, ti, mt::json, %(created_at)s, h "
    "FROM json_to_recordset(%(rows)s::json) AS r(k text, l text, d bigint, c bigint, a bigint, co smallint, "
    "ph text, pe bigint, cr bigint, ti timestamptz, mt text, h text) "
    "{on_conflict} RETURNING id, key), "
    "upd AS (UPDATE ledger_account AS acc SET debits_posted = acc.debits_posted + v.dp, "
    "credits_posted = acc.credits_posted + v.cp, debits_pending = acc.debits_pending + v.dq, "
    "credits_pending = acc.credits_pending + v.cq "
    "FROM json_to_recordset(%(deltas)s::json) AS v(i bigint, dp bigint, cp bigint, dq bigint, cq bigint) "
    # The ids again as an array, so the planner finds the accounts by primary key whatever their number.
    "WHERE acc.id = ANY(%(u_ids)s::bigint[]) AND acc.id = v.i AND EXISTS (SELECT 1 FROM ins)) "
    "SELECT id, key FROM ins"
)

POSTGRESQL = Statements(
    lock=_PG_LOCK,
    lock_probe=_PG_LOCK + " UNION ALL SELECT id, NULL, -1, 0, 0, 0, 0 FROM ledger_transfer WHERE key = %(key)s",
    insert_one=_PG_INSERT.format(on_conflict="ON CONFLICT DO NOTHING"),
    insert_many=_PG_INSERT.format(on_conflict=""),
    update_balances=None,
    any_key="SELECT 1 FROM ledger_transfer WHERE key IN (SELECT json_array_elements_text(%(keys)s::json)) LIMIT 1",
    balance="SELECT flags, debits_posted, credits_posted, debits_pending, credits_pending FROM ledger_account "
            "WHERE id = %(id)s",
    ids=_pg_array,
    stamp=lambda value: value,
    stamp_text=lambda value: None if value is None else value.isoformat(),
)


# ----------------------------------------------------------------------------------------------- SQLite
# RETURNING needs SQLite 3.35, UPDATE ... FROM 3.33; json_each/json_extract are built in since 3.38 (and in
# most earlier builds). `WHERE true` keeps the parser from reading ON CONFLICT as a join's ON.
_SQLITE_LOCK = f"SELECT {_ACCOUNT} FROM ledger_account WHERE id IN (SELECT value FROM json_each(:ids))"
_SQLITE_INSERT = (
    f"INSERT INTO ledger_transfer ({_COLUMNS}) "
    "SELECT json_extract(value, '$.k'), json_extract(value, '$.l'), json_extract(value, '$.d'), "
    "json_extract(value, '$.c'), json_extract(value, '$.a'), json_extract(value, '$.co'), "
    "json_extract(value, '$.ph'), json_extract(value, '$.pe'), json_extract(value, '$.cr'), "
    "json_extract(value, '$.ti'), json_extract(value, '$.mt'), :created_at, json_extract(value, '$.h') "
    "FROM json_each(:rows) WHERE true {on_conflict} RETURNING id, key"
)
_SQLITE_MIN = (3, 35, 0)


def _sqlite_stamp(dialect: Dialect) -> Callable[[datetime | None], str | None]:
    """A timestamp as the ORM stores it in SQLite (the column type's own bind processing)."""
    column_type = Transfer.__table__.c.created_at.type
    process = column_type.dialect_impl(dialect).bind_processor(dialect)
    return lambda value: None if value is None else process(value)


def _sqlite(dialect: Dialect) -> Statements:
    if sqlite3.sqlite_version_info < _SQLITE_MIN:
        raise RuntimeError(f"the ledger needs SQLite >= 3.35 (RETURNING); this is {sqlite3.sqlite_version}")
    stamp = _sqlite_stamp(dialect)
    return Statements(
        lock=_SQLITE_LOCK + " ORDER BY id",
        lock_probe=_SQLITE_LOCK + " UNION ALL SELECT id, NULL, -1, 0, 0, 0, 0 FROM ledger_transfer WHERE key = :key "
                                  "ORDER BY 1",
        insert_one=_SQLITE_INSERT.format(on_conflict="ON CONFLICT DO NOTHING"),
        insert_many=_SQLITE_INSERT.format(on_conflict=""),
        update_balances=(
            "UPDATE ledger_account SET debits_posted = debits_posted + json_extract(v.value, '$.dp'), "
            "credits_posted = credits_posted + json_extract(v.value, '$.cp'), "
            "debits_pending = debits_pending + json_extract(v.value, '$.dq'), "
            "credits_pending = credits_pending + json_extract(v.value, '$.cq') "
            "FROM json_each(:deltas) AS v WHERE ledger_account.id = json_extract(v.value, '$.i')"),
        any_key="SELECT 1 FROM ledger_transfer WHERE key IN (SELECT value FROM json_each(:keys)) LIMIT 1",
        balance="SELECT flags, debits_posted, credits_posted, debits_pending, credits_pending FROM ledger_account "
                "WHERE id = :id",
        ids=_json_array,
        stamp=stamp,
        stamp_text=stamp,
    )


_BY_DIALECT: dict[str, Statements] = {"postgresql": POSTGRESQL}


def statements(session: Session) -> Statements:
    """The statement set of the session's database (built once per database kind)."""
    dialect = session.get_bind().dialect
    found = _BY_DIALECT.get(dialect.name)
    if found is None:
        if dialect.name != "sqlite":
            raise RuntimeError(f"the ledger has no statements for {dialect.name}")
        found = _BY_DIALECT[dialect.name] = _sqlite(dialect)
    return found


def run(session: Session, sql: str, params: dict) -> list[tuple]:
    """Run one statement on the session's connection (its transaction) straight through the driver."""
    conn = session.connection()
    raw = conn.connection.driver_connection
    try:
        cur = raw.execute(sql, params)
        return cur.fetchall() if cur.description is not None else []
    except raw.Error as exc:
        closed = bool(getattr(raw, "closed", False))  # psycopg only: the connection died
        if closed:  # do not hand it back to the pool
            conn.invalidate(exc)
        raise sa_exc.DBAPIError.instance(sql, params, exc, raw.Error, dialect=conn.dialect,
                                         connection_invalidated=closed) from exc


def is_check_violation(exc: sa_exc.IntegrityError) -> bool:
    """Did a CHECK constraint refuse the statement (the cached balances' limits)?"""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "23514":
        return True
    return isinstance(orig, sqlite3.IntegrityError) and "CHECK constraint failed" in str(orig)
