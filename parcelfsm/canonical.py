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
from typing import Any, Final

import orjson

from parcelfsm.errors import ValidationError

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


def plain_json(value: Any) -> str:
    """`canonical_json` of a value known to be plain JSON — text, integers, None, and
    dicts and lists of them, such as the hash chain's fields or data parsed from JSON
    text — without the type walk: the same text."""
    try:
        return orjson.dumps(value, option=_SORT).decode("utf-8")
    except TypeError:  # a subclass or a >64-bit integer: the standard encoder decides
        return canonical_json(value, check=False)


def _has_float(value: Any) -> bool:
    stack = [value]
    while stack:
        v = stack.pop()
        kind = type(v)
        if kind is float:
            return True
        if kind is dict:
            stack.extend(v.values())
        elif kind is list:
            stack.extend(v)
    return False


def parse_json(text: str) -> Any:
    """Parse JSON text exactly as `json.loads` does.

    orjson parses first. It turns integers beyond 64 bits into floats and refuses lone
    surrogate escapes and NaN literals, so a result holding any float (never in a valid
    log: `canonical_json` refuses floats) and anything it refuses are parsed by
    `json.loads` instead.
    """
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
    return json.loads(text) if _has_float(value) else value


def sha256_hex(text: str) -> str:
    """Hex SHA-256 of the UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
