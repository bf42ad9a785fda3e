"""Field specs and value checks for event data: the constraints live in metadata.

`spec()` declares an attrs field with its constraints (minimum, maximum, pattern,
ASCII text, length); `check_value` enforces the declared type and those constraints,
and `parcelfsm.schema` writes the same metadata into the JSON Schemas, so validation
and `schemas/` cannot disagree.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, Final, Literal, get_args, get_origin

import attrs

from parcelfsm.codes import check_country, check_currency
from parcelfsm.errors import ValidationError, quote

#: the largest amount in minor units (2**53 - 1: exact in every JSON reader)
MAX_MINOR: Final = 2**53 - 1
#: the longest span in days a command may carry (ten years)
MAX_DAYS: Final = 3650
ID_TEXT: Final = r"^[^\x00-\x1f\x7f-\x9f]{1,256}$"
#: free text: anything but control characters (tab and newline allowed)
TEXT_PATTERN: Final = r"^[^\x00-\x08\x0b-\x1f\x7f-\x9f]*$"
_CONTROL: Final = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: evidence lists: at most this many references, each at most `MAX_REFERENCE` chars
MAX_EVIDENCE: Final = 20
MAX_REFERENCE: Final = 1000
#: the largest stored `data` of one event, as UTF-8 canonical JSON (README "Decisions")
MAX_EVENT_BYTES: Final = 64 * 1024


def spec(
    default: Any = attrs.NOTHING,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    pattern: str | None = None,
    ascii_text: bool = False,
    max_length: int | None = None,
    text: bool = False,
    max_items: int | None = None,
    code: str | None = None,
) -> Any:
    """An attrs field whose constraints live in metadata (read by validation and schemas).

    For a list field, `max_length`, `pattern` and `text` apply to each item and
    `max_items` to the list; `text` refuses control characters other than tab and
    newline. `code` names an ISO code list the value must belong to: `"country"`
    (ISO 3166-1 alpha-2) or `"currency"` (ISO 4217 with a minor unit).
    """
    meta = {
        "minimum": minimum,
        "maximum": maximum,
        "pattern": pattern,
        "ascii_text": ascii_text,
        "max_length": max_length,
        "text": text,
        "max_items": max_items,
        "code": code,
    }
    if isinstance(default, list):
        return attrs.field(factory=list, metadata=meta)
    return attrs.field(default=default, metadata=meta)


def check_value(value: Any, tp: Any, meta: Mapping[str, Any], name: str) -> None:
    """Raise `ValidationError` naming `name` unless `value` fits type `tp` and `meta`."""
    _check_type(value, tp, name)
    _check_meta(value, meta, name)


#: a compiled `check_value` for one field: raises `ValidationError` or returns
Checker = Callable[[Any], None]


def compile_check(tp: Any, meta: Mapping[str, Any], name: str) -> Checker:
    """`check_value(value, tp, meta, name)` as one function, its type walked once: the
    same checks in the same order, the same messages (a command's fields are checked
    on every append)."""
    type_check = _compile_type(tp, name)
    if all(v is None or v is False for v in meta.values()):
        return type_check  # no constraint: `_check_meta` would check nothing

    def check(value: Any) -> None:
        type_check(value)
        _check_meta(value, meta, name)

    return check


def _compile_type(tp: Any, name: str) -> Checker:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = _compile_type(next(a for a in get_args(tp) if a is not type(None)), name)
        if type(None) not in get_args(tp):
            return inner

        def optional(value: Any) -> None:
            if value is not None:
                inner(value)

        return optional
    if origin is Literal:
        options = get_args(tp)

        def literal(value: Any) -> None:
            if value is None:
                raise ValidationError(f"{name}: must not be null")
            if not isinstance(value, str | int) or value not in options:
                raise ValidationError(f"{name}: {quote(value)} is not one of {', '.join(map(str, options))}")

        return literal
    if origin is list or origin is dict:
        return lambda value: _check_type(value, tp, name)
    kind, label = _EXPECTED[tp]

    def simple(value: Any) -> None:
        if value is None:
            raise ValidationError(f"{name}: must not be null")
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValidationError(f"{name}: expected {label}, got {quote(value)}")

    return simple


_EXPECTED: Final[dict[Any, tuple[type, str]]] = {
    int: (int, "an integer (minor units / whole days)"),
    str: (str, "a string"),
    bool: (bool, "true or false"),
}


def _check_type(value: Any, tp: Any, name: str) -> None:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in get_args(tp):
            return
        inner = [a for a in get_args(tp) if a is not type(None)]
        _check_type(value, inner[0], name)
        return
    if value is None:
        raise ValidationError(f"{name}: must not be null")
    if origin is Literal:
        if not isinstance(value, str | int) or value not in get_args(tp):
            options = ", ".join(map(str, get_args(tp)))
            raise ValidationError(f"{name}: {quote(value)} is not one of {options}")
        return
    if origin is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValidationError(f"{name}: expected a list of strings")
        return
    if origin is dict:
        if not isinstance(value, dict):
            raise ValidationError(f"{name}: expected an object")
        return
    kind, label = _EXPECTED[tp]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ValidationError(f"{name}: expected {label}, got {quote(value)}")


def _check_meta(value: Any, meta: Mapping[str, Any], name: str) -> None:
    if value is None:
        return
    if isinstance(value, list):
        if meta.get("max_items") is not None and len(value) > meta["max_items"]:
            raise ValidationError(f"{name}: more than {meta['max_items']} items ({len(value)})")
        for index, item in enumerate(value):
            _check_meta(item, {**meta, "max_items": None}, f"{name}[{index}]")
        return
    if meta.get("minimum") is not None and value < meta["minimum"]:
        raise ValidationError(f"{name}: {quote(value)} is below the minimum {meta['minimum']}")
    if meta.get("maximum") is not None and value > meta["maximum"]:
        raise ValidationError(f"{name}: {quote(value)} is above the maximum {meta['maximum']}")
    if meta.get("max_length") is not None and isinstance(value, str) and len(value) > meta["max_length"]:
        raise ValidationError(f"{name}: longer than {meta['max_length']} characters ({len(value)})")
    if meta.get("pattern") and not re.fullmatch(meta["pattern"], value):
        raise ValidationError(f"{name}: {quote(value)} is not in the expected form")
    if meta.get("text"):
        check_text(value, name)
    if meta.get("ascii_text"):
        check_ascii(value, name)
    if meta.get("code") == "country":
        check_country(value, name)
    elif meta.get("code") == "currency":
        check_currency(value, name)


def check_text(text: str, name: str) -> None:
    """Reject NUL and control characters other than tab and newline, naming the first."""
    found = _CONTROL.search(text)
    if found is not None:
        char = found.group()
        raise ValidationError(
            f"{name}: control character U+{ord(char):04X} at position {found.start()} is not "
            "allowed in text (tab and newline are)"
        )


ASCII_PATTERN: Final = r"^[\t\n\x20-\x7e]*$"


def check_ascii(text: str, name: str) -> None:
    """Reject any character outside printable ASCII, naming it and its position.

    The dispute description must be plain English: the site refuses `№` and
    non-Latin letters (docs/rules.md, "Opening a dispute").
    """
    for index, char in enumerate(text):
        if not (char in "\t\n" or " " <= char <= "~"):
            raise ValidationError(
                f"{name}: character {char!r} (U+{ord(char):04X}) at position {index} is not "
                "printable ASCII — write the description in plain English"
            )
