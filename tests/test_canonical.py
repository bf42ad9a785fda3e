"""The fast canonical encoder writes exactly the bytes the standard one does, or the same error.

Stored hashes depend on every byte of the canonical text, so the orjson path must never
differ from `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`:
not for unusual characters, not for huge integers (beyond orjson's 64 bits), not for
values `json` refuses. `parse_json` must read back what `json.loads` reads.
"""

from __future__ import annotations

import enum
import json
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parcelfsm.canonical import canonical_json, parse_json, plain_json
from parcelfsm.errors import ValidationError

#: any character, lone surrogates included (they must be refused the same way)
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=12)
LEAVES = st.none() | st.booleans() | st.integers() | st.integers(min_value=2**60, max_value=2**80) | TEXT
JSONISH = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.tuples(inner, inner) | st.dictionaries(TEXT, inner, max_size=4)
    ),
    max_leaves=20,
)


def standard(value: Any) -> str | type[Exception]:
    """What the standard encoder (the format's definition) writes, or that it refuses."""
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        text.encode("utf-8")
    except (ValueError, TypeError, RecursionError):
        return ValidationError
    return text


def fast(value: Any, check: bool) -> str | type[Exception]:
    try:
        return canonical_json(value, check=check)
    except ValidationError:
        return ValidationError


@settings(max_examples=400)
@given(JSONISH)
def test_canonical_text_is_the_standard_encoders_byte_for_byte(value: Any) -> None:
    """Every JSON value, however odd its characters or large its integers, encodes identically."""
    assert fast(value, check=True) == standard(value)
    assert fast(value, check=False) == standard(value)


@given(st.dictionaries(TEXT, st.none() | st.integers() | TEXT, max_size=9))
def test_the_hash_chains_field_encoder_writes_the_standard_text(fields: dict[str, Any]) -> None:
    """The chain's flat objects (text, integers, None) encode as the standard encoder writes them."""
    want = standard(fields)
    if want is ValidationError:  # lone surrogates
        with pytest.raises(ValidationError):
            plain_json(fields)
    else:
        assert plain_json(fields) == want


@given(
    st.dictionaries(TEXT, st.integers() | st.integers(min_value=2**62, max_value=2**70) | TEXT, max_size=6)
)
def test_parse_json_reads_back_what_json_loads_reads(value: dict[str, Any]) -> None:
    """Stored text parses to the same value on the fast path (big integers and surrogates included)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert parse_json(text) == json.loads(text)


@pytest.mark.parametrize(
    "value",
    [
        2**64,
        -(2**63) - 1,
        {"a": 10**30},
        {"é": 1, "e": 2, "\U0001f600": 3, "\uffff": 4},
        '\x00\x1f\x7f\u2028\\"',
        [[[[]]]],
    ],
)
def test_values_orjson_cannot_or_might_write_differently_keep_their_text(value: Any) -> None:
    """Integers beyond 64 bits, key order over the whole of Unicode, escapes: the standard text."""
    assert canonical_json(value) == standard(value)


class Colour(enum.Enum):
    RED = "red"


class Size(enum.IntEnum):
    BIG = 3


@pytest.mark.parametrize(
    "value", [{"c": Colour.RED}, {"u": uuid.UUID(int=1)}, {1: "int key"}, {"s": Size.BIG}]
)
def test_types_json_treats_specially_are_left_to_json(value: Any) -> None:
    """orjson would write enums and UUIDs that `json` refuses; the result is json's (text or error)."""
    assert fast(value, check=True) == standard(value)


def test_floats_are_refused_with_the_path_that_holds_them() -> None:
    """A float anywhere is a `ValidationError` naming where it is; without `check` it is encoded."""
    with pytest.raises(ValidationError, match=r"a\.b\[1\]"):
        canonical_json({"a": {"b": [1, 2.5]}})
    assert canonical_json({"x": 1.5}, check=False) == '{"x":1.5}'


def test_nesting_deeper_than_python_allows_is_a_validation_error() -> None:
    """A value nested past the recursion limit is refused as JSON text, not a crash."""
    value: Any = []
    for _ in range(5000):
        value = [value]
    with pytest.raises(ValidationError):
        canonical_json(value, check=False)


@pytest.mark.parametrize(
    "text", ['{"a":-9223372036854775809}', '{"a":18446744073709551616}', '{"a":"\\ud800"}']
)
def test_numbers_beyond_64_bits_and_lone_surrogates_parse_as_json_parses_them(text: str) -> None:
    """orjson would turn a number beyond 64 bits into a float; `parse_json` keeps the integer."""
    assert parse_json(text) == json.loads(text)
    assert type(parse_json(text)["a"]) is type(json.loads(text)["a"])
