"""After a login, `next` leads only to a path on this site: no open redirect, no header injection."""

from __future__ import annotations

import re

import pytest

from tests.pages import shop as data

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def volunteer(session, tree):
    person = data.person(session, "陈静", "13900000041", tree.grid_a)
    session.commit()
    return person


def _login(client, query: str):
    token = CSRF.search(client.get("/app/login").get_data(as_text=True)).group(1)
    return client.post(f"/app/login?{query}", data={"csrf_token": token, "phone": "13900000041",
                                                  "password": data.PASSWORD})


@pytest.mark.parametrize("query", [
    "next=/%09/attacker.example",       # a tab: browsers drop it and read //attacker.example
    "next=/%0a/attacker.example",       # a newline, likewise
    "next=/%5Cattacker.example",        # a backslash: browsers read /\\ as //
    "next=//attacker.example",
    "next=https://attacker.example/",
    "next=/app%0d%0aSet-Cookie:%20x=1",  # CR/LF: header injection
])
def test_next_never_leaves_the_site(client, volunteer, query):
    resp = _login(client, query)
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location == "/app/", location
    assert "\r" not in location and "\n" not in location


def test_next_keeps_a_path_on_the_site(client, volunteer):
    resp = _login(client, "next=/app/hours%3Fyear%3D2026")
    assert resp.status_code == 302 and resp.headers["Location"] == "/app/hours?year=2026"
