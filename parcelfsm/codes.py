"""ISO codes: countries (ISO 3166-1 alpha-2) and currencies (ISO 4217).

A currency is valid when ISO 4217 lists it *with* a minor unit (so `XAU`, `XXX` and
other codes without one are refused: an amount in minor units would mean nothing).
Both tables are in `parcelfsm.iso_codes`, generated from pycountry and iso4217 by
`scripts/gen_iso_codes.py` and drift-tested, so no command pays for loading those
packages. See docs/rules.md ("Money").
"""

from __future__ import annotations

from parcelfsm.errors import ValidationError, quote
from parcelfsm.iso_codes import COUNTRIES, CURRENCY_EXPONENTS


def minor_exponent(currency: str) -> int:
    """Digits after the decimal point of `currency` per ISO 4217 (EUR 2, JPY 0, BHD 3).

    Raises:
        ValidationError: not a current ISO 4217 code with a minor unit.
    """
    if not isinstance(currency, str):
        raise ValidationError(f"currency: {quote(currency)} is not an ISO 4217 currency code")
    exponent = CURRENCY_EXPONENTS.get(currency)
    if exponent is None:
        raise ValidationError(
            f"currency: {quote(currency)} is not an ISO 4217 currency code with a minor unit"
        )
    return exponent


def is_country(code: str) -> bool:
    """True for an ISO 3166-1 alpha-2 code of a current country (`US`, `RU`, `BR`)."""
    return isinstance(code, str) and code in COUNTRIES


def check_country(code: str, field: str = "destination_country") -> None:
    """Raise `ValidationError` naming `field` unless `code` is an ISO 3166-1 alpha-2 country."""
    if not is_country(code):
        raise ValidationError(f"{field}: {code!r} is not an ISO 3166-1 alpha-2 country code")


def check_currency(code: str, field: str = "currency") -> None:
    """Raise `ValidationError` naming `field` unless `code` is an ISO 4217 money currency."""
    try:
        minor_exponent(code)
    except ValidationError as exc:
        raise ValidationError(exc.message.replace("currency:", f"{field}:", 1)) from None
