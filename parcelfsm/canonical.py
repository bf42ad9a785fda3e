"""Canonical JSON: sorted keys, compact separators, UTF-8, no floats.

The one serialisation used for stored event data, idempotency fingerprints and the
hash chain, so the same event always hashes the same way on every machine.

The text is what `json.dumps(value, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)` writes. `orjson` writes the same bytes several times faster for
plain JSON values (dicts with text keys, lists, tuples, text, integers, booleans,
None), so plain values go through it; anything else — integers beyond 64 bits, lone
surrogates, non-text keys, nesting orjson refuses, subclasses, floats when allowed —
falls back to the standard encoder, which decides exactly as before (a property test
holds the two to identical output). Reading stored data back works the same way.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Final

import orjson

from parcelfsm.errors import ValidationError

_LONG_DIGITS: Final = re.compile(r"[0-9]{19}")
_SORT: Final = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_SUBCLASS


def _reject_float(value: Any, path: str) -> None:
    if isinstance(value, float):
        raise ValidationError(f"{path}: floats are not allowed (use integer minor units)")
    if isinstance(value, dict):
        for k, v in value.items():
            _reject_float(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _reject_float(v, f"{path}[{i}]")


def _plain(value: Any) -> bool:
    """Whether `value` holds only exact dict/list/tuple/str/int/bool/None (no floats,
    no subclasses, no types orjson would serialise natively but `json` refuses).

    Iterative, so any nesting depth is answered (orjson then refuses what is too deep)."""
    stack = [value]
    pop, push = stack.pop, stack.append
    while stack:
        v = pop()
        kind = type(v)
        if kind is str or kind is int or kind is bool or v is None:
            continue
        if kind is dict:
            for k, x in v.items():
                if type(k) is not str:
                    return False
                push(x)
        elif kind is list or kind is tuple:
            stack.extend(v)
        else:
            return False
    return True


def _standard(value: Any) -> str:
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        text.encode("utf-8")
    except (ValueError, TypeError, RecursionError) as exc:  # UnicodeEncodeError is a ValueError
        raise ValidationError(f"data: cannot be stored as JSON text ({type(exc).__name__})") from None
    return text


def canonical_json(value: Any, *, check: bool = True) -> str:
    """Serialise `value` canonically; raises `ValidationError` on floats (with `check`)
    and on values JSON cannot hold."""
    if _plain(value):
        try:
            return orjson.dumps(value, option=_SORT).decode("utf-8")
        except TypeError:  # orjson.JSONEncodeError: >64-bit integers, surrogates, deep nesting
            pass
    elif check:
        _reject_float(value, "")
    return _standard(value)


def fields_json(fields: dict[str, str | int | None]) -> str:
    """`canonical_json` of a flat object whose values are text, integers or None (the
    hash chain's fields): no type walk needed, the same text."""
    try:
        return orjson.dumps(fields, option=_SORT).decode("utf-8")
    except TypeError:  # a subclass or a >64-bit integer: the standard encoder decides
        return canonical_json(fields, check=False)


def parse_json(text: str) -> Any:
    """Parse JSON text as `json.loads` does.

    orjson parses most text; text with a run of 19+ digits (a number that may lie
    beyond 64 bits, which orjson would turn into a float) and anything orjson refuses
    (lone surrogate escapes, NaN literals) go to `json.loads`. Floats never reach the
    log (`canonical_json` refuses them), so their parsing needs no such care.
    """
    if _LONG_DIGITS.search(text) is None:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


def sha256_hex(text: str) -> str:
    """Hex SHA-256 of the UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
