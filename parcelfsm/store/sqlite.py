"""`SQLiteStore`: the `EventStore` on one SQLite file, through sqlite-utils, WAL.
 The `events` table is the log (docs/events.md, §4
"Storage"): a global `position`, `UNIQUE(stream_id, version)` so a racing writer
fails instead of forking a stream, a unique idempotency `key`, and a per-stream hash
chain. The `orders` and `deadlines` tables are projections written in the same
transaction as the append and rebuildable from the log; `deadlines.due_us` is indexed
so `due` over millions of orders is one index range scan. Every time comes from the
caller (the injected clock), never from SQLite. This is the only module that imports
`sqlite3`/`sqlite_utils`; their errors leave it as `StorageError` or the typed
conflicts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any, Final

import attrs
import sqlite_utils

from parcelfsm.canonical import canonical_json
from parcelfsm.clock import format_time, to_micros
from parcelfsm.deadlines import Deadline
from parcelfsm.errors import ConcurrencyConflict, IdempotencyConflict, StorageError
from parcelfsm.events import upcast
from parcelfsm.records import NewEvent, StoredEvent, chain_hash
from parcelfsm.store.base import OrderRow

SCHEMA_VERSION: Final = 1
_EVENT_COLUMNS: Final = (
    "position, stream_id, version, type, schema_version, occurred_at, recorded_at, "
    "due_at, key, data, prev_hash, hash"
)
SELECT_STREAM: Final = f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = ? ORDER BY version"
SELECT_ALL: Final = f"SELECT {_EVENT_COLUMNS} FROM events WHERE position > ? ORDER BY position"
SELECT_HEAD: Final = "SELECT version, hash FROM events WHERE stream_id = ? ORDER BY version DESC LIMIT 1"
SELECT_KEY: Final = "SELECT stream_id, first_version, last_version, fingerprint FROM keys WHERE key = ?"
INSERT_KEY: Final = (
    "INSERT INTO keys (key, stream_id, first_version, last_version, fingerprint) VALUES (?, ?, ?, ?, ?)"
)
SELECT_RANGE: Final = (
    f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream_id = ? AND version BETWEEN ? AND ? ORDER BY version"
)
INSERT_EVENT: Final = (
    "INSERT INTO events (stream_id, version, type, schema_version, occurred_at, recorded_at, "
    "due_at, key, data, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
UPSERT_ORDER: Final = (
    "INSERT OR REPLACE INTO orders (stream_id, version, order_state, parcel_state, "
    "dispute_state, currency, paid, held, released_to_seller, refunded_to_buyer, policy_version) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
DELETE_DEADLINES: Final = "DELETE FROM deadlines WHERE stream_id = ?"
INSERT_DEADLINE: Final = (
    "INSERT INTO deadlines (stream_id, kind, due_at, due_us, rank, rule, set_by_version, "
    "on_expiry, alert) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
SELECT_DUE: Final = (
    "SELECT stream_id, kind, due_at, rule, set_by_version, on_expiry, alert FROM deadlines "
    "WHERE due_us <= ? ORDER BY due_us, rank, set_by_version, stream_id LIMIT ?"
)
SELECT_DUE_STREAMS: Final = (
    # `+stream_id` keeps SQLite on the due_us index (a range scan, not a full scan)
    "SELECT stream_id, MIN(due_us) AS first FROM deadlines WHERE due_us <= ? "
    "GROUP BY +stream_id ORDER BY first, stream_id"
)


def _row_to_event(row: tuple[Any, ...]) -> StoredEvent:
    position, stream_id, version, type_, schema, occurred, recorded, due, key, data, prev, h = row
    payload = json.loads(data)
    if schema is not None:
        payload = upcast(type_, schema, payload)
    return StoredEvent(
        position=position,
        stream_id=stream_id,
        version=version,
        type=type_,
        schema_version=schema,
        occurred_at=dt.datetime.fromisoformat(occurred),
        recorded_at=dt.datetime.fromisoformat(recorded),
        due_at=dt.datetime.fromisoformat(due) if due else None,
        key=key,
        data=payload,
        prev_hash=prev,
        hash=h,
    )


class SQLiteStore:
    """`EventStore` on one SQLite file (or `:memory:`)."""

    def __init__(self, path: str, *, synchronous: str = "FULL") -> None:
        try:
            self._conn = sqlite3.connect(path, isolation_level=None, timeout=30.0)
            self._conn.execute("PRAGMA busy_timeout = 30000")
            if path != ":memory:":
                self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute(f"PRAGMA synchronous = {_sync_mode(synchronous)}")
            self.db = sqlite_utils.Database(self._conn)
            self._depth = 0
            self._create()
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open database {path!r}: {exc}") from None

    # -- schema -------------------------------------------------------------------------

    def _create(self) -> None:
        with self.transaction():
            self.db.table("events").create(
                {
                    "position": int,
                    "stream_id": str,
                    "version": int,
                    "type": str,
                    "schema_version": int,
                    "occurred_at": str,
                    "recorded_at": str,
                    "due_at": str,
                    "key": str,
                    "data": str,
                    "prev_hash": str,
                    "hash": str,
                },
                pk="position",
                not_null={
                    "stream_id",
                    "version",
                    "type",
                    "occurred_at",
                    "recorded_at",
                    "data",
                    "hash",
                },
                if_not_exists=True,
            )
            self.db.table("events").create_index(["stream_id", "version"], unique=True, if_not_exists=True)
            self.db.table("events").create_index(["key"], unique=True, if_not_exists=True)
            self.db.table("orders").create(
                {
                    "stream_id": str,
                    "version": int,
                    "order_state": str,
                    "parcel_state": str,
                    "dispute_state": str,
                    "currency": str,
                    "paid": int,
                    "held": int,
                    "released_to_seller": int,
                    "refunded_to_buyer": int,
                    "policy_version": str,
                },
                pk="stream_id",
                if_not_exists=True,
            )
            self.db.table("deadlines").create(
                {
                    "stream_id": str,
                    "kind": str,
                    "due_at": str,
                    "due_us": int,
                    "rank": int,
                    "rule": str,
                    "set_by_version": int,
                    "on_expiry": str,
                    "alert": str,
                },
                pk=("stream_id", "kind"),
                if_not_exists=True,
            )
            self.db.table("deadlines").create_index(
                ["due_us", "rank", "set_by_version", "stream_id"], if_not_exists=True
            )
            self.db.table("keys").create(
                {"key": str, "stream_id": str, "first_version": int, "last_version": int, "fingerprint": str},
                pk="key",
                if_not_exists=True,
            )
            self.db.table("meta").create({"name": str, "value": str}, pk="name", if_not_exists=True)
            self._conn.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )

    # -- transactions ---------------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """`BEGIN IMMEDIATE` … `COMMIT`, rolled back on any exception.

        Nested calls use a SAVEPOINT, so an inner failure undoes only the inner writes.
        """
        if self._depth:
            name = f"sp{self._depth}"
            self._conn.execute(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._conn.execute(f"ROLLBACK TO {name}")
                self._conn.execute(f"RELEASE {name}")
                raise
            else:
                self._conn.execute(f"RELEASE {name}")
            finally:
                self._depth -= 1
            return
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise StorageError(f"cannot start a write transaction: {exc}") from None
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._conn.execute("ROLLBACK")
            raise
        self._depth = 0
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._conn.execute("ROLLBACK")
            raise StorageError(f"commit failed: {exc}") from None

    def head(self, stream_id: str) -> tuple[int, str]:
        """(version, hash) of a stream's last event; (0, "") for a new stream."""
        row = self._conn.execute(SELECT_HEAD, (stream_id,)).fetchone()
        return (row[0], row[1]) if row else (0, "")

    # -- events ---------------------------------------------------------------------------

    def read_stream(self, stream_id: str) -> list[StoredEvent]:
        """All events of one stream, in version order."""
        return [_row_to_event(r) for r in self._conn.execute(SELECT_STREAM, (stream_id,))]

    def find_key(self, key: str) -> tuple[str | None, list[StoredEvent]] | None:
        """(fingerprint, the events appended with that command) for a known key.

        The fingerprint is `None` for keys that arrived by import (the original
        command's data is not in the log).
        """
        row = self._conn.execute(SELECT_KEY, (key,)).fetchone()
        if row is None:
            return None
        stream_id, first, last, fp = row
        return fp, [_row_to_event(r) for r in self._conn.execute(SELECT_RANGE, (stream_id, first, last))]

    def append(
        self,
        events: Sequence[NewEvent],
        recorded_at: dt.datetime,
        head: tuple[int, str] | None = None,
    ) -> list[StoredEvent]:
        """Append decided events (one stream, consecutive versions) to the log.

        Must run inside `transaction()`; `head` is the stream's (version, hash) when the
        caller read it in that same transaction. Raises `ConcurrencyConflict` when the
        stream is not at the version the first event expects.
        """
        if not events:
            return []
        stream_id = events[0].stream_id
        version, prev_hash = head if head is not None else self.head(stream_id)
        if events[0].version != version + 1:
            raise ConcurrencyConflict(
                f"order {stream_id!r} is at version {version}, expected {(events[0].version or 1) - 1}"
            )
        recorded = format_time(recorded_at)
        stored: list[StoredEvent] = []
        for e in events:
            assert e.version is not None
            data_json = canonical_json(e.data)
            occurred = format_time(e.occurred_at)
            due = format_time(e.due_at) if e.due_at else None
            schema = e.schema_version
            h = chain_hash(
                prev_hash,
                stream_id=stream_id,
                version=e.version,
                type=e.type,
                schema_version=schema,
                occurred_at=occurred,
                recorded_at=recorded,
                due_at=due,
                key=e.key,
                data_json=data_json,
            )
            try:
                cur = self._conn.execute(
                    INSERT_EVENT,
                    (
                        stream_id,
                        e.version,
                        e.type,
                        schema,
                        occurred,
                        recorded,
                        due,
                        e.key,
                        data_json,
                        prev_hash,
                        h,
                    ),
                )
            except sqlite3.IntegrityError as exc:
                if "key" in str(exc):
                    raise IdempotencyConflict(f"key {e.key!r} was used by another command") from None
                raise ConcurrencyConflict(f"order {stream_id!r} moved on concurrently") from None
            if e.key is not None:
                self._insert_key(e.key, stream_id, events[0].version or 1, e.version, e.fingerprint)
            position = cur.lastrowid
            assert position is not None
            stored.append(
                StoredEvent(
                    position,
                    stream_id,
                    e.version,
                    e.type,
                    schema,
                    e.occurred_at,
                    recorded_at,
                    e.due_at,
                    e.key,
                    e.data,
                    prev_hash,
                    h,
                )
            )
            prev_hash = h
        return stored

    def append_stored(self, events: Sequence[StoredEvent]) -> None:
        """Insert events exactly as stored elsewhere (import); caller checked them."""
        for e in events:
            try:
                self._conn.execute(
                    INSERT_EVENT,
                    (
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
                    ),
                )
            except sqlite3.IntegrityError as exc:
                if "events.key" in str(exc):
                    raise IdempotencyConflict(f"key {e.key!r} is already used by another event") from None
                raise ConcurrencyConflict(
                    f"{e.stream_id} v{e.version}: conflicts with a stored event ({exc})"
                ) from None
            if e.key is not None:
                self._insert_key(e.key, e.stream_id, e.version, e.version, None)

    def _insert_key(self, key: str, stream_id: str, first: int, last: int, fingerprint: str | None) -> None:
        """Remember which events a keyed command appended (its catch-up included)."""
        try:
            self._conn.execute(INSERT_KEY, (key, stream_id, first, last, fingerprint))
        except sqlite3.IntegrityError:
            raise IdempotencyConflict(f"key {key!r} was used by another command") from None

    def iter_events(self, batch: int = 1000) -> Iterator[StoredEvent]:
        """Every event in position order, fetched in pages (bounded memory)."""
        last = 0
        while True:
            rows = self._conn.execute(SELECT_ALL + " LIMIT ?", (last, batch)).fetchall()
            if not rows:
                return
            for row in rows:
                yield _row_to_event(row)
            last = rows[-1][0]

    def iter_streams(self, batch: int = 2000) -> Iterator[tuple[str, list[StoredEvent]]]:
        """Each stream with its events, in stream-id order (bounded memory: one page)."""
        sql = (
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE (stream_id, version) > (?, ?) "
            "ORDER BY stream_id, version LIMIT ?"
        )
        cursor: tuple[str, int] = ("", 0)
        current: str | None = None
        events: list[StoredEvent] = []
        while True:
            rows = self._conn.execute(sql, (*cursor, batch)).fetchall()
            if not rows:
                break
            for row in rows:
                event = _row_to_event(row)
                if event.stream_id != current:
                    if current is not None:
                        yield current, events
                    current, events = event.stream_id, []
                events.append(event)
            cursor = (rows[-1][1], rows[-1][2])
        if current is not None:
            yield current, events

    def count_events(self) -> int:
        """How many events the log holds."""
        return int(self._conn.execute("SELECT COUNT(*) FROM events").fetchone()[0])

    def count_streams(self) -> int:
        """How many orders the log holds."""
        return int(self._conn.execute("SELECT COUNT(DISTINCT stream_id) FROM events").fetchone()[0])

    def deadlines_of(self, stream_id: str) -> list[Deadline]:
        """One order's projected deadlines."""
        sql = (
            "SELECT stream_id, kind, due_at, rule, set_by_version, on_expiry, alert "
            "FROM deadlines WHERE stream_id = ? ORDER BY due_us, rank"
        )
        return [_row_to_deadline(r) for r in self._conn.execute(sql, (stream_id,))]

    def projected_ids(self) -> set[str]:
        """Order ids present in the projections."""
        ids = {r[0] for r in self._conn.execute("SELECT stream_id FROM orders")}
        return ids | {r[0] for r in self._conn.execute("SELECT DISTINCT stream_id FROM deadlines")}

    def raw_event_rows(self) -> Iterator[tuple[Any, ...]]:
        """Stored rows as text, for hash verification (no parsing, no upcasting)."""
        yield from self._conn.execute(f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY stream_id, version")

    # -- projections ----------------------------------------------------------------------

    def save_projection(self, row: OrderRow, deadlines: Sequence[Deadline]) -> None:
        """Replace one order's projection rows (inside the append's transaction)."""
        self._conn.execute(UPSERT_ORDER, attrs.astuple(row))
        self._conn.execute(DELETE_DEADLINES, (row.stream_id,))
        self._conn.executemany(
            INSERT_DEADLINE,
            [
                (
                    row.stream_id,
                    d.kind,
                    format_time(d.due_at),
                    to_micros(d.due_at),
                    d.rank,
                    d.rule,
                    d.set_by_version,
                    d.on_expiry,
                    d.alert,
                )
                for d in deadlines
                if d.due_at is not None
            ],
        )

    def due(self, before: dt.datetime, limit: int) -> list[Deadline]:
        """Open deadlines due at or before `before`, soonest first."""
        rows = self._conn.execute(SELECT_DUE, (to_micros(before), limit))
        return [_row_to_deadline(r) for r in rows]

    def streams_due(self, before: dt.datetime) -> list[str]:
        """Orders with a deadline due at or before `before`, earliest first."""
        return [r[0] for r in self._conn.execute(SELECT_DUE_STREAMS, (to_micros(before),))]

    def order_rows(self) -> dict[str, OrderRow]:
        """The whole `orders` projection (for verification)."""
        rows = self._conn.execute("SELECT * FROM orders")
        return {r[0]: OrderRow(*r) for r in rows}

    def deadline_rows(self) -> dict[str, list[Deadline]]:
        """The whole `deadlines` projection by order (for verification)."""
        out: dict[str, list[Deadline]] = {}
        sql = (
            "SELECT stream_id, kind, due_at, rule, set_by_version, on_expiry, alert "
            "FROM deadlines ORDER BY stream_id, due_us, rank"
        )
        for r in self._conn.execute(sql):
            out.setdefault(r[0], []).append(_row_to_deadline(r))
        return out

    def order_row(self, stream_id: str) -> OrderRow | None:
        """One order's projection row."""
        r = self._conn.execute("SELECT * FROM orders WHERE stream_id = ?", (stream_id,)).fetchone()
        return OrderRow(*r) if r else None

    def clear_projections(self) -> None:
        """Empty the projections (replay rebuilds them)."""
        self._conn.execute("DELETE FROM orders")
        self._conn.execute("DELETE FROM deadlines")

    def close(self) -> None:
        """Close the connection (the CLI does before it exits)."""
        self._conn.close()


def _row_to_deadline(r: tuple[Any, ...]) -> Deadline:
    stream_id, kind, due_at, rule, set_by, on_expiry, _alert = r
    return Deadline(stream_id, kind, dt.datetime.fromisoformat(due_at), rule, set_by, on_expiry)


def _sync_mode(value: str) -> str:
    mode = value.upper()
    if mode not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise StorageError(f"synchronous: {value!r} is not OFF, NORMAL, FULL or EXTRA")
    return mode
