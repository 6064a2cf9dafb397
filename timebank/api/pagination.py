"""Keyset (cursor) pagination: `?limit=&cursor=`, the next cursor in the body. Stable under inserts."""

from __future__ import annotations

import base64
import json

import marshmallow as ma
from sqlalchemy import Select

from timebank.errors import InvalidInput

MAX_LIMIT = 200


class CursorArgs(ma.Schema):
    class Meta:
        unknown = ma.EXCLUDE

    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=MAX_LIMIT))
    cursor = ma.fields.String(load_default=None)


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    return type(name, (ma.Schema,), {
        "items": ma.fields.List(ma.fields.Nested(item_schema)),
        "next_cursor": ma.fields.String(allow_none=True),
    })


def encode(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode(cursor: str):
    try:
        return json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput("invalid_cursor") from exc


def paginate_by_id(session, stmt: Select, id_column, args: dict, *, descending: bool = False) -> dict:
    """Page over a query ordered by a unique integer id column."""
    limit = args.get("limit") or 50
    cursor = args.get("cursor")
    if cursor:
        last = decode(cursor)
        if not isinstance(last, int):
            raise InvalidInput("invalid_cursor")
        stmt = stmt.where(id_column < last if descending else id_column > last)
    stmt = stmt.order_by(id_column.desc() if descending else id_column).limit(limit + 1)
    rows = list(session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": encode(rows[-1].id) if more and rows else None}
