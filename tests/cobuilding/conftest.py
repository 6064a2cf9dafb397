"""Fixtures for the co-building tests: a unit registered in the district, its party secretary (the unit's
contact), and a unit report-in body as the form or a client sends it — all built through the services."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest

from tests.conftest import bearer
from timebank.clock import local_today
from timebank.people import credit_code, partners
from timebank.people import persons as people
from timebank.people.access import SYSTEM
from timebank.people.models import Role

_codes = itertools.count(1)


@pytest.fixture
def make_unit(session, tree):
    def make(name: str = "市交通运输局", email: str | None = None):
        unit = partners.create_employer(
            session, SYSTEM, name=name, credit_code_value=credit_code.make(f"1155{next(_codes):013d}"),
            org_id=tree.district.id, contact_name="王书记", contact_email=email)
        session.commit()
        return unit

    return make


@pytest.fixture
def unit_contact(session, make_person, app):
    """A party secretary holding `employer_contact` on the given units: (person, headers)."""

    def make(*units, name: str = "单位党委书记", password: str | None = None):
        person = make_person(name=name, password=password)
        for unit in units:
            people.grant(session, None, person, Role.employer_contact, employer_id=unit.id)
        session.commit()
        return person, bearer(app, person)

    return make


def report_in_body(community_id: int, **extra) -> dict:
    today = local_today()
    body = {
        "community_id": community_id,
        "party_org_name": "市交通运输局机关党委",
        "contact_name": "王书记",
        "contact_phone": "13912345678",
        "resources": [
            {"kind": "venue", "description": "三楼党员活动室，可容纳40人", "quantity": 80, "unit": "平方米"},
            {"kind": "volunteers", "description": "青年志愿服务队每月一次", "quantity": 12, "unit": "人"},
        ],
        "agreement": {"title": "党建共建协议", "terms": "每季度联合开展一次志愿服务；开放活动室。",
                      "starts_on": (today - timedelta(days=30)).isoformat(),
                      "ends_on": (today + timedelta(days=700)).isoformat(),
                      "signed_on": (today - timedelta(days=30)).isoformat()},
    }
    body.update(extra)
    return body
