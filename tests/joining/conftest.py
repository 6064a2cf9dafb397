"""Fixtures for joining: valid 居民身份证号 made on demand, one-time codes read as the SMS would carry them, and the
service-hours people (for the sign-up → claim → credit scenario)."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from tests.browser.conftest import browser, live_server, new_page  # noqa: F401 - the browser fixtures, shared
from tests.hours.conftest import hours  # noqa: F401 - the fixture, shared
from timebank.notify import codes
from timebank.notify.models import OneTimeCode
from timebank.people.id_numbers import check_character

_seq = itertools.count(1)
_phones = itertools.count(13_700_000_000)


def id_number(born: str = "19900307", area: str = "330102") -> str:
    """A fresh, valid 18-character number (area, birth date, sequence, check character)."""
    first17 = f"{area}{born}{next(_seq) % 1000:03d}"
    return first17 + check_character(first17)


def new_phone() -> str:
    return str(next(_phones))


def code_for(session, phone: str, purpose: str) -> str:
    """Send a code and read it as the SMS would carry it (before the sender job seals it away)."""
    codes.send_code(session, phone, purpose)
    session.commit()
    return session.scalar(select(OneTimeCode).where(OneTimeCode.phone == phone, OneTimeCode.purpose == purpose)
                          .order_by(OneTimeCode.id.desc())).sealed


@pytest.fixture
def sign_up(client, session):
    """`sign_up(community, name=..., id_no=...)` through the API: the response."""

    def go(community, *, name: str = "新志愿者", id_no: str | None = None, phone: str | None = None,
           password: str = "long-enough-1"):
        phone = phone or new_phone()
        code = code_for(session, phone, "signup")
        session.rollback()
        return client.post("/api/signup", json={"phone": phone, "code": code, "name": name,
                                                "id_number": id_no or id_number(), "community_id": community.id,
                                                "password": password})

    return go
