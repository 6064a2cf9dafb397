"""The one CSV writer behind every download (merchant statements, appraisal letters, volunteer statements).

What people get: Chinese headers (the caller's), times in Beijing time to the minute, no JSON in a cell (lists
and mappings are written out as "key：value；…"), UTF-8 with a BOM so spreadsheet programs read the Chinese, CRLF
line ends, and cells that cannot run as formulas: a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage
return is prefixed with `'` (a negative number, or an amount of money as a Decimal, is written as a number, not
text).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal

from timebank.clock import DISPLAY_TZ

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def beijing_minute(value: datetime) -> str:
    """A stored UTC time as people read it: Beijing time, to the minute."""
    if value.tzinfo is None:
        from datetime import UTC

        value = value.replace(tzinfo=UTC)
    return value.astimezone(DISPLAY_TZ).strftime("%Y-%m-%d %H:%M")


def cell(value: object) -> str | int | float:
    """One value as a safe cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):  # money to the cent (3000.00, -1.00): a number, never a formula
        return str(value)
    if isinstance(value, datetime):
        return beijing_minute(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        value = "；".join(f"{k}：{v}" for k, v in value.items())
    elif isinstance(value, list | tuple | set):
        value = "、".join(str(v) for v in value)
    text = str(value)
    if text.startswith(FORMULA_STARTS):
        return "'" + text
    return text


def write(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> bytes:
    """A whole CSV file: the headers, then each row, every cell made safe."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([cell(h) for h in headers])
    for row in rows:
        writer.writerow([cell(v) for v in row])
    return (BOM + buf.getvalue()).encode("utf-8")


def write_sections(first: tuple[Sequence[str], Iterable[Sequence[object]]],
                   sections: Iterable[tuple[str, Sequence[str], Iterable[Sequence[object]]]]) -> bytes:
    """A file of several tables (an appraisal letter's members, then the unit's own sections): the first table
    opens the file with its headers as `write` would; each further one follows a blank line, its title alone on
    a row, then its headers and rows. Every cell is made safe the same way."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    headers, rows = first
    writer.writerow([cell(h) for h in headers])
    writer.writerows([cell(v) for v in row] for row in rows)
    for title, headers, rows in sections:
        writer.writerow([])
        writer.writerow([cell(title)])
        writer.writerow([cell(h) for h in headers])
        writer.writerows([cell(v) for v in row] for row in rows)
    return (BOM + buf.getvalue()).encode("utf-8")
