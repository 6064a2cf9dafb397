"""Fixtures for the team tests: the service-hours cast (admins, grid worker, volunteers) plus a team helper."""

from __future__ import annotations

from tests.hours.conftest import attend, hours, iso, publish  # noqa: F401 - the hours cast and helpers, shared
