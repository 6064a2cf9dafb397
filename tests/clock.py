"""A movable service clock for tests: every module in `timebank.services.CLOCKED_MODULES` reads it."""

from __future__ import annotations

from datetime import datetime, timedelta

from timebank.db_base import utcnow
from timebank.services import CLOCKED_MODULES


class Clock:
    def __init__(self):
        self.now = utcnow().replace(microsecond=0)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> datetime:
        self.now += timedelta(**kw)
        return self.now

    def set(self, at: datetime) -> datetime:
        self.now = at
        return at


def install_clock(monkeypatch) -> Clock:
    clock = Clock()
    for module in CLOCKED_MODULES:
        monkeypatch.setattr(f"timebank.services.{module}.utcnow", clock)
    return clock
