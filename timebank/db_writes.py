"""Several INSERT / UPDATE statements in one round trip on PostgreSQL, built once per process.

Recording one decision writes four rows: the decision, the new status of what was decided, its audit entry
and its outbox message. Through the ORM's flush that is four statements, four round trips and the unit of
work's bookkeeping, which on a busy endpoint cost more than the work. On PostgreSQL they travel as one
statement: data-modifying CTEs run exactly once and to completion whether or not the main statement reads
them, and all see the same snapshot (the rows written here do not depend on each other's results). SQLite has
no data-modifying CTEs, so there the statements run one after another in the same transaction.

The statements are built once, with a bound parameter per column (`row_params`), and cached by the caller:
building a statement and computing its cache key cost more than executing it.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from sqlalchemy import Result, Table, bindparam, insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Delete, Insert, Update


@functools.cache
def insert_row(table: Table, prefix: str) -> Insert:
    """INSERT of one row into `table` with a bound parameter `<prefix>_<column>` for every column but `id`."""
    return insert(table).values({c.key: bindparam(f"{prefix}_{c.key}", type_=c.type)
                                 for c in table.columns if c.key != "id"})


def row_params(table: Table, prefix: str, values: dict) -> dict:
    """The parameters of `insert_row(table, prefix)` for `values`: the Python-side column defaults fill what
    `values` leaves out (SQLAlchemy applies them to a plain INSERT, not to bound parameters), NULL the rest."""
    out = {}
    for column in table.columns:
        if column.key == "id":
            continue
        if column.key in values:
            value = values[column.key]
        elif column.default is not None and not (column.default.is_sequence or column.default.is_clause_element):
            value = column.default.arg(None) if column.default.is_callable else column.default.arg
        else:
            value = None
        out[f"{prefix}_{column.key}"] = value
    return out


def combine(dialect_name: str, main: Insert | Update, *others: Insert | Update | Delete) -> Sequence:
    """The statements to run for `others` then `main`: one statement on PostgreSQL, else each in turn."""
    if dialect_name == "postgresql" and others:
        return (main.add_cte(*(stmt.cte(f"w{n}") for n, stmt in enumerate(others))),)
    return (*others, main)


def execute_combined(session: Session, statements: Sequence, params: dict) -> Result:
    """Run `combine`'s statements on the session's connection; the result is the main statement's."""
    conn = session.connection()
    for stmt in statements[:-1]:
        conn.execute(stmt, params)
    return conn.execute(statements[-1], params)
