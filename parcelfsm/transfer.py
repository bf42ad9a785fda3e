"""Import and export of stored events as JSON lines (the stored format).

Import appends events exactly as stored — no catch-up, no new timed events —
validated line by line and written in batched transactions: a bad line raises an
error naming the line and nothing of its batch is appended (earlier batches stay).
Events are deduplicated by (stream_id, version): an identical event is skipped, a
different one is an `IdempotencyConflict`. Each stream's hash chain is recomputed; a
line whose `hash` does not match its content is rejected.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Final

import attrs
import orjson

from parcelfsm.canonical import _has_float, canonical_json, plain_json
from parcelfsm.clock import EARLIEST, LATEST, UTC, format_time, parse_time
from parcelfsm.decide import check_order_id
from parcelfsm.errors import IdempotencyConflict, ParcelFsmError, ValidationError
from parcelfsm.events import EVENT_TYPES, from_data
from parcelfsm.fold import advance, fold
from parcelfsm.records import StoredEvent
from parcelfsm.state import OrderState
from parcelfsm.store import EventLog, EventRow
from parcelfsm.store.mapping import utc_text

#: streams one batch (one transaction) may touch: each touched order's projection is
#: written once per batch, so a batch ends at BATCH streams, not at a number of lines
BATCH: Final = 4000
#: lines, and bytes of stored data, one batch holds at most (its rows wait in memory)
BATCH_LINES: Final = 16_000
BATCH_BYTES: Final = 8 * 1024 * 1024
#: streams whose folded state an import keeps between batches: with BATCH, at most
#: HEADS + BATCH states are alive (~4 KB each), which with the batch's own bounds caps
#: its memory (a larger BATCH writes fewer projection rows for interleaved streams)
HEADS: Final = 4_000
_REQUIRED: Final = ("stream_id", "version", "type", "occurred_at", "data")
_fromisoformat = dt.datetime.fromisoformat
#: distinct time texts an import keeps parsed (bounded memory)
_TIMES_KEPT: Final = 4096
#: (type, canonical data) pairs an import remembers as valid (bounded memory)
_VALID_KEPT: Final = 4096


@attrs.frozen
class ImportReport:
    """Counts of an import."""

    lines: int
    appended: int
    skipped: int
    orders: int

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)

    def to_text(self) -> str:
        return (
            f"imported {self.appended} event(s) into {self.orders} order(s); "
            f"{self.skipped} already present; {self.lines} line(s) read"
        )


@attrs.define
class _Head:
    """Where one stream stands during an import: its last version and hash, and its
    folded state (to check each next event strictly)."""

    version: int
    hash: str
    state: OrderState | None


class _Line:
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
    return _parse(obj, lineno, now, _Times()).stored()


def _parse(
    obj: Any,
    lineno: int,
    now: dt.datetime,
    times: _Times,
    plain: bool = False,
    valid: set[tuple[str, str]] | None = None,
) -> _Line:
    """`parse_line`, with the import's caches: `plain` (see `_decode`) lets the data's
    canonical text be made once, and `valid` holds (type, text) pairs that validated."""
    if valid is None:
        valid = set()
    if type(obj) is not dict:
        raise ValidationError(f"line {lineno}: expected a JSON object")
    for name in _REQUIRED:
        if name not in obj:
            raise ValidationError(f"line {lineno}: {name} is required")
    stream_id = check_order_id(obj["stream_id"])
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
    occurred = times.parse(obj["occurred_at"], f"line {lineno}: occurred_at")
    recorded_raw = obj.get("recorded_at")
    if recorded_raw:
        recorded = times.parse(recorded_raw, f"line {lineno}: recorded_at")
    else:
        recorded = (now, format_time(now))
    if recorded[0] < occurred[0]:
        raise ValidationError(
            f"line {lineno}: recorded_at is earlier than occurred_at (stored before it happened)"
        )
    due_raw = obj.get("due_at")
    due = times.parse(due_raw, f"line {lineno}: due_at") if due_raw else None
    if event_type.timed != (due is not None):
        raise ValidationError(f"line {lineno}: due_at is required for timed events and only for them")
    key = obj.get("key")
    if key is not None and type(key) is not str:
        raise ValidationError(f"line {lineno}: key must be a string or null")
    current = event_type.schema_version
    schema = obj.get("schema_version", current)
    if type(schema) is not int or not 1 <= schema <= current:
        raise ValidationError(f"line {lineno}: schema_version must be an integer from 1 to {current}")
    return _Line(
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
        str(obj.get("prev_hash") or ""),
        str(obj.get("hash") or ""),
    )


def _decode(text: str, lineno: int) -> tuple[Any, bool]:
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


class _Times:
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
            hit = self._seen[text] = (value, utc_text(value))
        return hit


def _stored_hash(log: EventLog, unflushed: dict[tuple[str, int], str], stream_id: str, version: int) -> str:
    """The hash of a stream's event at `version`, from this import's batch or the log."""
    if version < 1:
        return ""
    if (stream_id, version) in unflushed:
        return unflushed[stream_id, version]
    rows = log.backend.select_stream(stream_id, version, version)
    return rows[0].hash if rows else ""


def _chained(log: EventLog, line: _Line, h: _Head, unflushed: dict[tuple[str, int], str]) -> EventRow | None:
    """The event's stored row, hashed in its place in the stream's chain, or None when
    the event is already stored."""
    stream_id, version = line.stream_id, line.version
    if version <= h.version:
        prev = _stored_hash(log, unflushed, stream_id, version - 1)
        if _stored_hash(log, unflushed, stream_id, version) != log.hash_of(line.stored(), prev):
            raise IdempotencyConflict(f"{stream_id} v{version} differs from the stored event")
        return None
    if version != h.version + 1:
        raise ValidationError(f"{stream_id} v{version} leaves a gap after v{h.version}")
    data = line.data_text if line.data_text is not None else canonical_json(line.data)
    row = log.chained_row(
        stream_id,
        version,
        line.type,
        line.schema_version,
        line.occurred,
        line.recorded,
        line.due,
        line.key,
        data,
        h.hash,
    )
    if line.hash and line.hash != row.hash:
        raise ValidationError("hash does not match the event's content")
    if line.prev_hash and line.prev_hash != h.hash:
        raise ValidationError("prev_hash does not continue the stream's chain")
    return row


def import_lines(
    log: EventLog,
    lines: Iterable[str],
    now: dt.datetime,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Validate and append JSON lines of stored events (see the module docstring).

    Memory stays bounded whatever the input's size: lines are read as they come,
    written in batches of at most `BATCH` streams (and `BATCH_LINES` lines, `BATCH_BYTES`
    bytes of data), and at most `HEADS` streams keep their folded state
    between batches (a stream met again after it was dropped is read back from the log).
    """
    heads: OrderedDict[str, _Head] = OrderedDict()
    batch: list[EventRow] = []
    pending: dict[str, _Head] = {}  # streams with events in `batch`, and where they stand
    unflushed: dict[tuple[str, int], str] = {}  # (stream, version) → hash of the events in `batch`
    counts = {"appended": 0}
    touched: set[str] = set()

    def head(stream_id: str) -> _Head:
        h = heads.get(stream_id)
        if h is None:
            events = log.read_stream(stream_id)
            h = heads[stream_id] = _Head(len(events), events[-1].hash if events else "", fold(events))
        else:
            heads.move_to_end(stream_id)
        return h

    def flush() -> None:
        if not batch:
            return
        with log.transaction():
            log.append_rows(batch)
            log.save_folded(s for s in (pending[sid].state for sid in sorted(pending)) if s is not None)
        counts["appended"] += len(batch)
        touched.update(pending)
        batch.clear()
        pending.clear()
        unflushed.clear()
        while len(heads) > HEADS:  # everything is stored now: any head can be read back
            heads.popitem(last=False)

    times = _Times()
    valid: set[tuple[str, str]] = set()
    size = 0  # bytes of data in `batch`
    read = skipped = 0
    for lineno, text in enumerate(lines, start=1):
        if not text or text.isspace():  # a blank line (no copy of a long one)
            continue
        read += 1
        try:
            obj, plain = _decode(text, lineno)
            line = _parse(obj, lineno, now, times, plain, valid)
            h = head(line.stream_id)
            row = _chained(log, line, h, unflushed)
            if row is not None:  # the stream's state is this import's own: folded in place
                h.state = advance(h.state, line, strict=True)
        except ParcelFsmError as exc:
            prefix = f"line {lineno}"
            if exc.message.startswith(prefix):
                raise
            raise type(exc)(f"{prefix}: {exc.message}") from None
        if row is None:
            skipped += 1
            continue
        h.version, h.hash = row.version, row.hash
        pending[row.stream_id] = h
        unflushed[row.stream_id, row.version] = row.hash
        batch.append(row)
        if progress:
            progress(1)
        size += len(row.data)
        if len(pending) >= BATCH or len(batch) >= BATCH_LINES or size >= BATCH_BYTES:
            size = 0
            flush()
    flush()
    return ImportReport(read, counts["appended"], skipped, len(touched))
