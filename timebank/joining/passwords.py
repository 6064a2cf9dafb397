"""Password reset by one-time code (找回密码): for a person who forgot theirs, and for people imported in bulk,
who have none until they set one this way. Every session of the person ends.

Like sign-up, a wrong code counts a try even though it fails: the rule hands the refusal back for the translator
to raise after committing."""

from __future__ import annotations

from sqlalchemy.orm import Session

from timebank.errors import InvalidInput, TimebankError
from timebank.notify import codes
from timebank.ops import audit
from timebank.people import persons as people
from timebank.people.access import Actor
from timebank.people.models import Person

RESET = "reset_password"  # the one-time code's purpose


def reset_password(session: Session, *, phone: str, code: str, new_password: str
                   ) -> tuple[Person | None, TimebankError | None]:
    """(the person, None) with the new password set, or (None, the refusal) for a wrong code. An unknown or
    inactive phone reads exactly like a wrong code, so the answer tells nobody who is registered."""
    phone = people.normalise_phone(phone)
    if not people.is_mobile(phone):
        raise InvalidInput("phone_invalid")
    if not people.MIN_PASSWORD_LENGTH <= len(new_password or "") <= 200:
        raise InvalidInput("password_length", min_length=people.MIN_PASSWORD_LENGTH)
    check = codes.check_code(session, phone, RESET, code)
    if not check.ok:
        return None, check.refusal
    person = people.by_phone(session, phone)
    if person is None:
        return None, InvalidInput("code_invalid", tries_left=0)
    people.set_new_password(session, person, new_password)
    audit.record(session, Actor(kind="person", id=person.id), "person.password_reset", "person", person.id,
                 org_path=person.home_org.path if person.home_org else None)
    return person, None
