"""Data for the joining tests: valid 居民身份证号 made on demand, fresh phones, one-time codes read as the SMS would
carry them. A plain module (not a conftest) so the browser tests can use it too."""

from __future__ import annotations

import itertools

from sqlalchemy import select

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
