"""Money as money: amounts for people by the currency's ISO 4217 exponent; ISO-checked codes."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from generated_check import drift
from hypothesis import given
from hypothesis import strategies as st

import parcelfsm
from parcelfsm.cli import cli
from parcelfsm.codes import is_country, minor_exponent
from parcelfsm.errors import ValidationError
from parcelfsm.iso_codes import CURRENCY_EXPONENTS
from parcelfsm.money_format import format_money
from parcelfsm.testing import DEFAULTS, Scenario


def babel_format_money(minor: int, currency: str) -> str:
    """How Babel writes the amount in English (the reference `format_money` must equal)."""
    from babel.numbers import format_decimal, get_currency_symbol

    exponent = minor_exponent(currency)
    value = Decimal(minor).scaleb(-exponent)
    pattern = "0" + ("." + "0" * exponent if exponent else "")
    number = format_decimal(value, format=pattern, locale="en", decimal_quantization=True)
    sign, number = ("-", number[1:]) if number.startswith("-") else ("", number)
    symbol = get_currency_symbol(currency, locale="en")
    if symbol != currency and len(symbol) == 1:
        return f"{sign}{symbol}{number}"
    return f"{sign}{number} {currency}"


@pytest.mark.parametrize(
    ("minor", "currency", "text"),
    [
        (4000, "EUR", "€40.00"),
        (4000, "JPY", "¥4000"),
        (40000, "BHD", "40.000 BHD"),
        (2599, "USD", "$25.99"),
        (2599, "RUB", "25.99 RUB"),
        (5, "GBP", "£0.05"),
        (0, "EUR", "€0.00"),
        (-150, "USD", "-$1.50"),
    ],
)
def test_amounts_read_like_money(minor: int, currency: str, text: str) -> None:
    """Minor units become the amount a person writes, with the currency's decimals."""
    assert format_money(minor, currency) == text


@given(
    minor=st.integers(min_value=-(2**63), max_value=2**63),
    currency=st.sampled_from(sorted(CURRENCY_EXPONENTS)),
)
def test_amounts_are_written_exactly_as_babel_writes_them_in_english(minor: int, currency: str) -> None:
    """Every currency parcelfsm accepts, any amount up to 64 bits: Babel's text, symbol and
    sign placement included (the symbols are a table generated from Babel)."""
    assert format_money(minor, currency) == babel_format_money(minor, currency)


@pytest.mark.parametrize("currency", sorted(CURRENCY_EXPONENTS))
def test_every_currency_reads_like_babel_at_the_edges(currency: str) -> None:
    """Zero, one minor unit, a unit and a minus for each currency, as Babel writes them."""
    for minor in (0, 1, -1, 10 ** minor_exponent(currency), -(10**6) - 7):
        assert format_money(minor, currency) == babel_format_money(minor, currency)


def test_an_amount_beyond_decimal_precision_keeps_every_digit() -> None:
    """A 40-digit amount is written digit for digit (no rounding at 28 significant digits)."""
    minor = 10**40 + 7
    assert format_money(minor, "USD") == "$" + str(minor)[:-2] + ".07"
    assert format_money(-minor, "BHD") == "-" + str(minor)[:-3] + ".007 BHD"


def test_an_unknown_code_is_written_as_minor_units_and_code() -> None:
    """Data imported from elsewhere may hold a code that is not a currency: no error."""
    assert format_money(4000, "XXY") == "4000 XXY (minor units)"


def test_the_currency_symbol_table_has_not_drifted_from_babel() -> None:
    """Regenerate with `python scripts/gen_currency_symbols.py` when this fails."""
    assert drift("gen_currency_symbols.py") == ""


def test_formatting_money_does_not_load_babel() -> None:
    """Printing an amount uses the generated table: Babel (and its locale data) stays unloaded."""
    code = (
        "import sys; from parcelfsm.money_format import format_money;"
        "assert format_money(2599, 'USD') == '$25.99';"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'babel'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("currency", "exponent"), [("EUR", 2), ("JPY", 0), ("BHD", 3), ("CLF", 4), ("KRW", 0)]
)
def test_the_minor_unit_exponent_comes_from_iso_4217(currency: str, exponent: int) -> None:
    """EUR has 2 decimals, JPY and KRW none, BHD 3, CLF 4 (ISO 4217's minor units)."""
    assert minor_exponent(currency) == exponent


@given(
    minor=st.integers(min_value=0, max_value=2**53 - 1),
    currency=st.sampled_from(["EUR", "JPY", "BHD", "RUB"]),
)
def test_formatting_keeps_every_minor_unit(minor: int, currency: str) -> None:
    """The digits shown are exactly the amount: no rounding, no grouping, the exponent's decimals."""
    text = format_money(minor, currency)
    number = "".join(c for c in text if c.isdigit() or c == ".")
    exponent = minor_exponent(currency)
    assert Decimal(number) * (10**exponent) == minor
    assert ("." in number) == (exponent > 0) and "," not in text


@pytest.mark.parametrize(
    ("field", "value"),
    [("currency", "XXY"), ("currency", "XAU"), ("currency", "usd"), ("destination_country", "ZZ")],
)
def test_codes_outside_iso_are_rejected_and_nothing_is_written(field: str, value: str) -> None:
    """`XXY` (not ISO 4217), `XAU` (no minor unit), `ZZ` (not ISO 3166-1): ValidationError, no write."""
    with parcelfsm.open(":memory:") as orders:
        with pytest.raises(ValidationError) as info:
            orders.record("o-1", "order.placed", {**DEFAULTS["order.placed"], field: value})
        assert info.value.message.startswith(f"{field}:")
        assert orders.store.count_events() == 0


def test_real_codes_are_accepted() -> None:
    """EUR to DE, JPY to JP and BHD to BH are all placed."""
    assert is_country("DE") and not is_country("ZZ")
    with parcelfsm.open(":memory:") as orders:
        for n, (currency, country) in enumerate([("EUR", "DE"), ("JPY", "JP"), ("BHD", "BH")]):
            data = {**DEFAULTS["order.placed"], "currency": currency, "destination_country": country}
            orders.record(f"o-{n}", "order.placed", data)
        assert orders.store.count_events() == 3


def _refunded_eur_order() -> Scenario:
    scenario = Scenario()
    scenario.given(
        (
            "order.placed",
            {"amount": 4000, "currency": "EUR", "shipping_cost": 500, "destination_country": "DE"},
        ),
        "order.shipped",
        ("dispute.opened", {"amount": 4000}),
        "dispute.seller_accepted",
    )
    return scenario


def test_advice_names_the_refund_as_money() -> None:
    """ "The refund of €40.00 is on its way", not "4000 EUR"."""
    advice = [a.text for a in _refunded_eur_order().view().advice]
    assert any(text.startswith("The refund of €40.00 is on its way") for text in advice), advice
    assert not any("4000" in text for text in advice)


def test_show_prints_money_for_people_and_json_keeps_minor_units(tmp_path: Path) -> None:
    """Human `show` says "refunded to buyer €40.00"; `--json` keeps the integer 4000."""
    db = tmp_path / "m.db"
    scenario = _refunded_eur_order()
    lines = "".join(json.dumps(e.to_json()) + "\n" for e in scenario.orders.export_events())
    (tmp_path / "m.jsonl").write_text(lines, encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(cli, ["--db", str(db), "import", str(tmp_path / "m.jsonl")]).exit_code == 0
    now = ["--db", str(db), "--now", "2026-03-02T10:00:00Z"]
    human = runner.invoke(cli, [*now, "show", "o-1"]).output
    assert "refunded to buyer €40.00" in human and "asked €40.00" in human
    money = json.loads(runner.invoke(cli, [*now, "show", "o-1", "--json"]).output)["money"]
    assert money == {
        "currency": "EUR",
        "paid": 4000,
        "held": 0,
        "released_to_seller": 0,
        "refunded_to_buyer": 4000,
    }
