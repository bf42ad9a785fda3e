"""Compiled field checks: the same verdicts and messages as `check_value`, every field.

`from_data` checks each command's fields with `compile_check` (the type walked once
per class); `check_value` is the reference it must agree with, value for value.
"""

from __future__ import annotations

import typing
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parcelfsm.errors import ValidationError
from parcelfsm.events import EVENT_TYPES
from parcelfsm.fields import check_value, compile_check

FIELDS = [
    (cls.type, f, typing.get_type_hints(cls)[f.name])
    for cls in EVENT_TYPES.values()
    for f in attrs.fields(cls)
]
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**60), max_value=2**60),
    st.text(max_size=40),
    st.sampled_from(["US", "USD", "RU", "LP00123456789CN", "in_transit", "not_received", "a\x00b", "№"]),
    st.lists(st.text(max_size=5), max_size=25),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.floats(allow_nan=False),
)


def verdict(check: Any, *args: Any) -> str | None:
    """The error message a check raises, or None when the value passes."""
    try:
        check(*args)
    except ValidationError as exc:
        return exc.message
    return None


@pytest.mark.parametrize(("type_name", "field", "hint"), FIELDS, ids=[f"{t}.{f.name}" for t, f, _ in FIELDS])
@settings(max_examples=60, deadline=None)
@given(value=VALUES)
def test_a_compiled_check_gives_the_verdict_and_message_of_check_value(
    type_name: str, field: attrs.Attribute[Any], hint: Any, value: Any
) -> None:
    """For every field of every event type and any value, the compiled check passes
    or refuses exactly as `check_value` does, with the same message."""
    compiled = compile_check(hint, field.metadata, field.name)
    assert verdict(compiled, value) == verdict(check_value, value, hint, field.metadata, field.name)
