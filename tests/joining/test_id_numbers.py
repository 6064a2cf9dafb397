"""居民身份证号 checks (GB 11643): format, birth date, check character — one pure function for sign-up and import."""

from __future__ import annotations

from datetime import date

import pytest

from timebank.errors import InvalidInput
from timebank.people import id_numbers

TODAY = date(2026, 12, 1)


def test_a_published_example_passes_and_lower_case_x_is_read_as_upper():
    assert id_numbers.check("11010519491231002X", today=TODAY) == "11010519491231002X"
    assert id_numbers.check(" 11010519491231002x ", today=TODAY) == "11010519491231002X"
    assert id_numbers.check("１１０１０５１９４９１２３１００２Ｘ", today=TODAY) == "11010519491231002X"  # full-width


@pytest.mark.parametrize("text, variant", [
    ("", "format"), ("1101051949123100", "format"), ("11010519491231002Y", "format"), ("01010519491231002X", "format"),
    ("110105194912310021", "check_digit"), ("110105194902300021", "birth_date"), ("110105203001010021", "birth_date"),
    ("110105189912310021", "birth_date"),
])
def test_wrong_numbers_say_what_is_wrong(text, variant):
    with pytest.raises(InvalidInput) as caught:
        id_numbers.check(text, today=TODAY)
    assert caught.value.code == "id_number_invalid" and caught.value.variant == variant
    assert "身份证号" in caught.value.describe()


def test_the_check_character_covers_every_remainder():
    seen = {id_numbers.check_character(f"33010219900307{n:03d}") for n in range(200)}
    assert seen == set("10X98765432")
