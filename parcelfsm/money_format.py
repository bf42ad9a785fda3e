"""Amounts for people: integer minor units → "€40.00", "¥4000", "40.000 BHD" (Babel).

Only human output uses this; JSON keeps integer minor units. The number of decimals
is the currency's ISO 4217 minor-unit exponent (`parcelfsm.codes.minor_exponent`);
a currency with its own symbol in English (€, $, £, ¥) is written symbol-first,
any other with its code after the number. No digit grouping, so an amount reads the
same in every shell and log. A code that is not a valid currency (only possible in
data imported from elsewhere) is printed as minor units and code, never an error.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_decimal, get_currency_symbol

from parcelfsm.codes import minor_exponent
from parcelfsm.errors import ValidationError

LOCALE = "en"


def format_money(minor: int, currency: str) -> str:
    """`minor` units of `currency` as a person writes them (`format_money(4000, "EUR")` → "€40.00")."""
    try:
        exponent = minor_exponent(currency)
    except ValidationError:
        return f"{minor} {currency} (minor units)"
    value = Decimal(minor).scaleb(-exponent)
    pattern = "0" + ("." + "0" * exponent if exponent else "")
    number = format_decimal(value, format=pattern, locale=LOCALE, decimal_quantization=True)
    if number.startswith("-"):
        sign, number = "-", number[1:]
    else:
        sign = ""
    symbol = get_currency_symbol(currency, locale=LOCALE)
    if symbol != currency and len(symbol) == 1:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {currency}"
