"""Fixtures for the team tests: the service-hours cast (admins, grid worker, volunteers) and its helpers."""

from __future__ import annotations

from tests.hours.conftest import attend, hours, iso, publish  # noqa: F401 - the hours cast and helpers, shared
