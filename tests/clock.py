"""A movable service clock for tests: installed as the source of `timebank.clock`, which every rule reads."""

from __future__ import annotations

from datetime import datetime, timedelta

from timebank import clock as service_clock
from timebank.db_base import utcnow


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
    monkeypatch.setattr(service_clock, "_source", clock)
    return clock
