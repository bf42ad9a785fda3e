"""ISO codes: countries (ISO 3166-1 alpha-2, via pycountry) and currencies (ISO 4217).

A currency is valid when ISO 4217 lists it *with* a minor unit (so `XAU`, `XXX` and
other codes without one are refused: an amount in minor units would mean nothing).
The minor-unit exponent comes from the ISO 4217 table shipped by the `iso4217`
package; pycountry confirms the code is current. See docs/rules.md ("Money").
"""

from __future__ import annotations

import functools

from parcelfsm.errors import ValidationError


@functools.cache
def minor_exponent(currency: str) -> int:
    """Digits after the decimal point of `currency` per ISO 4217 (EUR 2, JPY 0, BHD 3).

    Raises:
        ValidationError: not a current ISO 4217 code with a minor unit.
    """
    import iso4217
    import pycountry

    if not isinstance(currency, str) or pycountry.currencies.get(alpha_3=currency) is None:
        raise ValidationError(f"currency: {currency!r} is not an ISO 4217 currency code")
    try:
        exponent = iso4217.Currency(currency).exponent
    except ValueError:
        exponent = None
    if exponent is None:
        raise ValidationError(f"currency: {currency} has no minor unit in ISO 4217 (not a money currency)")
    return int(exponent)


@functools.cache
def is_country(code: str) -> bool:
    """True for an ISO 3166-1 alpha-2 code of a current country (`US`, `RU`, `BR`)."""
    import pycountry

    return isinstance(code, str) and len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None


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
