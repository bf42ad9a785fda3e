"""Amounts for people: integer minor units → "€40.00", "¥4000", "40.000 BHD".

Only human output uses this; JSON keeps integer minor units. The number of decimals
is the currency's ISO 4217 minor-unit exponent (`parcelfsm.codes.minor_exponent`);
a currency with its own one-character symbol in English (€, $, £, ¥ …) is written
symbol-first, any other with its code after the number. No digit grouping, so an
amount reads the same in every shell and log; every minor unit is shown (no rounding,
however large). A code that is not a valid currency (only possible in data imported
from elsewhere) is printed as minor units and code, never an error.

This is Babel's English formatting (`format_decimal` with the pattern `0.00…`,
`get_currency_symbol`) without loading Babel: the symbols are a table generated from
it (`parcelfsm.currency_symbols`), and `tests/test_money_format.py` holds this function
to Babel's output.
"""

from __future__ import annotations

from parcelfsm.codes import minor_exponent
from parcelfsm.currency_symbols import SYMBOLS
from parcelfsm.errors import ValidationError


def format_money(minor: int, currency: str) -> str:
    """`minor` units of `currency` as a person writes them (`format_money(4000, "EUR")` → "€40.00")."""
    try:
        exponent = minor_exponent(currency)
    except ValidationError:
        return f"{minor} {currency} (minor units)"
    sign = "-" if minor < 0 else ""
    digits = str(abs(minor))
    if exponent:
        digits = digits.rjust(exponent + 1, "0")
        number = f"{digits[:-exponent]}.{digits[-exponent:]}"
    else:
        number = digits
    symbol = SYMBOLS.get(currency)
    if symbol is not None:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {currency}"
