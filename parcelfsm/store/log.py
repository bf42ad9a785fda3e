"""`EventLog`: the event semantics, once, above every backend.

The log turns decided events into stored rows (canonical JSON, the per-stream hash
chain, idempotency keys with their fingerprints) and rows back into events (parsing
and upcasting), keeps the projections in step, and verifies the chain over the exact
stored text. A backend (`parcelfsm.store.memory`, `.sqlite`, `.postgres`) only moves
the rows, so every backend stores byte-identical events and hashes for the same
history.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import Final

from parcelfsm.canonical import canonical_json
from parcelfsm.clock import format_time, to_micros
from parcelfsm.deadlines import Deadline
from parcelfsm.errors import ConcurrencyConflict, CorruptLog
from parcelfsm.records import NewEvent, StoredEvent
from parcelfsm.state import OrderState
from parcelfsm.store.audit import LogAudit, LogHead, stream_problem
from parcelfsm.store.backend import Backend
from parcelfsm.store.chain import chain_hash
from parcelfsm.store.mapping import folded_rows, to_deadline, to_event
from parcelfsm.store.projections import OrderFilter, OrderRow
from parcelfsm.store.recorder import EventRow, KeyRow
from parcelfsm.store.several import by_stream, chunk_rows, stored_chunk
from parcelfsm.store.written import WrittenDeadlines, split

PAGE: Final = 2000


class EventLog:
    """The event log of one backend: append, read, project, verify."""

    def __init__(self, backend: Backend, *, secret: bytes | None = None) -> None:
        self.backend = backend
        self.secret = secret or None
        self.written = WrittenDeadlines()

    # -- transactions -----------------------------------------------------------------

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        """A write transaction (nested: a savepoint)."""
        return self.backend.transaction()

    def snapshot(self) -> contextlib.AbstractContextManager[None]:
        """A consistent read that never waits for a writer."""
        return self.backend.snapshot()

    # -- writing ----------------------------------------------------------------------

    def to_row(self, event: NewEvent | StoredEvent, recorded_at: str, prev_hash: str) -> EventRow:
        """The stored row of an event following `prev_hash` in its stream (hash computed)."""
        assert event.version is not None
        occurred = format_time(event.occurred_at)
        due = format_time(event.due_at) if event.due_at else None
        data = canonical_json(event.data)
        digest = chain_hash(
            prev_hash,
            data,
            due,
            event.key,
            occurred,
            recorded_at,
            event.schema_version,
            event.stream_id,
            event.type,
            event.version,
            self.secret,
        )
        return EventRow(
            0,
            event.stream_id,
            event.version,
            event.type,
            event.schema_version,
            occurred,
            recorded_at,
            due,
            event.key,
            data,
            prev_hash,
            digest,
        )

    def append(
        self, events: Sequence[NewEvent], recorded_at: dt.datetime, head: tuple[int, str] | None = None
    ) -> list[StoredEvent]:
        """Append decided events of one stream (consecutive versions), inside `transaction()`.

        `head` is the stream's (version, hash) as read in this transaction. Raises
        `ConcurrencyConflict` when the stream is not where the first event expects it.
        """
        if not events:
            return []
        stream_id = events[0].stream_id
        version, prev_hash = head if head is not None else self.backend.head(stream_id)
        first = events[0].version or 1
        if first != version + 1:
            raise ConcurrencyConflict(f"order {stream_id!r} is at version {version}, expected {first - 1}")
        recorded = format_time(recorded_at)
        rows: list[EventRow] = []
        keys: list[KeyRow] = []
        for event in events:
            row = self.to_row(event, recorded, prev_hash)
            rows.append(row)
            prev_hash = row.hash
            if event.key is not None:
                keys.append(KeyRow(event.key, stream_id, first, row.version, event.fingerprint))
        positions = self.backend.insert_events(rows, keys)
        return [
            StoredEvent(
                position,
                stream_id,
                row.version,
                event.type,
                row.schema_version,
                event.occurred_at,
                recorded_at,
                event.due_at,
                event.key,
                event.data,
                row.prev_hash,
                row.hash,
            )
            for position, row, event in zip(positions, rows, events, strict=True)
        ]

    def append_streams(
        self, batches: Sequence[tuple[Sequence[NewEvent], tuple[int, str]]], recorded_at: dt.datetime
    ) -> list[list[StoredEvent]]:
        """`append` of several streams' unkeyed events (each with its stream's head as read
        in this transaction) in one `insert_events` call, inside `transaction()`: what
        `tick` fires in a chunk (`parcelfsm.store.several`). Returns each batch's stored
        events, in the given order (positions too, as one `append` after another gives)."""
        rows = chunk_rows(batches, format_time(recorded_at), self.secret)
        return stored_chunk(batches, rows, self.backend.insert_events(rows), recorded_at)

    def chained_row(
        self,
        stream_id: str,
        version: int,
        type: str,
        schema_version: int,
        occurred_at: str,
        recorded_at: str,
        due_at: str | None,
        key: str | None,
        data: str,
        prev_hash: str,
    ) -> EventRow:
        """The row `to_row` makes, from fields already in their stored text (import)."""
        digest = chain_hash(
            prev_hash,
            data,
            due_at,
            key,
            occurred_at,
            recorded_at,
            schema_version,
            stream_id,
            type,
            version,
            self.secret,
        )
        return EventRow(
            0,
            stream_id,
            version,
            type,
            schema_version,
            occurred_at,
            recorded_at,
            due_at,
            key,
            data,
            prev_hash,
            digest,
        )

    def append_stored(self, events: Sequence[StoredEvent]) -> None:
        """Insert events exactly as stored elsewhere (import: the caller checked the chain)."""
        self.append_rows(
            [
                EventRow(
                    0,
                    e.stream_id,
                    e.version,
                    e.type,
                    e.schema_version,
                    format_time(e.occurred_at),
                    format_time(e.recorded_at),
                    format_time(e.due_at) if e.due_at else None,
                    e.key,
                    canonical_json(e.data),
                    e.prev_hash,
                    e.hash,
                )
                for e in events
            ]
        )

    def append_rows(self, rows: Sequence[EventRow]) -> None:
        """Insert rows `to_row` made (import: the caller checked their chain); keys are
        recorded without a fingerprint (the original command's data is not known)."""
        keys = [KeyRow(r.key, r.stream_id, r.version, r.version, None) for r in rows if r.key is not None]
        self.backend.insert_many(rows, keys)

    def hash_of(self, event: StoredEvent, prev_hash: str) -> str:
        """The chain hash `event` must have after `prev_hash` (import checks with it)."""
        return self.to_row(event, format_time(event.recorded_at), prev_hash).hash

    def save_folded(self, states: Iterable[OrderState]) -> None:
        """Rewrite the projections of states a rebuild or an import folds (and may fold
        further): their deadlines are derived afresh, never from the settled states' cache."""
        self.backend.save_projections(folded_rows(s) for s in states)

    def save_changes(self, pairs: Sequence[tuple[OrderState | None, OrderState]]) -> None:
        """Rewrite the projections of folded orders, each given with the state it was
        folded from: when this log wrote that state's rows, only the rows that differ
        are written (`update_projections`), else all of them (inside the transaction)."""
        if len({after.order_id for _, after in pairs}) < len(pairs):
            for pair in pairs:  # an order twice: each change builds on the one before
                self.save_changes([pair])
            return
        changes, full, done = split(self.written, pairs)
        if changes:
            self.backend.update_projections(changes)
        if full:
            self.backend.save_projections(full)
        for state, deadlines in done:
            self.written.remember(state, deadlines)

    def clear_projections(self) -> None:
        """Empty the projections (a rebuild rewrites them)."""
        self.written.forget()
        self.backend.clear_projections()

    # -- reading events ---------------------------------------------------------------

    def head(self, stream_id: str) -> tuple[int, str]:
        """(version, hash) of a stream's last event; (0, "") for a new stream."""
        return self.backend.head(stream_id)

    def read_stream(self, stream_id: str) -> list[StoredEvent]:
        """All events of one stream, in version order, after checking its chain.

        Raises:
            CorruptLog: the stored chain does not match (a forged or damaged stream is
                refused, never shown), or a row cannot be read; names the position.
        """
        rows = self.backend.select_stream(stream_id)
        problem = stream_problem(rows, self.secret)
        if problem is not None:
            raise CorruptLog(f"{problem} — run `parcelfsm replay --verify`")
        return [to_event(r) for r in rows]

    def read_stream_rows(self, stream_ids: Sequence[str]) -> dict[str, list[EventRow]]:
        """The stored rows of each of these streams (read at once), each stream's chain
        checked as `read_stream` checks it; an unknown id is left out.

        Raises:
            CorruptLog: a stored chain does not match (names the position).
        """
        out = by_stream(self.backend.select_stream_rows(stream_ids))
        for rows in out.values():
            problem = stream_problem(rows, self.secret)
            if problem is not None:
                raise CorruptLog(f"{problem} — run `parcelfsm replay --verify`")
        return out

    def find_key(self, key: str) -> tuple[str | None, list[StoredEvent]] | None:
        """(fingerprint, the events that keyed command appended) for a known key.

        The fingerprint is `None` for a key that arrived by import.
        """
        row = self.backend.select_key(key)
        if row is None:
            return None
        events = self.backend.select_stream(row.stream_id, row.first_version, row.last_version)
        return row.fingerprint, [to_event(r) for r in events]

    def read(self, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Up to `limit` events with a position greater than `after`, in position order.

        A reader that remembers the last position it saw and asks again never skips an
        event: every backend hands out positions in the order readers can see them.
        """
        return [to_event(r) for r in self.backend.select_after(after, limit)]

    def iter_events(self, batch: int = PAGE) -> Iterator[StoredEvent]:
        """Every event in position order, a page at a time (bounded memory)."""
        last = 0
        while rows := self.backend.select_after(last, batch):
            for row in rows:
                yield to_event(row)
            last = rows[-1].position

    def iter_rows(self, batch: int = PAGE) -> Iterator[EventRow]:
        """Every stored row in (stream_id, version) order, a page at a time."""
        cursor: tuple[str, int] = ("", 0)
        while rows := self.backend.select_streams(cursor, batch):
            yield from rows
            cursor = (rows[-1].stream_id, rows[-1].version)

    def iter_stream_rows(self, batch: int = PAGE) -> Iterator[tuple[str, list[EventRow]]]:
        """Each stream with its stored rows, in stream-id order (one page in memory)."""
        current: str | None = None
        rows: list[EventRow] = []
        cursor: tuple[str, int] = ("", 0)
        while page := self.backend.select_streams(cursor, batch):
            for row in page:
                if row.stream_id != current:
                    if current is not None:
                        yield current, rows
                    current, rows = row.stream_id, []
                rows.append(row)
            cursor = (page[-1].stream_id, page[-1].version)
        if current is not None:
            yield current, rows

    def iter_streams(self, batch: int = PAGE) -> Iterator[tuple[str, list[StoredEvent]]]:
        """Each stream with its events, in stream-id order (one page in memory)."""
        current: str | None = None
        events: list[StoredEvent] = []
        for row in self.iter_rows(batch):
            if row.stream_id != current:
                if current is not None:
                    yield current, events
                current, events = row.stream_id, []
            events.append(to_event(row))
        if current is not None:
            yield current, events

    def is_empty(self) -> bool:
        """True when the log holds no event (one indexed read, whatever its size)."""
        return not self.backend.select_after(0, 1)

    def count_streams(self) -> int:
        """How many orders the log holds."""
        return self.backend.counts()[0]

    def count_events(self) -> int:
        """How many events the log holds."""
        return self.backend.counts()[1]

    # -- reading projections ----------------------------------------------------------

    def order_row(self, stream_id: str) -> OrderRow | None:
        """One order's projection row."""
        return self.backend.order_row(stream_id)

    def deadlines_of(self, stream_id: str) -> list[Deadline]:
        """One order's projected deadlines, soonest first."""
        return [to_deadline(r) for r in self.backend.deadline_rows(stream_id)]

    def order_rows(self) -> dict[str, OrderRow]:
        """The whole `orders` projection by order id (verification, tests)."""
        return {row.stream_id: row for row in self.orders(OrderFilter())}

    def deadline_rows(self) -> dict[str, list[Deadline]]:
        """The whole `deadlines` projection by order id (orders without any left out)."""
        out: dict[str, list[Deadline]] = {}
        for row in self.orders(OrderFilter()):
            deadlines = self.deadlines_of(row.stream_id)
            if deadlines:
                out[row.stream_id] = deadlines
        return out

    def due(self, before: dt.datetime, limit: int) -> list[Deadline]:
        """Open deadlines due at or before `before`, soonest first."""
        return [to_deadline(r) for r in self.backend.select_due(to_micros(before), limit)]

    def count_due(self, before: dt.datetime) -> int:
        """How many open deadlines are due at or before `before`."""
        return self.backend.count_due(to_micros(before))

    def streams_due(self, before: dt.datetime, limit: int = 1_000_000) -> list[str]:
        """Orders with a deadline due at or before `before`, earliest first (claimed
        inside a write transaction on backends shared by several workers)."""
        return self.backend.streams_due(to_micros(before), limit)

    def orders(self, where: OrderFilter, batch: int = PAGE) -> Iterator[OrderRow]:
        """Every order row matching `where`, by order id (a page at a time)."""
        after = ""
        while rows := self.backend.select_orders(where, after, batch):
            yield from rows
            after = rows[-1].stream_id

    def projected_ids(self) -> set[str]:
        """Order ids present in the projections."""
        return self.backend.projected_ids()

    # -- verification -----------------------------------------------------------------

    def verify_chain(self) -> list[str]:
        """Check each stream's versions run 1..n and its hash chain holds.

        Hashes are recomputed over the exact stored text; a problem names the first bad
        position of its stream.
        """
        problems: list[str] = []
        for _, rows in itertools.groupby(self.iter_rows(), key=lambda r: r.stream_id):
            problem = stream_problem(rows, self.secret)
            if problem is not None:
                problems.append(problem)
        return problems

    def audit(self, expect_head: tuple[int, str] | None = None) -> tuple[list[str], LogHead]:
        """Whole-log checks in position order (see `parcelfsm.store.audit`): gapless
        positions (not on PostgreSQL, whose sequences skip numbers), versions in position
        order, and the head digest, compared with `expect_head` when given."""
        audit = LogAudit(gapless=self.backend.name != "postgresql", expect=expect_head)
        last = 0
        while rows := self.backend.select_after(last, PAGE):
            for row in rows:
                audit.feed(row)
            last = rows[-1].position
        head = audit.finish()
        return audit.problems, head

    def log_head(self) -> LogHead:
        """The digest of the whole log in position order (`parcelfsm head`)."""
        return self.audit()[1]

    def close(self) -> None:
        """Close the backend."""
        self.backend.close()
