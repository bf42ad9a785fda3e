"""The event store seam: `EventStore`, the protocol every backend implements.

The service needs only these calls (append a decided batch, read a stream, find an
idempotency key, write and read the projections, list what is due), so another
backend (PostgreSQL for apps that outgrow one machine) is one new module beside
`parcelfsm.store.sqlite`. Backends translate their driver's errors into
`StorageError`, `ConcurrencyConflict` and `IdempotencyConflict`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import attrs

from parcelfsm.deadlines import Deadline
from parcelfsm.records import NewEvent, StoredEvent


@attrs.frozen
class OrderRow:
    """A row of the `orders` projection (current state summary of one order)."""

    stream_id: str
    version: int
    order_state: str
    parcel_state: str
    dispute_state: str
    currency: str
    paid: int
    held: int
    released_to_seller: int
    refunded_to_buyer: int
    policy_version: str


class EventStore(Protocol):
    """The store seam: what the service needs from any backend (SQLite today)."""

    def transaction(self) -> contextlib.AbstractContextManager[None]: ...
    def read_stream(self, stream_id: str) -> list[StoredEvent]: ...
    def head(self, stream_id: str) -> tuple[int, str]: ...
    def find_key(self, key: str) -> tuple[str | None, list[StoredEvent]] | None: ...
    def append(self, events: Sequence[NewEvent], recorded_at: dt.datetime) -> list[StoredEvent]: ...
    def append_stored(self, events: Sequence[StoredEvent]) -> None: ...
    def save_projection(self, row: OrderRow, deadlines: Sequence[Deadline]) -> None: ...
    def due(self, before: dt.datetime, limit: int) -> list[Deadline]: ...
    def streams_due(self, before: dt.datetime) -> list[str]: ...
    def iter_events(self, batch: int = 1000) -> Iterator[StoredEvent]: ...
    def iter_streams(self, batch: int = 2000) -> Iterator[tuple[str, list[StoredEvent]]]: ...
    def count_streams(self) -> int: ...
    def deadlines_of(self, stream_id: str) -> list[Deadline]: ...
    def order_row(self, stream_id: str) -> OrderRow | None: ...
    def projected_ids(self) -> set[str]: ...
    def raw_event_rows(self) -> Iterator[tuple[Any, ...]]: ...
    def clear_projections(self) -> None: ...
    def close(self) -> None: ...
