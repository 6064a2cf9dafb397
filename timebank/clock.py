"""The one clock: every rule reads the time through `utcnow()`, so tests and the demo can move it.

Times are stored in UTC; people read them in `DISPLAY_TZ` (Beijing time), formatted by `local()`.
"""

from __future__ import annotations

import calendar
import contextlib
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from timebank.config import DISPLAY_TIMEZONE

DISPLAY_TZ = ZoneInfo(DISPLAY_TIMEZONE)


def _system_now() -> datetime:
    return datetime.now(UTC)


_source: Callable[[], datetime] = _system_now


def utcnow() -> datetime:
    """Now, as an aware UTC datetime, from the installed source (the system clock unless moved)."""
    return _source()


def install(source: Callable[[], datetime] | None) -> None:
    """Read the time from `source` from now on (None: the system clock again)."""
    global _source
    _source = source or _system_now


@contextlib.contextmanager
def frozen_at(at: datetime) -> Iterator[None]:
    """Run a block as if it were `at` (the demo builds its past history this way)."""
    saved = _source
    install(lambda: at)
    try:
        yield
    finally:
        install(saved)


def local(moment: datetime | None) -> datetime | None:
    """A stored UTC time as Beijing time (naive values from SQLite are UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(DISPLAY_TZ)


def local_today(now: datetime | None = None) -> date:
    """Today in Beijing: report-ins are dated, renewed and lapse by the local calendar."""
    return (now or utcnow()).astimezone(DISPLAY_TZ).date()


def add_months(day: date, months: int) -> date:
    """`day` moved by whole months, kept within the month (31 January + 1 month = 28 or 29 February)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def utc_bounds(starts_on: date, ends_on: date) -> tuple[datetime, datetime]:
    """Local (Beijing) days `starts_on`..`ends_on` inclusive, as a half-open UTC interval."""
    start = datetime.combine(starts_on, time.min, DISPLAY_TZ).astimezone(UTC)
    end = datetime.combine(ends_on + timedelta(days=1), time.min, DISPLAY_TZ).astimezone(UTC)
    return start, end
