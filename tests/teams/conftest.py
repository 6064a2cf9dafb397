"""Fixtures for the team tests: the service-hours cast (admins, grid worker, volunteers) and its helpers, and the
browser suite's Chromium, live server and pages."""

from __future__ import annotations

from tests.browser.conftest import browser, live_server, new_page  # noqa: F401 - the browser suite's fixtures
from tests.hours.conftest import attend, hours, iso, publish  # noqa: F401 - the hours cast and helpers, shared
