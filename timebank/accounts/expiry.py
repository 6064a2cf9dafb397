"""A community's points-expiry policy (`points_expiry_months` in its settings; None = points never expire).

The ledger computes lots and posts expiries (`timebank.ledger.expiry`); which months apply to whom is the
community's rule, and lives here.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from timebank.errors import InvalidInput
from timebank.people import orgs
from timebank.people.models import Person


def policy_for_person(session: Session, person_id: int) -> tuple[int | None, int | None]:
    """(expiry months, community id) for a volunteer, from the community policy of their home org."""
    person = session.get(Person, person_id)
    if person is None or person.home_org is None:
        return None, None
    try:
        community = orgs.community_of(session, person.home_org)
    except InvalidInput:
        return None, None
    months = orgs.setting(session, community, "points_expiry_months", None)
    return (int(months) if months else None), community.id
