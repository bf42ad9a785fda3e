"""The ISO code tables parcelfsm ships equal what pycountry and iso4217 say."""

from __future__ import annotations

import pytest
from generated_check import drift

from parcelfsm.codes import is_country, minor_exponent
from parcelfsm.errors import ValidationError


def test_the_generated_tables_have_not_drifted_from_the_iso_packages() -> None:
    """Regenerate with `python scripts/gen_iso_codes.py` when this fails."""
    assert drift("gen_iso_codes.py") == ""


@pytest.mark.parametrize(("currency", "exponent"), [("EUR", 2), ("JPY", 0), ("BHD", 3), ("CLF", 4)])
def test_minor_exponents_come_from_iso_4217(currency: str, exponent: int) -> None:
    """Exponents are ISO 4217's, including the rare 0, 3 and 4."""
    assert minor_exponent(currency) == exponent


@pytest.mark.parametrize("currency", ["XXY", "XAU", "XXX", "eur", "", 978])
def test_a_code_that_is_not_a_money_currency_is_refused(currency: object) -> None:
    """Unknown codes, codes without a minor unit and non-strings are ValidationError."""
    with pytest.raises(ValidationError):
        minor_exponent(currency)  # type: ignore[arg-type]


def test_countries_are_iso_3166_alpha_2() -> None:
    """`US`, `RU`, `BR` are countries; `ZZ`, `us` and `USA` are not."""
    assert all(is_country(c) for c in ("US", "RU", "BR"))
    assert not any(is_country(c) for c in ("ZZ", "us", "USA"))
