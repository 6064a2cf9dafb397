"""Walk every page the demo logins reach, as `make run` leaves the site: log in as each demo person, follow every
same-site link (GET), and fail on a 5xx, a raw JSON page, or an English-only sentence shown to a person."""

from __future__ import annotations

import re
from collections import deque
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

from timebank.demo import DEMO_PASSWORD

# Where each demo person works (the area their login belongs to).
DEMO_AREAS = {
    "13800000001": "console", "13800000002": "console", "13800000003": "console", "13800000004": "console",
    "13800000005": "console", "13800000006": "console", "13800000007": "merchant", "13800000008": "merchant",
    "13800000009": "employer", "13900000000": "app", "13900000011": "app",
}
MAX_PAGES = 250
SKIP = ("/logout", "/sw.js", "/manifest.webmanifest")
# Two or more words with lowercase letters: "Connection refused", "ends_at must be after". Codes (ABCD-EFGH),
# numbers, single words (PDF, CSV) and addresses are not sentences.
WORD = re.compile(r"[A-Za-z_]*[a-z][A-Za-z_]*")
NOT_WORDS = re.compile(r"\S+@\S+|https?://\S+|/[\w/.\-?=&%]+")


def english_sentence(text: str) -> bool:
    text = text.strip()
    if not text or not text.isascii():
        return False
    return len([w for w in WORD.findall(NOT_WORDS.sub(" ", text)) if len(w) >= 2]) >= 2


class _Page(HTMLParser):
    """The text a person reads (text, placeholders, labels for assistive technology) and the links."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.links: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        for name in ("placeholder", "title", "aria-label", "alt", "data-confirm"):
            if attrs.get(name):
                self.texts.append(attrs[name])
        if tag in ("input", "button") and attrs.get("type") in ("submit", "button") and attrs.get("value"):
            self.texts.append(attrs["value"])

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip and data.strip():
            self.texts.append(data)


def _csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def _login(client, area: str, phone: str) -> None:
    page = client.get(f"/{area}/login")
    resp = client.post(f"/{area}/login", data={"csrf_token": _csrf(page.get_data(as_text=True)), "phone": phone,
                                               "password": DEMO_PASSWORD})
    assert resp.status_code == 302, f"{phone} could not log in to /{area}"


def walk(client, start: str) -> tuple[list[str], list[str]]:
    """Every page reachable from `start` by same-site links: (pages seen, problems)."""
    seen, problems, queue = set(), [], deque([start])
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        resp = client.get(url)
        where = f"{url} ({resp.status_code})"
        if resp.status_code >= 500:
            problems.append(f"{where}: server error")
            continue
        if resp.status_code in (301, 302, 303):
            target = urlsplit(urljoin(url, resp.headers["Location"]))
            queue.append(target.path + (f"?{target.query}" if target.query else ""))
            continue
        if resp.mimetype in ("application/json", "application/problem+json"):
            problems.append(f"{where}: raw JSON page")
            continue
        if resp.mimetype != "text/html":
            continue  # downloads (PDF, CSV) and assets: not pages
        page = _Page()
        page.feed(resp.get_data(as_text=True))
        problems += [f"{where}: English text {t.strip()!r}" for t in page.texts if english_sentence(t)]
        for href in page.links:
            parts = urlsplit(urljoin(url, href))
            if parts.netloc not in ("", "localhost") or parts.scheme not in ("", "http"):
                continue
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if parts.path.startswith(("/static/", "/api/")) or parts.path.endswith(SKIP):
                continue
            if path not in seen:
                queue.append(path)
    return sorted(seen), problems


def test_the_sentence_check_catches_what_the_issue_found():
    for text in ("ends_at must be after starts_at.", "The task would end in the past.",
                 "ConnectionRefusedError: [Errno 111] Connection refused", "person:11 claim.create claim 31"):
        assert english_sentence(text), text
    for text in ("PDF", "ABCD-EFGH-JKMN-PQRS", "party1@example.org", "2026-01-01 09:00", "1380****0001",
                 "下载 CSV", "a3f9c0d2e1"):
        assert not english_sentence(text), text


def test_anonymous_visitors_see_only_chinese_pages(client, demo_district):
    pages, problems = walk(client, "/")
    assert {"/", "/verify", "/app", "/console", "/merchant", "/employer"} <= {p.split("?")[0].rstrip("/") or "/"
                                                                              for p in pages}
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("phone", sorted(DEMO_AREAS))
def test_every_page_a_demo_login_reaches_is_chinese_and_sound(app, demo_district, phone):
    client = app.test_client()
    area = DEMO_AREAS[phone]
    _login(client, area, phone)
    pages, problems = walk(client, f"/{area}")
    assert len(pages) >= 3
    print(phone, len(pages), "pages")
    assert not problems, "\n".join(problems)
