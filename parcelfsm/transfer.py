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
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Final

import attrs

from parcelfsm.canonical import parse_json
from parcelfsm.clock import format_time, parse_time
from parcelfsm.decide import check_order_id
from parcelfsm.errors import IdempotencyConflict, ParcelFsmError, ValidationError
from parcelfsm.events import EVENT_TYPES, from_data
from parcelfsm.fold import evolve, fold
from parcelfsm.records import StoredEvent
from parcelfsm.state import OrderState
from parcelfsm.store import EventLog, EventRow

BATCH: Final = 4000
#: streams whose folded state an import keeps between batches: with BATCH, at most
#: HEADS + BATCH states are alive (~4 KB each), which bounds its memory (a larger
#: BATCH writes fewer projection rows for interleaved streams; a smaller one less memory)
HEADS: Final = 4_000
_REQUIRED: Final = ("stream_id", "version", "type", "occurred_at", "data")


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


def parse_line(obj: Any, lineno: int, now: dt.datetime) -> StoredEvent:
    """Validate one decoded line into a `StoredEvent` (hashes filled in later)."""
    where = f"line {lineno}"
    if not isinstance(obj, dict):
        raise ValidationError(f"{where}: expected a JSON object")
    for name in _REQUIRED:
        if name not in obj:
            raise ValidationError(f"{where}: {name} is required")
    stream_id = check_order_id(obj["stream_id"])
    version = obj["version"]
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValidationError(f"{where}: version must be a positive integer")
    type_name = obj["type"]
    if not isinstance(type_name, str) or type_name not in EVENT_TYPES:
        raise ValidationError(f"{where}: unknown event type {type_name!r}")
    data = obj["data"]
    try:
        from_data(type_name, data, allow_derived=True)
    except ValidationError as exc:
        raise ValidationError(f"{where}: {exc.message}") from None
    occurred = parse_time(str(obj["occurred_at"]), f"{where}: occurred_at")
    recorded_raw = obj.get("recorded_at")
    recorded = parse_time(str(recorded_raw), f"{where}: recorded_at") if recorded_raw else now
    if recorded < occurred:
        raise ValidationError(f"{where}: recorded_at is earlier than occurred_at (stored before it happened)")
    due_raw = obj.get("due_at")
    due = parse_time(str(due_raw), f"{where}: due_at") if due_raw else None
    if EVENT_TYPES[type_name].timed != (due is not None):
        raise ValidationError(f"{where}: due_at is required for timed events and only for them")
    key = obj.get("key")
    if key is not None and not isinstance(key, str):
        raise ValidationError(f"{where}: key must be a string or null")
    current = EVENT_TYPES[type_name].schema_version
    schema = obj.get("schema_version", current)
    if isinstance(schema, bool) or not isinstance(schema, int) or not 1 <= schema <= current:
        raise ValidationError(f"{where}: schema_version must be an integer from 1 to {current}")
    return StoredEvent(
        position=0,
        stream_id=stream_id,
        version=version,
        type=type_name,
        schema_version=schema,
        occurred_at=occurred,
        recorded_at=recorded,
        due_at=due,
        key=key,
        data=data,
        prev_hash=str(obj.get("prev_hash") or ""),
        hash=str(obj.get("hash") or ""),
    )


def _decode(text: str, lineno: int) -> Any:
    try:
        return parse_json(text)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, huge numbers, deep nesting
        raise ValidationError(f"line {lineno}: not valid JSON ({type(exc).__name__})") from None


def _stored_hash(log: EventLog, unflushed: dict[tuple[str, int], str], stream_id: str, version: int) -> str:
    """The hash of a stream's event at `version`, from this import's batch or the log."""
    if version < 1:
        return ""
    if (stream_id, version) in unflushed:
        return unflushed[stream_id, version]
    rows = log.backend.select_stream(stream_id, version, version)
    return rows[0].hash if rows else ""


def _chained(
    log: EventLog, event: StoredEvent, h: _Head, unflushed: dict[tuple[str, int], str]
) -> EventRow | None:
    """The event's stored row, hashed in its place in the stream's chain, or None when
    the event is already stored."""
    if event.version <= h.version:
        prev = _stored_hash(log, unflushed, event.stream_id, event.version - 1)
        if _stored_hash(log, unflushed, event.stream_id, event.version) != log.hash_of(event, prev):
            raise IdempotencyConflict(f"{event.stream_id} v{event.version} differs from the stored event")
        return None
    if event.version != h.version + 1:
        raise ValidationError(f"{event.stream_id} v{event.version} leaves a gap after v{h.version}")
    row = log.to_row(event, format_time(event.recorded_at), h.hash)
    if event.hash and event.hash != row.hash:
        raise ValidationError("hash does not match the event's content")
    if event.prev_hash and event.prev_hash != h.hash:
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
    written `BATCH` at a time, and at most `HEADS` streams keep their folded state
    between batches (a stream met again after it was dropped is read back from the log).
    """
    heads: OrderedDict[str, _Head] = OrderedDict()
    batch: list[EventRow] = []
    pending: dict[str, _Head] = {}  # streams with events in `batch`, and where they stand
    unflushed: dict[tuple[str, int], str] = {}  # (stream, version) → hash of the events in `batch`
    counts = {"lines": 0, "appended": 0, "skipped": 0}
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
            log.save_projection(s for s in (pending[sid].state for sid in sorted(pending)) if s is not None)
        counts["appended"] += len(batch)
        touched.update(pending)
        batch.clear()
        pending.clear()
        unflushed.clear()
        while len(heads) > HEADS:  # everything is stored now: any head can be read back
            heads.popitem(last=False)

    for lineno, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        counts["lines"] += 1
        try:
            parsed = parse_line(_decode(text, lineno), lineno, now)
            h = head(parsed.stream_id)
            row = _chained(log, parsed, h, unflushed)
            state = evolve(h.state, parsed, strict=True) if row is not None else None
        except ParcelFsmError as exc:
            prefix = f"line {lineno}"
            if exc.message.startswith(prefix):
                raise
            raise type(exc)(f"{prefix}: {exc.message}") from None
        if row is None:
            counts["skipped"] += 1
            continue
        h.version, h.hash, h.state = row.version, row.hash, state
        pending[row.stream_id] = h
        unflushed[row.stream_id, row.version] = row.hash
        batch.append(row)
        if progress:
            progress(1)
        if len(batch) >= BATCH:
            flush()
    flush()
    return ImportReport(counts["lines"], counts["appended"], counts["skipped"], len(touched))
