"""Browser tests: Playwright drives Debian's Chromium (headless) against the app served on loopback.

The app under test is the same `app` fixture (its SQLite copy or the PostgreSQL test database), served by a
threaded Werkzeug server on a free port for the length of one test.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator

import pytest
from werkzeug.serving import make_server

CHROMIUM = os.environ.get("TIMEBANK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
PASSWORD = "browser-pass-1"


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: `make test` installs Debian's chromium; "
                    "set TIMEBANK_CHROMIUM to use another binary.")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def live_server(app) -> Iterator[str]:
    from timebank.uow import sqlite_begin_mode

    # The test thread only sets up data and reads while the browser works: it must not hold SQLite's writer lock.
    mode = sqlite_begin_mode.set("DEFERRED")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = base
    yield base
    server.shutdown()
    thread.join(timeout=5)
    sqlite_begin_mode.reset(mode)


@pytest.fixture
def new_page(browser) -> Iterator[Callable]:
    contexts = []

    def make(viewport: dict = PHONE):
        context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai")
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def login(page, base: str | None, area: str, phone: str, password: str = PASSWORD) -> None:
    """Log in on the area's login page (or on the one the browser was sent to, when `base` is None)."""
    if base is not None:
        page.goto(f"{base}/{area}/login")
    page.fill("#phone", phone)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def assert_accessible(page) -> None:
    """axe-core finds no serious or critical violation on the page as it stands."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in {"serious", "critical"}]
    assert not bad, "\n".join(f"{v['id']} ({v['impact']}): {v['help']} — "
                              f"{[n['target'] for n in v['nodes']][:3]}" for v in bad)


def screenshot(page, name: str) -> None:
    """Keep a screenshot when TIMEBANK_SCREENSHOTS names a folder (for looking at the screens)."""
    folder = os.environ.get("TIMEBANK_SCREENSHOTS")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)
