"""居民身份证号 (GB 11643-1999): 18 characters — a 6-digit area code, the birth date as YYYYMMDD, a 3-digit
sequence and a check character computed from the first 17 (ISO 7064 MOD 11-2, `X` for 10).

A pure function, shared by self-registration and bulk import so both refuse the same numbers with the same words.
Only the keyed hash of a number is ever stored (`security.id_number_hash`); the number itself is only checked.
"""

from __future__ import annotations

import unicodedata
from datetime import date

from timebank.errors import InvalidInput

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
EARLIEST_BIRTH = date(1900, 1, 1)


def normalise(text: str | None) -> str:
    """As people type it: full-width digits, spaces, a lower-case x — as the 18 characters we check and hash."""
    return unicodedata.normalize("NFKC", text or "").replace(" ", "").strip().upper()


def check_character(first17: str) -> str:
    """The 18th character for these 17 digits."""
    return _CHECK[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def problem(number: str, *, today: date) -> str | None:
    """What is wrong with a normalised number — "format", "birth_date" or "check_digit" — or None."""
    if len(number) != 18 or not number[:17].isascii() or not number[:17].isdigit() or number[17] not in _CHECK:
        return "format"
    if number[0] == "0":
        return "format"
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return "birth_date"
    if not EARLIEST_BIRTH <= born <= today:
        return "birth_date"
    if check_character(number[:17]) != number[17]:
        return "check_digit"
    return None


def check(text: str | None, *, today: date) -> str:
    """The normalised number, or `InvalidInput("id_number_invalid", variant=...)` saying what is wrong."""
    number = normalise(text)
    wrong = problem(number, today=today)
    if wrong == "format":
        raise InvalidInput("id_number_invalid", variant="format")
    if wrong == "birth_date":
        raise InvalidInput("id_number_invalid", variant="birth_date")
    if wrong == "check_digit":
        raise InvalidInput("id_number_invalid", variant="check_digit")
    return number
