"""Fixtures for the appraisal tests: employers and in-service party members built through the services."""

from __future__ import annotations

import itertools

import pytest

from tests.conftest import bearer
from timebank.people import orgs, partners
from timebank.people import persons as people
from timebank.people.access import SYSTEM
from timebank.people.models import Org, PartyMemberStatus, Person, Role

_codes = itertools.count(1)


@pytest.fixture
def make_employer(session, tree):
    def make(name: str = "市交通局", email: str | None = "dangwei@example.test"):
        from timebank.people import credit_code

        body = f"1133{next(_codes):013d}"
        employer = partners.create_employer(
            session, SYSTEM, name=name, credit_code_value=credit_code.make(body), org_id=tree.district.id,
            contact_name="王书记", contact_email=email)
        session.commit()
        return employer

    return make


@pytest.fixture
def make_member(session, make_person, app):
    """An in-service party member living in `home`, working for `employer`: (person, headers)."""

    def make(employer, home: Org, name: str = "张党员", branch=None) -> tuple[Person, dict]:
        person = make_person(name=name, home=home)
        if branch is None:
            branch = orgs.create_branch(session, SYSTEM, name=f"{employer.name}党支部",
                                        org_id=employer.org_id)
        people.register_party_member(session, None, person, status=PartyMemberStatus.in_service,
                                     employer_id=employer.id, branch_id=branch.id)
        session.commit()
        return person, bearer(app, person)

    return make


@pytest.fixture
def employer_contact(session, make_person, app):
    def make(employer) -> tuple[Person, dict]:
        person = make_person(name="单位联络人")
        people.grant(session, None, person, Role.employer_contact, employer_id=employer.id)
        session.commit()
        return person, bearer(app, person)

    return make
