"""Units under the service: time, clocks, policy, money, event validation, canonical JSON."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from freezegun import freeze_time
from hypothesis import given
from hypothesis import strategies as st

from parcelfsm import ManualClock, Policy, SystemClock
from parcelfsm.canonical import canonical_json
from parcelfsm.clock import format_time, parse_time
from parcelfsm.errors import ValidationError
from parcelfsm.events import TIMED_TYPES, from_data
from parcelfsm.money import Escrow, refund_for

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=UTC)

# --- parse_time / format_time ------------------------------------------------------------


def test_parse_time_accepts_z_suffix_as_utc():
    """`2026-03-01T10:00:00Z` is 10:00 UTC, timezone-aware."""
    value = parse_time("2026-03-01T10:00:00Z")
    assert value == T0
    assert value.utcoffset() == dt.timedelta(0)


def test_parse_time_converts_an_offset_to_utc():
    """An explicit offset is honoured and the result is normalised to UTC."""
    value = parse_time("2026-03-01T12:30:00+02:30")
    assert value == T0
    assert value.tzinfo == UTC


def test_parse_time_reads_a_bare_date_as_midnight_utc():
    """A date `YYYY-MM-DD` means 00:00Z that day (docs/cli.md `--now`)."""
    assert parse_time("2026-03-01") == dt.datetime(2026, 3, 1, tzinfo=UTC)


def test_parse_time_rejects_a_naive_time_naming_the_field():
    """A time without a zone is a ValidationError that names the field."""
    with pytest.raises(ValidationError, match="at"):
        parse_time("2026-03-01T10:00:00", "at")


@pytest.mark.parametrize("text", ["yesterday", "", "2026-13-01", "2026-03-01T25:00:00Z", "10:00Z"])
def test_parse_time_rejects_garbage(text):
    """Text that is not an ISO 8601 time is a ValidationError naming the field."""
    with pytest.raises(ValidationError, match="now"):
        parse_time(text, "now")


def test_format_time_writes_utc_with_z_and_no_microseconds_when_whole():
    """Whole seconds print as `…:SSZ`, in UTC whatever the input zone."""
    plus_two = dt.timezone(dt.timedelta(hours=2))
    assert format_time(dt.datetime(2026, 3, 1, 12, 0, tzinfo=plus_two)) == "2026-03-01T10:00:00Z"


def test_format_time_keeps_microseconds_when_present():
    """Sub-second instants keep their microseconds."""
    assert format_time(T0.replace(microsecond=5)) == "2026-03-01T10:00:00.000005Z"


def test_format_time_round_trips_through_parse_time():
    """`parse_time(format_time(t)) == t`."""
    value = dt.datetime(2031, 7, 4, 12, 34, 56, 789000, tzinfo=UTC)
    assert parse_time(format_time(value)) == value


# --- clocks ------------------------------------------------------------------------------


def test_manual_clock_stands_still_until_moved():
    """`now()` returns the start instant until `advance` or `set`."""
    clock = ManualClock("2026-03-01T10:00:00Z")
    assert clock.now() == T0
    assert clock.now() == T0


def test_manual_clock_advance_moves_forwards_by_the_span():
    """`advance(days=…, hours=…, …)` adds the span and returns the new instant."""
    clock = ManualClock(T0)
    new = clock.advance(days=1, hours=2, minutes=3, seconds=4)
    assert new == T0 + dt.timedelta(days=1, hours=2, minutes=3, seconds=4)
    assert clock.now() == new


def test_manual_clock_refuses_a_negative_advance():
    """Going backwards is `set`'s job; a negative span is a ValidationError."""
    clock = ManualClock(T0)
    with pytest.raises(ValidationError):
        clock.advance(seconds=-1)
    assert clock.now() == T0


def test_manual_clock_set_jumps_either_way_and_parses_strings():
    """`set` accepts a datetime or an ISO string, forwards or backwards."""
    clock = ManualClock(T0)
    clock.set("2026-04-01T00:00:00+01:00")
    assert clock.now() == dt.datetime(2026, 3, 31, 23, 0, tzinfo=UTC)
    clock.set(T0 - dt.timedelta(days=3))
    assert clock.now() == T0 - dt.timedelta(days=3)


def test_manual_clock_rejects_a_naive_start():
    """A naive datetime is a ValidationError, never silently taken as local time."""
    with pytest.raises(ValidationError):
        ManualClock(dt.datetime(2026, 3, 1, 10, 0))


def test_system_clock_is_frozen_by_freezegun():
    """`SystemClock` reads the wall clock at each call, so freezegun controls it."""
    clock = SystemClock()
    with freeze_time("2026-03-01T10:00:00Z") as frozen:
        assert clock.now() == T0
        assert clock.now().utcoffset() == dt.timedelta(0)
        frozen.tick(dt.timedelta(hours=5))
        assert clock.now() == T0 + dt.timedelta(hours=5)
        frozen.move_to("2027-01-01T00:00:00Z")
        assert clock.now() == dt.datetime(2027, 1, 1, tzinfo=UTC)


# --- policy ------------------------------------------------------------------------------

DOMAIN_DEFAULTS = {
    "order.processing_days_default": 7,
    "order.processing_days_max": 8,
    "protection.days_default": 60,
    "protection.reminder_days": 5,
    "dispute.window_days": 15,
    "parcel.first_info_days": 10,
    "parcel.no_news_days": 15,
    "parcel.silent_lost_days": 30,
    "parcel.untracked_lost_days": 90,
    "parcel.customs_stall_days": 5,
    "parcel.pickup_days": 30,
    "dispute.seller_response_days": 5,
    "dispute.mediation_after_days": 15,
    "dispute.mediation_overdue_days": 7,
    "dispute.customs_document_days": 7,
    "dispute.reopen_days": 15,
    "refund.overdue_days": 15,
}


@pytest.mark.parametrize(("key", "days"), sorted(DOMAIN_DEFAULTS.items()))
def test_default_policy_has_the_domain_value(key, days):
    """Each docs/rules.md policy key defaults to the docs/rules.md figure."""
    policy = Policy.default()
    assert policy.days(key) == days
    assert policy.rule(key) == f"{key}={days}"


@pytest.mark.parametrize(
    ("country", "days", "rule"),
    [
        ("US", 60, "protection.days_default=60"),
        ("DE", 60, "protection.days_default=60"),
        ("RU", 90, "protection.days_by_country.RU=90"),
        ("BR", 120, "protection.days_by_country.BR=120"),
    ],
)
def test_default_protection_days_by_country(country, days, rule):
    """Protection is 60 days, 90 for RU, 120 for BR, each with the rule that gave it."""
    assert Policy.default().protection_days(country) == (days, rule)


def test_default_policy_dict_has_every_contract_key():
    """`to_dict` uses exactly the docs/rules.md keys (plus `version`)."""
    data = Policy.default().to_dict()
    assert set(data) == {*DOMAIN_DEFAULTS, "protection.days_by_country", "customs.duty_paid_by", "version"}
    assert data["protection.days_by_country"] == {"BR": 120, "RU": 90}


def test_policy_from_dict_accepts_flat_and_nested_keys_alike():
    """`{"dispute.window_days": 20}` and `{"dispute": {"window_days": 20}}` are the same policy."""
    flat = Policy.from_dict({"dispute.window_days": 20, "protection.days_by_country": {"RU": 100}})
    nested = Policy.from_dict(
        {"dispute": {"window_days": 20}, "protection": {"days_by_country": {"RU": 100}}}
    )
    assert flat == nested
    assert flat.days("dispute.window_days") == 20
    assert flat.protection_days("RU") == (100, "protection.days_by_country.RU=100")
    assert flat.days("dispute.reopen_days") == 15


def test_policy_round_trips_through_its_dict():
    """`from_dict(p.to_dict()) == p` (the form stored in `order.placed`)."""
    custom = Policy.from_dict({"parcel.pickup_days": 21, "version": "shop-2"})
    assert Policy.from_dict(custom.to_dict()) == custom
    assert Policy.from_dict(Policy.default().to_dict()) == Policy.default()


@pytest.mark.parametrize("data", [{"dispute.window_dayz": 3}, {"dispute": {"windows": 3}}, {"colour": "red"}])
def test_policy_unknown_key_is_a_validation_error_naming_it(data):
    """A key outside docs/rules.md is refused, and the message names it."""
    with pytest.raises(ValidationError) as info:
        Policy.from_dict(data)
    name = next(iter(data))
    assert name in str(info.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("dispute.window_days", "15"),
        ("dispute.window_days", 15.0),
        ("dispute.window_days", True),
        ("dispute.window_days", -1),
        ("dispute.window_days", None),
        ("parcel.pickup_days", 0),
        ("refund.overdue_days", 100000),
    ],
)
def test_policy_bad_value_is_a_validation_error_naming_the_key(key, value):
    """A value that is not whole days in range is refused, naming the key."""
    with pytest.raises(ValidationError, match=key.replace(".", r"\.")):
        Policy.from_dict({key: value})


@pytest.mark.parametrize("table", [{"ru": 90}, {"RUS": 90}, {"RU": 0}, {"RU": "90"}, [["RU", 90]]])
def test_policy_bad_country_table_is_a_validation_error(table):
    """The per-country table needs ISO alpha-2 codes and whole days ≥ 1."""
    with pytest.raises(ValidationError, match=r"protection\.days_by_country"):
        Policy.from_dict({"protection.days_by_country": table})


def test_policy_default_processing_days_may_not_exceed_the_maximum():
    """`order.processing_days_default` above `order.processing_days_max` is refused."""
    with pytest.raises(ValidationError, match="processing_days"):
        Policy.from_dict({"order.processing_days_default": 9})


def test_overriding_policy_without_version_gets_a_stable_custom_version():
    """Overrides without `version` are named `custom-<hash>`: equal overrides, equal names."""
    a = Policy.from_dict({"dispute.window_days": 20})
    b = Policy.from_dict({"dispute": {"window_days": 20}})
    c = Policy.from_dict({"dispute.window_days": 21})
    assert a.version.startswith("custom-")
    assert a.version == b.version
    assert c.version.startswith("custom-")
    assert c.version != a.version


def test_policy_with_explicit_version_or_no_change_keeps_its_name():
    """An explicit `version` is kept; an empty override is the default policy itself."""
    assert Policy.from_dict({"dispute.window_days": 20, "version": "shop-7"}).version == "shop-7"
    assert Policy.from_dict({}) == Policy.default()
    assert Policy.from_dict({}).version == Policy.default().version


def test_policy_from_file_reads_json(tmp_path):
    """`from_file` reads a JSON policy file with dotted or nested keys."""
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"parcel": {"pickup_days": 21}, "version": "shop-3"}), encoding="utf-8")
    policy = Policy.from_file(path)
    assert policy.days("parcel.pickup_days") == 21
    assert policy.version == "shop-3"
    assert Policy.from_file(str(path)) == policy


@pytest.mark.parametrize("content", [None, "{not json", '{"nope": 1}', "[1, 2]"])
def test_policy_from_bad_file_is_a_validation_error(tmp_path, content):
    """A missing, malformed or ill-keyed policy file is a ValidationError."""
    path = tmp_path / "policy.json"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ValidationError):
        Policy.from_file(path)


# --- money -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("asked", "amount", "item_value", "shipping", "expected"),
    [
        (2599, 2599, 2599, 0, 2599),  # no coupon: the refund is the amount asked
        (1000, 2599, 2599, 0, 1000),
        (2599, 2599, 2599, 300, 2299),  # minus shipping
        (2599, 2099, 2599, 0, 2099),  # coupon share deducted: full value → what was paid
        (1000, 2099, 2599, 0, 807),  # floor(1000 × 2099 / 2599) = floor(807.6…)
        (2599, 2099, 2599, 300, 1856),  # floor(2299 × 2099 / 2599) = floor(1856.7…)
        (200, 2599, 2599, 300, 0),  # never below 0
        (0, 2599, 2599, 0, 0),
    ],
)
def test_refund_formula(asked, amount, item_value, shipping, expected):
    """refund = max(0, floor((A − s) × amount / item_value)) (docs/rules.md)."""
    assert refund_for(asked, amount=amount, item_value=item_value, shipping=shipping) == expected


@given(
    amount=st.integers(1, 10**7),
    coupon=st.integers(0, 10**6),
    data=st.data(),
)
def test_refund_never_negative_and_never_more_than_paid(amount, coupon, data):
    """For any A ≤ item value and any shipping, 0 ≤ refund ≤ paid."""
    item_value = amount + coupon
    asked = data.draw(st.integers(1, item_value))
    shipping = data.draw(st.integers(0, amount))
    refund = refund_for(asked, amount=amount, item_value=item_value, shipping=shipping)
    assert 0 <= refund <= amount
    if coupon == 0 and shipping == 0:
        assert refund == asked


def _parts(e: Escrow) -> int:
    return e.held + e.released_to_seller + e.refunded_to_buyer


def test_escrow_placed_holds_everything():
    """On placement all of `paid` is held."""
    e = Escrow.placed("USD", 2599)
    assert (e.paid, e.held, e.released_to_seller, e.refunded_to_buyer) == (2599, 2599, 0, 0)
    e.check()


def test_escrow_refund_all_returns_what_is_held():
    """Cancellation refunds everything held; the invariant holds."""
    e = Escrow.placed("USD", 2599).refund_all()
    assert (e.held, e.released_to_seller, e.refunded_to_buyer) == (0, 0, 2599)
    assert _parts(e) == e.paid
    e.check()


def test_escrow_release_all_pays_the_seller():
    """Completion releases everything held to the seller; the invariant holds."""
    e = Escrow.placed("USD", 2599).release_all()
    assert (e.held, e.released_to_seller, e.refunded_to_buyer) == (0, 2599, 0)
    e.check()


def test_escrow_settle_splits_between_buyer_and_seller():
    """A resolution refunds the refund and releases the rest."""
    e = Escrow.placed("USD", 2599).settle(2299)
    assert (e.held, e.released_to_seller, e.refunded_to_buyer) == (0, 300, 2299)
    e.check()


def test_escrow_settle_after_release_claws_back_from_the_seller():
    """A dispute on a finished order takes the refund back from `released_to_seller`."""
    e = Escrow.placed("USD", 2599).release_all().settle(1000)
    assert (e.held, e.released_to_seller, e.refunded_to_buyer) == (0, 1599, 1000)
    e.check()


def test_escrow_check_catches_a_broken_invariant():
    """`check` raises when paid ≠ held + released + refunded, or a part is negative."""
    with pytest.raises(AssertionError):
        Escrow("USD", 2599, 2599, refunded_to_buyer=1).check()
    with pytest.raises(AssertionError):
        Escrow("USD", 100, 200, released_to_seller=-100).check()


def test_escrow_to_json_has_the_show_money_keys():
    """`to_json` is the `money` object of `show --json`."""
    assert Escrow.placed("EUR", 10).to_json() == {
        "currency": "EUR",
        "paid": 10,
        "held": 10,
        "released_to_seller": 0,
        "refunded_to_buyer": 0,
    }


# --- event validation --------------------------------------------------------------------

PLACED = {"amount": 2599, "currency": "USD", "shipping_cost": 300, "destination_country": "US"}
OPENED = {
    "solution": "refund_only",
    "goods_received": False,
    "reason": "protection_expiring",
    "amount": 2599,
    "description": "The parcel has not arrived.",
}


def test_valid_command_data_builds_the_event_with_defaults():
    """Required fields given, optional ones take their defaults."""
    event = from_data("order.placed", PLACED)
    data = event.to_data()
    assert data["amount"] == 2599
    assert data["coupon_discount"] == 0
    assert data["tracked"] is True
    assert "processing_days" not in data


def test_unknown_field_is_a_validation_error_naming_it():
    """A field the type does not have is refused by name."""
    with pytest.raises(ValidationError, match="colour"):
        from_data("order.placed", {**PLACED, "colour": "red"})


@pytest.mark.parametrize("field", ["amount", "currency", "shipping_cost", "destination_country"])
def test_missing_required_field_is_a_validation_error_naming_it(field):
    """Each bold field of docs/events.md is required."""
    data = {k: v for k, v in PLACED.items() if k != field}
    with pytest.raises(ValidationError, match=field):
        from_data("order.placed", data)


@pytest.mark.parametrize(
    ("type_name", "base", "field", "value"),
    [
        ("order.placed", PLACED, "amount", "2599"),
        ("order.placed", PLACED, "amount", 25.99),
        ("order.placed", PLACED, "amount", True),
        ("order.placed", PLACED, "processing_days", False),
        ("order.placed", PLACED, "tracked", 1),
        ("order.placed", PLACED, "currency", 840),
        ("order.placed", PLACED, "amount", None),
        ("protection.extended", {"by": "buyer"}, "days", True),
        ("dispute.opened", OPENED, "goods_received", "no"),
        ("dispute.opened", OPENED, "evidence", "photo.jpg"),
        ("dispute.opened", OPENED, "evidence", [1, 2]),
    ],
)
def test_wrong_type_is_a_validation_error_naming_the_field(type_name, base, field, value):
    """Types are strict: a bool is not an int, a string is not a number, lists hold strings."""
    with pytest.raises(ValidationError, match=field):
        from_data(type_name, {**base, field: value})


@pytest.mark.parametrize(
    ("type_name", "base", "field", "value"),
    [
        ("order.cancelled", {}, "by", "platform"),
        ("protection.extended", {"days": 3}, "by", "carrier"),
        ("dispute.opened", OPENED, "solution", "replacement"),
        ("dispute.opened", OPENED, "reason", "changed_my_mind"),
        ("parcel.scanned", {}, "status", "teleported"),
        ("dispute.decided", {}, "fault", "carrier"),
    ],
)
def test_value_outside_a_closed_vocabulary_is_a_validation_error(type_name, base, field, value):
    """Literal fields accept only the documented values."""
    with pytest.raises(ValidationError, match=field):
        from_data(type_name, {**base, field: value})


@pytest.mark.parametrize(
    ("type_name", "data", "field"),
    [
        ("order.placed", {**PLACED, "amount": 0}, "amount"),
        ("order.placed", {**PLACED, "processing_days": 0}, "processing_days"),
        ("order.placed", {**PLACED, "currency": "usd"}, "currency"),
        ("order.placed", {**PLACED, "destination_country": "USA"}, "destination_country"),
        ("order.placed", {**PLACED, "shipping_cost": 3000}, "shipping_cost"),
        ("protection.extended", {"days": 0, "by": "buyer"}, "days"),
        ("dispute.opened", {**OPENED, "amount": 0}, "amount"),
    ],
)
def test_value_out_of_range_is_a_validation_error_naming_the_field(type_name, data, field):
    """Minimums, patterns and cross-field rules are checked and named."""
    with pytest.raises(ValidationError, match=field):
        from_data(type_name, data)


@pytest.mark.parametrize(
    ("description", "char", "position"),
    [
        ("Parcel №123 never came", "№", 7),
        ("Посылка не пришла", "П", 0),
        ("It arrived broken 😞", "😞", 18),
        ("Plain ASCII until here: é", "é", 24),
    ],
)
def test_dispute_description_outside_printable_ascii_is_rejected_with_char_and_position(
    description, char, position
):
    """docs/rules.md: plain English only; the message names the character and where it is."""
    with pytest.raises(ValidationError) as info:
        from_data("dispute.opened", {**OPENED, "description": description})
    message = str(info.value)
    assert "description" in message
    assert char in message
    assert f"position {position}" in message


def test_dispute_description_in_plain_ascii_with_newlines_is_accepted():
    """Printable ASCII, tabs and newlines pass."""
    event = from_data("dispute.opened", {**OPENED, "description": "Line one.\nLine two:\t#42 (ok)!"})
    assert event.to_data()["description"].startswith("Line one.")


@pytest.mark.parametrize("type_name", TIMED_TYPES)
def test_timed_event_types_are_not_accepted_from_callers(type_name):
    """Timed events are appended by the library only (docs/events.md)."""
    with pytest.raises(ValidationError, match="type"):
        from_data(type_name, {"deadline": "ship_by", "rule": "x"})


def test_timed_types_are_the_contract_ones():
    """The timed types are exactly the "on expiry" events of docs/events.md."""
    assert set(TIMED_TYPES) == {
        "order.auto_cancelled",
        "order.auto_completed",
        "order.dispute_window_closed",
        "parcel.presumed_lost",
        "parcel.return_started",
        "dispute.seller_timed_out",
        "dispute.auto_escalated",
        "dispute.customs_document_missed",
        "dispute.reopen_window_closed",
        "alert.raised",
    }


def test_derived_policy_field_is_not_accepted_from_callers():
    """`policy` in `order.placed` is written by the library, not given."""
    with pytest.raises(ValidationError, match="policy"):
        from_data("order.placed", {**PLACED, "policy": {}})


def test_unknown_event_type_is_a_validation_error():
    """A type outside docs/events.md is refused by name."""
    with pytest.raises(ValidationError, match=r"order\.teleported"):
        from_data("order.teleported", {})


def test_data_must_be_an_object():
    """Command data is a JSON object."""
    with pytest.raises(ValidationError, match="data"):
        from_data("order.cancelled", ["buyer"])  # type: ignore[arg-type]


# --- canonical JSON ----------------------------------------------------------------------

_scalars = st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.text(max_size=8)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


def _reordered(value: Any, rnd: Any) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: _reordered(v, rnd) for k, v in items}
    if isinstance(value, list):
        return [_reordered(v, rnd) for v in value]
    return value


@given(value=st.dictionaries(st.text(max_size=6), _json, max_size=6), rnd=st.randoms(use_true_random=False))
def test_canonical_json_is_stable_under_dict_key_order(value, rnd):
    """Any insertion order of the same keys gives the same text, which parses back equal."""
    text = canonical_json(value)
    assert canonical_json(_reordered(value, rnd)) == text
    assert json.loads(text) == value


@given(
    value=st.dictionaries(st.text(max_size=6), _json, max_size=4),
    number=st.floats(allow_nan=False),
    path=st.lists(st.text(min_size=1, max_size=4), min_size=1, max_size=3),
)
def test_canonical_json_rejects_floats_at_any_depth(value, number, path):
    """A float anywhere in the value is a ValidationError (money is integer minor units)."""
    nested: Any = number
    for key in reversed(path):
        nested = {key: [nested]}
    with pytest.raises(ValidationError, match="float"):
        canonical_json({**value, "\x00": nested})


def test_canonical_json_is_compact_sorted_and_utf8():
    """Sorted keys, no spaces, non-ASCII kept as is."""
    assert canonical_json({"b": 1, "a": [True, None, "é"]}) == '{"a":[true,null,"é"],"b":1}'
