"""Fixtures for needs' deadlines, escalation and micro-wishes: the service-hours people, a street admin, a unit
with its contact, and a district deadline policy."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest
from sqlalchemy import select

from tests.conftest import bearer
from tests.hours.conftest import People, hours  # noqa: F401 - the service-hours people, reused
from timebank.people import credit_code, partners
from timebank.people import persons as people
from timebank.people.access import SYSTEM
from timebank.people.models import Role, RoleGrant

POLICY = {"金色助老": {"respond_hours": 4, "fulfil_days": 2}, "*": {"respond_hours": 24, "fulfil_days": 7}}
_codes = itertools.count(1)


@dataclass
class Needs:
    people: People
    street_admin: dict
    street_admin_id: int
    district_admin: dict
    admin_a_id: int


@pytest.fixture
def world(app, session, hours, make_person) -> Needs:  # noqa: F811 - the fixture imported above
    settings = dict(hours.tree.district.settings)
    settings["need_deadlines"] = POLICY
    hours.tree.district.settings = settings
    session.commit()
    street = make_person("街道管理员", hours.tree.street, roles=((Role.street_admin, hours.tree.street),))
    district = make_person("区管理员", hours.tree.district, roles=((Role.district_admin, hours.tree.district),))
    admin_a_id = session.scalar(select(RoleGrant.person_id).where(
        RoleGrant.role == Role.community_admin, RoleGrant.org_id == hours.tree.community_a.id))
    return Needs(hours, bearer(app, street), street.id, bearer(app, district), admin_a_id)


@pytest.fixture
def make_unit(session, tree, make_person, app):
    """A unit (工作单位) registered by the district, with one contact: (employer, contact person, headers)."""

    def make(name: str = "市交通局"):
        employer = partners.create_employer(
            session, SYSTEM, name=name, credit_code_value=credit_code.make(f"1144{next(_codes):013d}"),
            org_id=tree.district.id, contact_name="王书记", contact_email=None)
        session.commit()
        contact = make_person(name=f"{name}联络人")
        people.grant(session, None, contact, Role.employer_contact, employer_id=employer.id)
        session.commit()
        return employer, contact, bearer(app, contact)

    return make
