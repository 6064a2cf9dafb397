"""Several INSERT / UPDATE statements in one round trip on PostgreSQL.

Recording one decision writes four rows: the decision, the new status of what was decided, its audit entry
and its outbox message. Through the ORM's flush that is four statements, four round trips and the unit of
work's bookkeeping, which on a busy endpoint cost more than the work. On PostgreSQL they travel as one
statement: data-modifying CTEs run exactly once and to completion whether or not the main statement reads
them, and all see the same snapshot (the rows written here do not depend on each other's results). SQLite has
no data-modifying CTEs, so there the statements run one after another in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import Result, Table
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Delete, Insert, Update


def execute_together(session: Session, main: Insert | Update, *others: Insert | Update | Delete) -> Result:
    """Run `others` and then `main` (whose RETURNING, if any, is the result) in one statement on PostgreSQL.

    Use Core statements on tables, not ORM entities, and leave the session with nothing to flush: the ORM does
    not see these rows (set what the caller's objects should show with `set_committed_value`)."""
    if session.get_bind().dialect.name == "postgresql" and others:
        return session.execute(main.add_cte(*(stmt.cte(f"w{n}") for n, stmt in enumerate(others))))
    for stmt in others:
        session.execute(stmt)
    return session.execute(main)


def with_defaults(table: Table, values: dict) -> dict:
    """`values` plus the Python-side column defaults of the columns it leaves out. SQLAlchemy applies those
    defaults to a plain INSERT but not to one rendered as a CTE, so statements for `execute_together` take
    their values through here."""
    out = dict(values)
    for column in table.columns:
        default = column.default
        if column.key in out or default is None or default.is_sequence or default.is_clause_element:
            continue
        out[column.key] = default.arg(None) if default.is_callable else default.arg
    return out
