"""The import's quick readers answer exactly as the general ones: a line's JSON as
`parse_json` reads it, a time as `parse_time` reads it (same value, same error)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parcelfsm.canonical import parse_json
from parcelfsm.clock import format_time, parse_time
from parcelfsm.errors import ValidationError
from parcelfsm.import_line import Times, decode_line

numbers = (
    st.integers()
    | st.integers(min_value=2**63 - 2, max_value=2**64 + 2)
    | st.integers(min_value=-(2**64), max_value=-(2**63) + 2)
    | st.floats(allow_nan=False, allow_infinity=False)
)
values = st.recursive(
    st.none() | st.booleans() | numbers | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=12,
)


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return False


@settings(max_examples=300, deadline=None)
@given(
    st.fixed_dictionaries({"type": st.just("parcel.scanned"), "data": values}, optional={"extra": values})
    | values
)
def test_a_line_decodes_exactly_as_parse_json_reads_it(value: Any) -> None:
    """Huge integers and floats at any depth: the same values, of the same types; and a
    line called plain holds no float (its data's canonical text is made without a walk)."""
    text = json.dumps(value)
    decoded, plain = decode_line(text, 1)
    assert repr(decoded) == repr(parse_json(text))
    if plain:
        assert not _has_float(decoded)


times = st.one_of(
    st.datetimes(
        min_value=dt.datetime(1960, 1, 1),
        max_value=dt.datetime(9100, 1, 1),
        timezones=st.sampled_from([dt.UTC, dt.timezone(dt.timedelta(hours=2))]),
    ).map(lambda d: d.isoformat()),
    st.datetimes(min_value=dt.datetime(1970, 1, 2)).map(lambda d: d.isoformat() + "Z"),
    # a zero fraction, milliseconds: times a stored text never has, read as the same instant
    st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(8999, 1, 1)).map(
        lambda d: d.isoformat(timespec="microseconds") + "Z"
    ),
    st.datetimes(min_value=dt.datetime(1970, 1, 2), max_value=dt.datetime(8999, 1, 1)).map(
        lambda d: d.isoformat(timespec="milliseconds") + "Z"
    ),
    st.datetimes().map(lambda d: d.isoformat()),  # naive
    st.dates().map(lambda d: d.isoformat()),
    st.sampled_from(
        [
            "2026-01-01T00:00:01z",
            " 2026-01-01T00:00:01Z",
            "2026-01-01 00:00:01Z",
            "2026-W01-1T00:00:01Z",  # an ISO week date, 20 characters like a stored time
            "20260101T000001Z",
            "2026-01-01T00:00:01.000000Z",
            "2026-01-01T00:00:01.5Z",
            "2026-01-01T00:00:01,500000Z",
            "2026-01-01T00:00:01.000001Z",
            "٢٠٢٦-01-01T00:00:01Z",
            "soon",
            "",
        ]
    ),
)


@settings(max_examples=300, deadline=None)
@given(times)
def test_a_time_reads_exactly_as_parse_time_reads_it(text: str) -> None:
    """Stored `…Z` times, offsets, naive and date-only texts, out-of-range years, junk:
    the same instant and stored text, or the same error."""
    try:
        want: tuple[dt.datetime, str] | str = (parse_time(text, "t"), "")
    except ValidationError as exc:
        want = exc.message
    if isinstance(want, str):
        with pytest.raises(ValidationError) as caught:
            Times().parse(text, "t")
        assert caught.value.message == want
        return
    value, stored = Times().parse(text, "t")
    assert (value, value.tzinfo, stored) == (want[0], want[0].tzinfo, format_time(want[0]))
