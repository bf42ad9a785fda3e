"""The recorder seam: what a backend must do with the event log's rows, and nothing more.

A backend moves rows and bytes only. Canonical JSON, the per-stream hash chain, key
fingerprints, upcasting and verification live once, above every backend, in
`parcelfsm.store.log.EventLog` (as `eventsourcing` keeps its `Mapper` above its
recorders). A new backend is one module implementing `Recorder` and `Projections`
(`parcelfsm.store.projections`) plus a short subclass of the store contract suite in
`tests/store_contract.py`.

Rules every backend keeps:

- `(stream_id, version)` is unique: inserting a version that exists raises
  `ConcurrencyConflict` (a racing writer fails instead of forking a stream).
- idempotency keys are global: inserting a key that exists raises `IdempotencyConflict`.
- `insert_events` is atomic: either every row and key of the call is written or none
  (inside a caller's transaction that raises, it is that transaction's rollback that
  undoes the call; the service always runs a command in a transaction or savepoint).
- `position` is assigned by the backend, increasing in commit order as seen by
  `select_after`: a reader following the log with `select_after(last_seen)` never skips
  a row that commits later (each backend documents how it keeps this rule).
- every time is text the caller formatted from its injected clock; a backend never
  picks a time.
- driver errors leave a backend as `parcelfsm.errors` types only.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Protocol

import attrs


@attrs.frozen(slots=True)
class EventRow:
    """One stored event exactly as a backend keeps it: text and integers, never parsed.

    `data` is the canonical JSON text the hash covers; times are ISO 8601 UTC text
    (`parcelfsm.clock.format_time`). `position` is 0 until the backend assigns it.
    """

    position: int
    stream_id: str
    version: int
    type: str
    schema_version: int
    occurred_at: str
    recorded_at: str
    due_at: str | None
    key: str | None
    data: str
    prev_hash: str
    hash: str


@attrs.frozen(slots=True)
class KeyRow:
    """Which versions of which stream an idempotency key appended.

    `fingerprint` is `None` for a key that arrived by import (the original command's
    data is not in the log, only the event it produced).
    """

    key: str
    stream_id: str
    first_version: int
    last_version: int
    fingerprint: str | None


class Recorder(Protocol):
    """The event log's storage: insert rows atomically, select them back."""

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """A write transaction; nested calls are savepoints (an inner failure undoes
        only the inner writes). Raises `ConcurrencyConflict` when the database stays
        busy past the backend's retry budget."""
        ...

    def snapshot(self) -> contextlib.AbstractContextManager[None]:
        """A read-only, consistent view that never waits for a writer (inside a write
        transaction it is that transaction)."""
        ...

    def insert_events(self, rows: Sequence[EventRow], keys: Sequence[KeyRow] = ()) -> list[int]:
        """Insert rows (one or more streams) and keys atomically; return their positions."""
        ...

    def insert_many(self, rows: Sequence[EventRow], keys: Sequence[KeyRow] = ()) -> None:
        """`insert_events` without the positions, for a bulk load (an import's batch): the
        same rows, rules, atomicity and typed conflicts, written as cheaply as the
        backend can."""
        ...

    def select_stream(self, stream_id: str, first: int = 1, last: int | None = None) -> list[EventRow]:
        """A stream's rows with `first <= version <= last`, in version order."""
        ...

    def select_stream_rows(self, stream_ids: Sequence[str]) -> list[EventRow]:
        """Every row of each of these streams, read at once (one query where the backend
        can: `tick` reads a chunk's due orders so): each stream's rows together and in
        version order, the streams in any order; an unknown id gives no rows."""
        ...

    def select_after(self, position: int, limit: int) -> list[EventRow]:
        """Up to `limit` rows with a greater position, in position order."""
        ...

    def select_streams(self, after: tuple[str, int], limit: int) -> list[EventRow]:
        """Up to `limit` rows after `(stream_id, version)`, in (stream_id, version) order."""
        ...

    def select_key(self, key: str) -> KeyRow | None:
        """The key's row, or None."""
        ...

    def head(self, stream_id: str) -> tuple[int, str]:
        """(version, hash) of the stream's last row; (0, "") for a new stream."""
        ...

    def counts(self) -> tuple[int, int]:
        """(streams, events) in the log."""
        ...

    def close(self) -> None:
        """Release the connection(s)."""
        ...

    def check_pages(self) -> list[str]:
        """What the storage engine finds wrong with its own files (SQLite: `PRAGMA
        quick_check` — damaged pages, broken indexes); empty when sound, and always for
        an engine that keeps its files to itself (PostgreSQL, memory)."""
        ...
