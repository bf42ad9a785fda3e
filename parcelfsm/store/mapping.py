"""Mapping between the domain and the stored rows: events and projections.

`EventRow` ↔ `StoredEvent` (JSON text parsed and upcast, times parsed) and
`OrderState` → `OrderRow` + `DeadlineRow`s. Backends never see domain types; the
service never sees rows.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any, Final

import orjson

from parcelfsm.canonical import _has_float, parse_json
from parcelfsm.clock import UTC, format_time, to_micros
from parcelfsm.deadlines import (
    ALERT_OF,
    RANK,
    Deadline,
    active_alerts,
    open_deadlines,
    settled_open_deadlines,
)
from parcelfsm.errors import CorruptLog, ParcelFsmError, quote
from parcelfsm.events import EVENT_TYPES, upcast
from parcelfsm.records import StoredEvent
from parcelfsm.state import OrderState
from parcelfsm.store.projections import DeadlineRow, OrderRow
from parcelfsm.store.recorder import EventRow

_parse_time = dt.datetime.fromisoformat
#: distinct time texts a `TimeCache` keeps before it starts over (bounded memory)
_TIME_CACHE_SIZE = 4096
#: each event type's current schema version (its stored data needs no upcast)
_CURRENT = {name: t.schema_version for name, t in EVENT_TYPES.items()}


#: what reading a damaged or hand-edited row can raise (each becomes `CorruptLog`)
_UNREADABLE: Final = (ValueError, TypeError, KeyError, RecursionError)


def _unreadable(row: EventRow, exc: Exception) -> CorruptLog:
    """The error for a stored row that cannot be read, naming its position."""
    return CorruptLog(
        f"stored event at position {row.position} ({quote(row.stream_id, 60)} v{row.version}) "
        f"cannot be read: {type(exc).__name__}"
    )


def to_event(row: EventRow) -> StoredEvent:
    """A stored row as a `StoredEvent` (data parsed and upcast to the current schema).

    Raises:
        CorruptLog: the row's data or times cannot be read (names its position).
    """
    try:
        data = parse_json(row.data)
        if not isinstance(data, dict):
            raise ValueError("data is not a JSON object")
        if row.schema_version is not None:
            data = upcast(row.type, row.schema_version, data)
        occurred = _parse_time(row.occurred_at)
        recorded = _parse_time(row.recorded_at)
        due = _parse_time(row.due_at) if row.due_at else None
        if occurred.tzinfo is None or recorded.tzinfo is None or (due is not None and due.tzinfo is None):
            raise ValueError("a time has no zone")
    except ParcelFsmError:
        raise
    except _UNREADABLE as exc:
        raise _unreadable(row, exc) from None
    return StoredEvent(
        position=row.position,
        stream_id=row.stream_id,
        version=row.version,
        type=row.type,
        schema_version=row.schema_version,
        occurred_at=occurred,
        recorded_at=recorded,
        due_at=due,
        key=row.key,
        data=data,
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class FoldEvent:
    """The part of a stored row the fold reads (`parcelfsm.records.Envelope`): what a
    rebuild or a verify folds, without building a whole `StoredEvent` per row."""

    __slots__ = ("data", "due_at", "occurred_at", "stream_id", "type", "version")

    def __init__(
        self,
        stream_id: str,
        version: int,
        type: str,
        data: dict[str, Any],
        occurred_at: dt.datetime,
        due_at: dt.datetime | None,
    ) -> None:
        self.stream_id = stream_id
        self.version = version
        self.type = type
        self.data = data
        self.occurred_at = occurred_at
        self.due_at = due_at


class TimeCache:
    """Stored time texts parsed once each (a row's `recorded_at` is usually its
    `occurred_at`, and a deadline's due time recurs as the timed event's times)."""

    def __init__(self) -> None:
        self._times: dict[str, dt.datetime] = {}
        #: the time a text was already parsed to, else None
        self.known = self._times.get

    def parse(self, text: str) -> dt.datetime:
        """The aware time `text` stores; `ValueError` when it has none."""
        value = self._times.get(text)
        if value is None:
            value = _parse_time(text)
            if value.tzinfo is None:
                raise ValueError("a time has no zone")
            if len(self._times) >= _TIME_CACHE_SIZE:
                self._times.clear()
            self._times[text] = value
        return value


_FLAT: Final = frozenset({str, int, bool, type(None)})


def _data(text: str) -> dict[str, Any]:
    """`parse_json` of a row's data, which must be an object: orjson first, the standard
    parser for what it refuses or reads differently (floats: see `parse_json`)."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        data = json.loads(text)
    else:
        if type(data) is dict:
            for value in data.values():  # flat data (most events) needs no walk
                if type(value) not in _FLAT:
                    if _has_float(data):
                        data = json.loads(text)
                    break
        elif type(data) is float:
            data = json.loads(text)
    if type(data) is not dict:
        raise ValueError("data is not a JSON object")
    return data


def fold_events(rows: Iterable[EventRow], times: TimeCache) -> list[FoldEvent]:
    """Stored rows as `FoldEvent`s, read exactly as `to_event` reads them (data parsed
    and upcast, every time — `recorded_at` too — checked).

    Raises:
        CorruptLog: a row's data or times cannot be read (names its position).
    """
    out: list[FoldEvent] = []
    append, parse, known = out.append, times.parse, times.known
    for row in rows:
        try:
            data = _data(row.data)
            if row.schema_version is not None and row.schema_version != _CURRENT.get(row.type):
                data = upcast(row.type, row.schema_version, data)
            occurred = known(row.occurred_at) or parse(row.occurred_at)
            if known(row.recorded_at) is None:
                parse(row.recorded_at)
            due = (known(row.due_at) or parse(row.due_at)) if row.due_at else None
        except ParcelFsmError:
            raise
        except _UNREADABLE as exc:
            raise _unreadable(row, exc) from None
        append(FoldEvent(row.stream_id, row.version, row.type, data, occurred, due))
    return out


def order_row(state: OrderState) -> OrderRow:
    """The `orders` projection row of a folded order."""
    m = state.escrow
    return OrderRow(
        state.order_id,
        state.version,
        state.order,
        state.parcel,
        state.dispute_state,
        m.currency,
        m.paid,
        m.held,
        m.released_to_seller,
        m.refunded_to_buyer,
        state.policy.version,
        " ".join(sorted(active_alerts(state))),
    )


def projected(state: OrderState) -> list[Deadline]:
    """The deadlines a projection stores (paused ones have no due time and are left out)."""
    return [d for d in settled_open_deadlines(state) if d.due_at is not None]


def utc_text(value: dt.datetime) -> str:
    """`format_time(value)`, quicker for the UTC times the fold computes."""
    if value.tzinfo is UTC:
        return value.isoformat()[:-6] + "Z"  # "+00:00" → "Z"; microseconds only when present
    return format_time(value)


def deadline_row(d: Deadline) -> DeadlineRow:
    """A deadline as a row of the due index."""
    due = d.due_at
    assert due is not None
    kind = d.kind
    return DeadlineRow(
        d.order_id,
        kind,
        utc_text(due),
        to_micros(due),
        RANK[kind],
        d.rule,
        d.set_by_version,
        d.on_expiry,
        ALERT_OF.get(kind),
    )


def projection_rows(state: OrderState) -> tuple[OrderRow, list[DeadlineRow]]:
    """Everything the projections keep about one order."""
    return order_row(state), [deadline_row(d) for d in projected(state)]


def folded_rows(state: OrderState) -> tuple[OrderRow, list[DeadlineRow]]:
    """`projection_rows` of a state still being folded (rebuild, import): its deadlines
    derived now, not taken from the settled states' cache."""
    return order_row(state), [deadline_row(d) for d in open_deadlines(state) if d.due_at is not None]


def to_deadline(row: DeadlineRow) -> Deadline:
    """A due-index row as a `Deadline`."""
    return Deadline(
        row.stream_id, row.kind, _parse_time(row.due_at), row.rule, row.set_by_version, row.on_expiry
    )
