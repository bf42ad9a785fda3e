"""One line of an import, read and checked: its JSON (`decode_line`), its fields
(`parse_checked`, `parse_line`), with the caches an import keeps between lines (time
texts, and (type, data) pairs that validated). `parcelfsm.transfer` chains, folds and
writes what these return.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any, Final

import orjson

from parcelfsm.canonical import _has_float, plain_json
from parcelfsm.clock import EARLIEST, LATEST, UTC, format_time, parse_time
from parcelfsm.decide import ORDER_ID, check_order_id
from parcelfsm.errors import ValidationError
from parcelfsm.events import EVENT_TYPES, from_data
from parcelfsm.records import StoredEvent
from parcelfsm.store.mapping import utc_text

_REQUIRED: Final = ("stream_id", "version", "type", "occurred_at", "data")
_REQUIRED_SET: Final = frozenset(_REQUIRED)
_is_order_id: Final = ORDER_ID.fullmatch
_fromisoformat = dt.datetime.fromisoformat
#: distinct time texts an import keeps parsed (bounded memory)
_TIMES_KEPT: Final = 4096
#: (type, canonical data) pairs an import remembers as valid (bounded memory)
_VALID_KEPT: Final = 4096
#: a time text exactly as `format_time` writes it (ASCII digits; a fraction only when it
#: is not zero): such a text is its own stored form, no need to format the value again
_STORED_TIME: Final = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.(?!000000)[0-9]{6})?Z"
)
_is_stored: Final = _STORED_TIME.fullmatch


class Line:
    """One validated line: the event's fields (hashes as the line gave them, `Envelope`
    for the fold) and its times as stored text."""

    __slots__ = (
        "data",
        "data_text",
        "due",
        "due_at",
        "hash",
        "key",
        "occurred",
        "occurred_at",
        "prev_hash",
        "recorded",
        "recorded_at",
        "schema_version",
        "stream_id",
        "type",
        "version",
    )

    def __init__(
        self,
        stream_id: str,
        version: int,
        type: str,
        schema_version: int,
        occurred: tuple[dt.datetime, str],
        recorded: tuple[dt.datetime, str],
        due: tuple[dt.datetime, str] | None,
        key: str | None,
        data: dict[str, Any],
        data_text: str | None,
        prev_hash: str,
        hash: str,
    ) -> None:
        self.stream_id, self.version, self.type = stream_id, version, type
        self.schema_version, self.key, self.data = schema_version, key, data
        self.data_text = data_text  # canonical, when known already
        self.occurred_at, self.occurred = occurred
        self.recorded_at, self.recorded = recorded
        self.due_at: dt.datetime | None = None
        self.due: str | None = None
        if due is not None:
            self.due_at, self.due = due
        self.prev_hash, self.hash = prev_hash, hash

    def stored(self) -> StoredEvent:
        """The line as a `StoredEvent` (position 0: not stored yet)."""
        return StoredEvent(
            0,
            self.stream_id,
            self.version,
            self.type,
            self.schema_version,
            self.occurred_at,
            self.recorded_at,
            self.due_at,
            self.key,
            self.data,
            self.prev_hash,
            self.hash,
        )


def parse_line(obj: Any, lineno: int, now: dt.datetime) -> StoredEvent:
    """Validate one decoded line into a `StoredEvent` (hashes filled in later)."""
    return parse_checked(obj, lineno, now, Times()).stored()


def parse_checked(
    obj: Any,
    lineno: int,
    now: dt.datetime,
    times: Times,
    plain: bool = False,
    valid: set[tuple[str, str]] | None = None,
) -> Line:
    """`parse_line`, with the import's caches: `plain` (see `decode_line`) lets the data's
    canonical text be made once, and `valid` holds (type, text) pairs that validated."""
    if valid is None:
        valid = set()
    if type(obj) is not dict:
        raise ValidationError(f"line {lineno}: expected a JSON object")
    if not obj.keys() >= _REQUIRED_SET:
        for name in _REQUIRED:
            if name not in obj:
                raise ValidationError(f"line {lineno}: {name} is required")
    get = obj.get
    stream_id = obj["stream_id"]
    if type(stream_id) is not str or not _is_order_id(stream_id):
        check_order_id(stream_id)  # raises the usual error
    version = obj["version"]
    if type(version) is not int or version < 1:  # bool is not int here
        raise ValidationError(f"line {lineno}: version must be a positive integer")
    type_name = obj["type"]
    event_type = EVENT_TYPES.get(type_name) if type(type_name) is str else None
    if event_type is None:
        raise ValidationError(f"line {lineno}: unknown event type {type_name!r}")
    data = obj["data"]
    # plain data's canonical text is known now; the same type and text validate alike
    text = plain_json(data) if plain and type(data) is dict else None
    if text is None or (type_name, text) not in valid:
        try:
            from_data(type_name, data, allow_derived=True)
        except ValidationError as exc:
            raise ValidationError(f"line {lineno}: {exc.message}") from None
        if text is not None:
            if len(valid) >= _VALID_KEPT:
                valid.clear()
            valid.add((type_name, text))
    occurred_raw = obj["occurred_at"]
    occurred = times.parse(occurred_raw, f"line {lineno}: occurred_at")
    recorded_raw = get("recorded_at")
    if not recorded_raw:
        recorded = (now, format_time(now))
    elif recorded_raw == occurred_raw and type(recorded_raw) is str:  # recorded when it happened
        recorded = occurred
    else:
        recorded = times.parse(recorded_raw, f"line {lineno}: recorded_at")
    if recorded is not occurred and recorded[0] < occurred[0]:
        raise ValidationError(
            f"line {lineno}: recorded_at is earlier than occurred_at (stored before it happened)"
        )
    due_raw = get("due_at")
    due = times.parse(due_raw, f"line {lineno}: due_at") if due_raw else None
    if event_type.timed != (due is not None):
        raise ValidationError(f"line {lineno}: due_at is required for timed events and only for them")
    key = get("key")
    if key is not None and type(key) is not str:
        raise ValidationError(f"line {lineno}: key must be a string or null")
    current = event_type.schema_version
    schema = get("schema_version", current)
    if schema is not current and (type(schema) is not int or not 1 <= schema <= current):
        raise ValidationError(f"line {lineno}: schema_version must be an integer from 1 to {current}")
    prev_hash, digest = get("prev_hash"), get("hash")
    return Line(
        stream_id,
        version,
        type_name,
        schema,
        occurred,
        recorded,
        due,
        key,
        data,
        text,
        prev_hash if type(prev_hash) is str else str(prev_hash or ""),
        digest if type(digest) is str else str(digest or ""),
    )


def decode_line(text: str, lineno: int) -> tuple[Any, bool]:
    """The line's JSON value, and whether it is plain JSON (orjson read it, no float):
    its data then needs no type walk before canonical encoding."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        value = None
    else:
        if not (_has_nested_float(value) if type(value) is dict else _has_float(value)):
            return value, True
    try:
        return json.loads(text), False  # what `parse_json` falls back to
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, huge numbers, deep nesting
        raise ValidationError(f"line {lineno}: not valid JSON ({type(exc).__name__})") from None


_FLAT: Final = frozenset({str, int, bool, type(None)})


def _has_nested_float(line: dict[str, Any]) -> bool:
    """`_has_float` of a line: its flat fields and the flat fields of its data are
    looked at in place, only what is nested deeper is walked."""
    for value in line.values():
        if type(value) in _FLAT:
            continue
        if type(value) is not dict:
            if _has_float(value):
                return True
            continue
        for inner in value.values():
            if type(inner) not in _FLAT and _has_float(inner):
                return True
    return False


class Times:
    """Time texts of the import, each parsed and validated once (`recorded_at` is
    usually `occurred_at`): text → (aware UTC time, its stored text)."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[dt.datetime, str]] = {}

    def parse(self, raw: Any, field: str) -> tuple[dt.datetime, str]:
        text = raw if type(raw) is str else str(raw)
        hit = self._seen.get(text)
        if hit is None:
            try:  # the stored form ("…Z") reads directly; anything else as `parse_time` reads it
                value = _fromisoformat(text)
            except ValueError:
                value = None
            if value is None or value.tzinfo is not UTC or not EARLIEST <= value < LATEST:
                value = parse_time(text, field)
            if len(self._seen) >= _TIMES_KEPT:
                self._seen.clear()
            stored = text if _is_stored(text) else utc_text(value)
            hit = self._seen[text] = (value, stored)
        return hit
