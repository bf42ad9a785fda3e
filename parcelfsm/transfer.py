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
import gc
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any, Final

import attrs

from parcelfsm.canonical import canonical_json
from parcelfsm.collector import collector_paused
from parcelfsm.errors import IdempotencyConflict, ParcelFsmError, ValidationError
from parcelfsm.fold import advance, fold
from parcelfsm.import_line import Line, Times, decode_line, parse_checked
from parcelfsm.state import OrderState
from parcelfsm.store import EventLog, EventRow

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


def _stored_hash(log: EventLog, unflushed: dict[tuple[str, int], str], stream_id: str, version: int) -> str:
    """The hash of a stream's event at `version`, from this import's batch or the log."""
    if version < 1:
        return ""
    if (stream_id, version) in unflushed:
        return unflushed[stream_id, version]
    rows = log.backend.select_stream(stream_id, version, version)
    return rows[0].hash if rows else ""


def _check_stored(log: EventLog, line: Line, unflushed: dict[tuple[str, int], str]) -> None:
    """Raise unless the event of `line` (at or below its stream's version) is the one stored."""
    stream_id, version = line.stream_id, line.version
    prev = _stored_hash(log, unflushed, stream_id, version - 1)
    if _stored_hash(log, unflushed, stream_id, version) != log.hash_of(line.stored(), prev):
        raise IdempotencyConflict(f"{stream_id} v{version} differs from the stored event")


def _chained(log: EventLog, line: Line, h: _Head) -> EventRow:
    """The row of the event after the stream's head `h`, hashed in its place in the chain."""
    stream_id, version = line.stream_id, line.version
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
    with collector_paused():
        return _import(log, lines, now, progress)


def _import(
    log: EventLog,
    lines: Iterable[str],
    now: dt.datetime,
    progress: Callable[[int], None] | None,
) -> ImportReport:
    heads: OrderedDict[str, _Head] = OrderedDict()
    batch: list[EventRow] = []
    pending: dict[str, _Head] = {}  # streams with events in `batch`, and where they stand
    unflushed: dict[tuple[str, int], str] = {}  # (stream, version) → hash of the events in `batch`
    counts = {"appended": 0}
    touched: set[str] = set()

    # into an empty log, a stream not met yet is new: no read, until a head is dropped
    # (then it may be one this import stored, read back from the log)
    fresh = [log.is_empty()]

    def head(stream_id: str) -> _Head:
        h = heads.get(stream_id)
        if h is None:
            if fresh[0]:
                h = heads[stream_id] = _Head(0, "", None)
                return h
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
            fresh[0] = False
        gc.collect(0)  # the collector is paused (`collector_paused`): one pass per batch

    times = Times()
    valid: set[tuple[str, str]] = set()
    size = 0  # bytes of data in `batch`
    read = skipped = 0
    known, to_end, append = heads.get, heads.move_to_end, batch.append
    for lineno, text in enumerate(lines, start=1):
        if not text or text.isspace():  # a blank line (no copy of a long one)
            continue
        read += 1
        try:
            obj, plain = decode_line(text, lineno)
            line = parse_checked(obj, lineno, now, times, plain, valid)
            stream_id = line.stream_id
            h = known(stream_id)
            if h is None:
                h = head(stream_id)
            else:
                to_end(stream_id)
            if line.version <= h.version:  # already stored (or in this batch): must be the same
                _check_stored(log, line, unflushed)
                skipped += 1
                continue
            row = _chained(log, line, h)
            h.state = advance(h.state, line, strict=True)  # the import's own state: in place
        except ParcelFsmError as exc:
            prefix = f"line {lineno}"
            if exc.message.startswith(prefix):
                raise
            raise type(exc)(f"{prefix}: {exc.message}") from None
        h.version, h.hash = row.version, row.hash
        pending[stream_id] = h
        unflushed[stream_id, row.version] = row.hash
        append(row)
        if progress:
            progress(1)
        size += len(row.data)
        if len(pending) >= BATCH or len(batch) >= BATCH_LINES or size >= BATCH_BYTES:
            size = 0
            flush()
    flush()
    return ImportReport(read, counts["appended"], skipped, len(touched))
