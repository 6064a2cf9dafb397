"""Fixtures for joining: sign-up through the API, and the
service-hours people (for the sign-up → claim → credit scenario). Data helpers are in `people_data`."""

from __future__ import annotations

import pytest

from tests.hours.conftest import hours  # noqa: F401 - the fixture, shared
from tests.joining.people_data import code_for, id_number, new_phone


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
