"""Canonical JSON: sorted keys, compact separators, UTF-8, no floats.

The one serialisation used for stored event data, idempotency fingerprints and the
hash chain, so the same event always hashes the same way on every machine.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from parcelfsm.errors import ValidationError


def _reject_float(value: Any, path: str) -> None:
    if isinstance(value, float):
        raise ValidationError(f"{path}: floats are not allowed (use integer minor units)")
    if isinstance(value, dict):
        for k, v in value.items():
            _reject_float(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _reject_float(v, f"{path}[{i}]")


def canonical_json(value: Any, *, check: bool = True) -> str:
    """Serialise `value` canonically; raises `ValidationError` on floats."""
    if check:
        _reject_float(value, "")
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        text.encode("utf-8")
    except (ValueError, TypeError, RecursionError) as exc:  # UnicodeEncodeError is a ValueError
        raise ValidationError(f"data: cannot be stored as JSON text ({type(exc).__name__})") from None
    return text


def sha256_hex(text: str) -> str:
    """Hex SHA-256 of the UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
