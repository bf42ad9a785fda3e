"""`SQLiteBackend`: the event log and its projections in one SQLite file (WAL).

Tables: `events` (the log: a global `position` = rowid, `UNIQUE(stream_id, version)`
so a racing writer fails instead of forking a stream, a unique `key`, the per-stream
hash chain), `keys` (which versions each keyed command appended), and the projections
`orders` and `deadlines` (`due_us` indexed to cover `due`'s whole ORDER BY).

- Writes run in `BEGIN IMMEDIATE`: one writer at a time, so positions are handed out
  in commit order and a reader following `select_after` can never skip a row.
- Reads never take the write lock: the schema is created only when missing (checked
  with `PRAGMA user_version`, no write transaction), reads run in a deferred
  transaction on WAL snapshots, and a read-only file (or `read_only=True`) is opened
  with `mode=ro` (`immutable=1` when even that fails, e.g. a file in a read-only
  directory).
- Busy: SQLite's busy handler waits up to the busy timeout; a write lock still not
  granted becomes `ConcurrencyConflict` (exit 4), which the service retries.
- Every time comes from the caller; SQLite never picks one. This module and its
  projections half (`sqlite_projections.py`) are the only ones that import `sqlite3`;
  its errors leave as `parcelfsm.errors` types.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from typing import Any, Final

from parcelfsm.errors import (
    ConcurrencyConflict,
    CorruptLog,
    IdempotencyConflict,
    NotFound,
    StorageError,
    ValidationError,
    quote,
)
from parcelfsm.store.files import check_file, check_schema
from parcelfsm.store.recorder import EventRow, KeyRow
from parcelfsm.store.sqlite_format import (
    COMPACT_SCHEMA,
    INSERT_EVENT,
    INSERT_EVENT_CHAINED,
    POSITION_COLUMNS,
    SELECT_HASH,
    STORED_PREV_COLUMNS,
    EventEncoder,
    decoded,
    with_prev,
)
from parcelfsm.store.sqlite_projections import SQLiteProjections, translate_error
from parcelfsm.store.sqlite_schema import create_schema, upgrade

SCHEMA_VERSION: Final = COMPACT_SCHEMA
#: the oldest schema a read-only open still serves (as it is: it cannot be upgraded)
OLDEST_READABLE: Final = 2
BUSY_TIMEOUT_MS: Final = 30_000
#: pages of a new file: a command dirties ~6-9 pages (the event, its index, the order row,
#: deadline rows and their due index), each written whole to the WAL at COMMIT, so smaller
#: pages make each commit cheaper (docs/storage.md, "Page size and checkpoints")
PAGE_SIZE: Final = 2048
#: WAL pages between automatic checkpoints (~16 MB): hot pages (orders, deadlines) written
#: by many commits are copied back to the file once per checkpoint, not once per 1,000 pages
WAL_AUTOCHECKPOINT: Final = 8000
EVENT_COLUMNS: Final = (
    "position, stream_id, version, type, schema_version, occurred_at, recorded_at, "
    "due_at, key, data, prev_hash, hash"
)
#: reads of the log: `event_rows` (schema 3, the compact rows decoded) or `events` (older)
SELECT_AFTER: Final = f"SELECT {EVENT_COLUMNS} FROM {{0}} WHERE position > ? ORDER BY position LIMIT ?"
SELECT_AFTER_COMPACT: Final = (
    f"SELECT {POSITION_COLUMNS} FROM events e WHERE e.position > ? ORDER BY e.position LIMIT ?"
)
SELECT_HEAD: Final = "SELECT version, hash FROM {0} WHERE stream_id = ? ORDER BY version DESC LIMIT 1"
#: reads in (stream_id, version) order: schema 3 takes prev_hash from the row before
#: (`sqlite_format.with_prev`), an older schema-2 file opened read-only has it stored
IN_ORDER: Final = {
    compact: (
        f"SELECT {columns} FROM events e WHERE e.stream_id = ? AND e.version BETWEEN ? AND ? "
        "ORDER BY e.version",
        f"SELECT {columns} FROM events e WHERE (e.stream_id, e.version) > (?, ?) "
        "ORDER BY e.stream_id, e.version LIMIT ?",
    )
    for compact, columns in ((True, STORED_PREV_COLUMNS), (False, EVENT_COLUMNS))
}
#: `select_stream_rows`: the columns of `IN_ORDER`, for up to `IN_LIST` streams at a time
STREAM_ROWS: Final = {
    compact: f"SELECT {columns} FROM events e WHERE e.stream_id IN ({{0}}) ORDER BY e.stream_id, e.version"
    for compact, columns in ((True, STORED_PREV_COLUMNS), (False, EVENT_COLUMNS))
}
IN_LIST: Final = 500
SELECT_KEY: Final = "SELECT key, stream_id, first_version, last_version, fingerprint FROM keys WHERE key = ?"
INSERT_KEY: Final = (
    "INSERT INTO keys (key, stream_id, first_version, last_version, fingerprint) VALUES (?, ?, ?, ?, ?)"
)


def _sqlite_path(target: str) -> str:
    if target.startswith("sqlite:///"):
        return urllib.parse.unquote(target.removeprefix("sqlite:///"))
    if target.startswith("sqlite://"):
        raise ValidationError(f"db: {target[:100]!r}: use sqlite:///PATH (three slashes)")
    return target


class SQLiteBackend(SQLiteProjections):
    """`Backend` on one SQLite file."""

    name = "sqlite"

    def __init__(
        self, target: str, *, read_only: bool = False, create: bool = True, synchronous: str = "FULL"
    ) -> None:
        self.path = _sqlite_path(target)
        self.read_only = read_only
        self._depth = 0
        self._encoder = EventEncoder()
        self._type_names: dict[int, str] = {}
        self._source = "event_rows"
        self._compact = True
        mode = _sync_mode(synchronous)
        if self.path != ":memory:" and not os.path.exists(self.path) and (read_only or not create):
            raise NotFound(f"database {self.path!r} does not exist (it is created by init or by a write)")
        check_file(self.path)  # a directory, /dev/null, random bytes: CorruptLog naming it
        if (
            not read_only
            and self.path != ":memory:"
            and not os.access(self.path, os.W_OK)
            and os.path.exists(self.path)
        ):
            self.read_only = read_only = True
        self._conn = self._connect(read_only)
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._conn.execute(f"PRAGMA synchronous = {mode}")
            self._conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT}")
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if self.read_only and OLDEST_READABLE <= version < SCHEMA_VERSION:
                self._source = "events"  # an older file opened read-only: its rows as they are
                self._compact = False
            elif version != SCHEMA_VERSION:
                self._migrate(version)
            self._check_schema()
        except sqlite3.DatabaseError as exc:
            self._conn.close()
            raise CorruptLog(f"database {self.path!r} cannot be read: {exc}") from None
        except BaseException:
            self._conn.close()
            raise

    def _connect(self, read_only: bool) -> sqlite3.Connection:
        try:
            if not read_only:
                return sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            uri = "file:" + urllib.parse.quote(os.path.abspath(self.path))
            try:
                conn = sqlite3.connect(uri + "?mode=ro", uri=True, isolation_level=None)
                conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
                return conn
            except sqlite3.Error:
                # no write access to the -wal/-shm files either: read the file as it is
                return sqlite3.connect(uri + "?immutable=1", uri=True, isolation_level=None)
        except sqlite3.Error as exc:
            raise CorruptLog(f"cannot open database {self.path!r}: {exc}") from None

    def _migrate(self, version: int) -> None:
        """Create or upgrade the schema (the only write an open may do)."""
        if self.read_only:
            raise CorruptLog(
                f"database {self.path!r} has schema {version}, this parcelfsm needs {SCHEMA_VERSION}"
                + ("" if version else " (not a parcelfsm database)")
            )
        if self.path != ":memory:" and version == 0:
            # outside any transaction: SQLite cannot switch a journal mode inside one, and
            # the page size is fixed once the file is in WAL mode
            self._execute(f"PRAGMA page_size = {PAGE_SIZE}")
            self._execute("PRAGMA journal_mode = WAL").fetchone()
        with self.transaction():
            version = self._conn.execute("PRAGMA user_version").fetchone()[0]
            if version == SCHEMA_VERSION:
                return  # another process created it while we waited
            has_events = self._conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'events'"
            ).fetchone()
            if version > SCHEMA_VERSION:
                raise CorruptLog(f"database {self.path!r} has schema {version}, newer than this parcelfsm")
            if version == 0 and has_events:
                legacy = self._conn.execute("SELECT value FROM meta WHERE name = 'schema_version'").fetchone()
                if legacy is None:
                    raise CorruptLog(
                        f"database {self.path!r} holds an `events` table that is not parcelfsm's"
                    )
                version = int(legacy[0])
            if version == 0:
                create_schema(self._conn)
            elif version in (1, 2):
                check_schema(self._conn, self.path)  # never rewrite someone else's table
                upgrade(self._conn, version)  # to the compact format, in this transaction
            else:
                raise CorruptLog(f"database {self.path!r} has an unknown schema {version}")
            self._conn.execute(
                "INSERT OR REPLACE INTO meta (name, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
            self._conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        if version in (1, 2):
            # the old tables' pages are free now: give them back (best effort; a busy or
            # full disk leaves a correct, larger file whose free pages later writes reuse)
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("VACUUM")

    def _check_schema(self) -> None:
        check_schema(self._conn, self.path)  # a foreign `events` table: CorruptLog
        names = {r[0] for r in self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = {"events", "orders", "deadlines", "keys"} - names
        if missing:
            raise CorruptLog(f"database {self.path!r} lacks table(s) {', '.join(sorted(missing))}")

    # -- transactions -----------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """`BEGIN IMMEDIATE` … `COMMIT` (nested: SAVEPOINT), rolled back on any exception."""
        if self.read_only:
            raise ValidationError(f"database {self.path!r} is open read-only")
        if self._depth < 0:
            raise StorageError("a write inside a read snapshot (the caller's bug)")
        if self._depth:
            name = f"sp{self._depth}"
            self._execute(f"SAVEPOINT {name}")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._forget()
                self._execute(f"ROLLBACK TO {name}")
                self._execute(f"RELEASE {name}")
                raise
            else:
                self._execute(f"RELEASE {name}")
            finally:
                self._depth -= 1
            return
        self._begin("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            self._rollback()
            raise
        self._depth = 0
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise translate_error(self.path, exc, "commit") from None
        self._encoder.committed()

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """A deferred read transaction: a WAL snapshot that never waits for a writer."""
        if self._depth:
            yield
            return
        self._begin("BEGIN")
        self._depth = -1
        try:
            yield
        finally:
            self._depth = 0
            self._rollback()

    def _atomic(self) -> contextlib.AbstractContextManager[None]:
        """Inside a write transaction, its caller's (savepoint) atomicity; else one of our own.

        The service runs each command in its own transaction or savepoint, so a second
        savepoint per call would only cost statements.
        """
        return contextlib.nullcontext() if self._depth > 0 else self.transaction()

    def _begin(self, statement: str) -> None:
        # the busy handler waits up to the busy timeout; after that the caller retries
        try:
            self._conn.execute(statement)
        except sqlite3.Error as exc:
            raise translate_error(self.path, exc, "begin") from None

    def _forget(self) -> None:
        """Ids handed out in a transaction that rolls back may be given again: forget them."""
        if self._encoder.dirty:
            self._type_names.clear()
        self._encoder.forget()

    def _rollback(self) -> None:
        self._forget()
        with contextlib.suppress(sqlite3.Error):
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise translate_error(self.path, exc, "query") from None

    # -- recorder ---------------------------------------------------------------------

    def insert_events(self, rows: Sequence[EventRow], keys: Sequence[KeyRow] = ()) -> list[int]:
        """Insert rows and keys atomically with the enclosing transaction; return the positions."""
        positions: list[int] = []
        with self._atomic():
            for r in rows:
                try:
                    cur = self._conn.execute(INSERT_EVENT, self._encoder.params(self._conn, r))
                except sqlite3.IntegrityError as exc:
                    if "key" in str(exc):
                        raise IdempotencyConflict(
                            f"key {quote(r.key)} is already used by another event"
                        ) from None
                    raise ConcurrencyConflict(
                        f"order {r.stream_id!r} moved on concurrently (v{r.version})"
                    ) from None
                except sqlite3.Error as exc:
                    raise translate_error(self.path, exc, "insert") from None
                assert cur.lastrowid is not None
                positions.append(cur.lastrowid)
            for k in keys:
                try:
                    self._conn.execute(
                        INSERT_KEY, (k.key, k.stream_id, k.first_version, k.last_version, k.fingerprint)
                    )
                except sqlite3.IntegrityError:
                    raise IdempotencyConflict(f"key {quote(k.key)} was used by another command") from None
        return positions

    def insert_many(self, rows: Sequence[EventRow], keys: Sequence[KeyRow] = ()) -> None:
        """`insert_events` in bulk (an import's batch): one `executemany` for the rows and
        one for the keys, in a savepoint of their own; a row or key that is taken undoes
        them and the rows go in one by one, so the conflict raised names its row."""
        if not self._compact:  # a schema-2 file is read-only: let the usual path refuse
            self.insert_events(rows, keys)
            return
        try:
            with self.transaction():
                try:
                    self._conn.executemany(INSERT_EVENT_CHAINED, self._encoder.bulk_params(self._conn, rows))
                    self._conn.executemany(
                        INSERT_KEY,
                        [(k.key, k.stream_id, k.first_version, k.last_version, k.fingerprint) for k in keys],
                    )
                except sqlite3.IntegrityError:
                    raise _Taken from None
                except sqlite3.Error as exc:
                    raise translate_error(self.path, exc, "insert") from None
        except _Taken:
            self.insert_events(rows, keys)  # raises the conflict naming the row or key

    def select_stream(self, stream_id: str, first: int = 1, last: int | None = None) -> list[EventRow]:
        """A stream's rows in a version range."""
        last = last if last is not None else 2**62
        return self._in_order(IN_ORDER[self._compact][0], (stream_id, first, last))

    def select_stream_rows(self, stream_ids: Sequence[str]) -> list[EventRow]:
        """Every row of these streams, `IN_LIST` streams per query, in (stream_id,
        version) order within each query (`with_prev` decodes them as `select_streams`)."""
        names = list(dict.fromkeys(stream_ids))
        out: list[EventRow] = []
        for i in range(0, len(names), IN_LIST):
            part = names[i : i + IN_LIST]
            sql = STREAM_ROWS[self._compact].format(", ".join("?" * len(part)))
            out.extend(self._in_order(sql, part))
        return out

    def select_after(self, position: int, limit: int) -> list[EventRow]:
        """Rows after a position, in position order."""
        if not self._compact:
            return [EventRow(*r) for r in self._execute(SELECT_AFTER.format("events"), (position, limit))]
        return decoded(self._execute(SELECT_AFTER_COMPACT, (position, limit)), self._type_name)

    def select_streams(self, after: tuple[str, int], limit: int) -> list[EventRow]:
        """Rows after (stream_id, version), in that order."""
        return self._in_order(IN_ORDER[self._compact][1], (*after, limit))

    def _in_order(self, sql: str, params: Sequence[Any]) -> list[EventRow]:
        rows = self._execute(sql, params)
        if not self._compact:
            return [EventRow(*r) for r in rows]
        return with_prev(rows, self._hash_at, self._type_name)

    def _type_name(self, type_id: int) -> str:
        """A type id's name (ids never change once committed; forgotten on a rollback)."""
        name = self._type_names.get(type_id)
        if name is None:
            self._type_names = dict(self._execute("SELECT id, name FROM types").fetchall())
            name = self._type_names.get(type_id, "")
        return name

    def _hash_at(self, stream_id: str, version: int) -> str:
        row = self._execute(SELECT_HASH, (stream_id, version)).fetchone()
        return str(row[0]) if row else ""

    def select_key(self, key: str) -> KeyRow | None:
        """A key's row."""
        row = self._execute(SELECT_KEY, (key,)).fetchone()
        return KeyRow(*row) if row else None

    def head(self, stream_id: str) -> tuple[int, str]:
        """(version, hash) of a stream's last row."""
        row = self._execute(SELECT_HEAD.format(self._source), (stream_id,)).fetchone()
        return (row[0], row[1]) if row else (0, "")

    def counts(self) -> tuple[int, int]:
        """(streams, events)."""
        row = self._execute("SELECT COUNT(DISTINCT stream_id), COUNT(*) FROM events").fetchone()
        return int(row[0]), int(row[1])

    def check_pages(self) -> list[str]:
        """`PRAGMA quick_check`: every page and index of the file readable and consistent."""
        try:
            found = [str(r[0]) for r in self._conn.execute("PRAGMA quick_check").fetchall()]
        except sqlite3.Error as exc:
            error = translate_error(self.path, exc, "checking its pages")
            if isinstance(error, CorruptLog):
                return [error.message]
            raise error from None
        return [] if found == ["ok"] else [f"{self.path}: {text}" for text in found]

    def close(self) -> None:
        """Close the connection."""
        with contextlib.suppress(sqlite3.Error):
            self._conn.close()

    def wait(self, seconds: float) -> None:
        """SQLite has no notifications: sleep (the timer loop caps `seconds`)."""
        time.sleep(max(0.0, seconds))


class _Taken(Exception):
    """A bulk insert met a taken (stream_id, version) or key (`insert_many` retries
    row by row to name it)."""


def _sync_mode(value: str) -> str:
    mode = value.upper()
    if mode not in ("OFF", "NORMAL", "FULL", "EXTRA"):
        raise StorageError(f"synchronous: {quote(value, 40)} is not OFF, NORMAL, FULL or EXTRA")
    return mode
