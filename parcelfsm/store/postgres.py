"""`PostgresBackend`: the event log and its projections in one PostgreSQL database.

For many app instances and timer workers on one shared log (psycopg 3, the optional
`postgres` extra: `pip install 'parcelfsm[postgres]'`). Same tables and semantics as
the SQLite backend (`parcelfsm.store.postgres_sql` holds the statements):

- `UNIQUE (stream_id, version)`: a racing writer gets `ConcurrencyConflict` (the
  service retries); idempotency keys are global (`keys`): `IdempotencyConflict`.
- Writes run in READ COMMITTED transactions, nested calls as savepoints; the
  projections are written in the append's transaction.
- Reads (`snapshot()`) run in `REPEATABLE READ, READ ONLY` transactions: one
  consistent view that never waits for a writer. `read_only=True` opens sessions with
  `default_transaction_read_only` and refuses writes with `ValidationError`.
- **Positions commit in order.** `position` comes from an identity sequence, and a
  sequence value taken by a transaction that commits late would let a reader
  following `select_after(last_seen)` skip it. So a writer takes a transaction-level
  advisory lock (the *commit-order lock*) just before inserting events and holds it
  until it commits: positions are handed out and become visible strictly in order,
  and `select_after` is a plain `position > p` scan. (Filtering on
  `pg_snapshot_xmin` alone is not enough: a transaction with a lower xid can take a
  higher position and commit first.) Writers to the log serialize from their first
  insert to their commit; everything before (folding, deciding) runs in parallel.
- **Timer workers.** `streams_due` inside a write transaction claims the orders it
  returns (`FOR UPDATE SKIP LOCKED` on their `orders` rows): two workers never fire
  the same order, and a killed worker's claims end with its connection. Writers lock
  the `orders` rows they append to before the commit-order lock, in id order, the
  order a claim takes them in, so an app and a worker never deadlock.
- `save_projections` NOTIFYs `parcelfsm_deadlines` (payload: the earliest `due_us`
  written) when it writes deadlines; `wait()` LISTENs, so an idle worker sleeps until
  the next due time or until an earlier deadline is written, never polling.
- Each thread uses its own connection from a `psycopg_pool` pool for the length of a
  transaction or snapshot (one statement outside them), so threads can share a store.

This is the only module that imports psycopg; its errors leave as `parcelfsm.errors`
types (`StorageError`, `CorruptLog`, `ConcurrencyConflict`, `IdempotencyConflict`,
`ValidationError`, `NotFound`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import psycopg
import psycopg.errors
import psycopg_pool

from parcelfsm.errors import (
    ConcurrencyConflict,
    CorruptLog,
    IdempotencyConflict,
    NotFound,
    ParcelFsmError,
    StorageError,
    ValidationError,
)
from parcelfsm.store import postgres_sql as q
from parcelfsm.store.projections import DeadlineRow, OrderFilter, OrderRow, ProjectionChange
from parcelfsm.store.recorder import EventRow, KeyRow
from parcelfsm.store.redaction import redact

Conn = psycopg.Connection[tuple[Any, ...]]


class _Session(threading.local):
    """One thread's open transaction: its connection and nesting depth (-1: snapshot)."""

    conn: Conn | None = None
    depth: int = 0


def _redact(url: str) -> str:
    return redact(url)[:200]


class PostgresBackend:
    """`Backend` on one PostgreSQL database (a `postgresql://` URL)."""

    name = "postgresql"

    def __init__(
        self, target: str, *, read_only: bool = False, create: bool = True, pool_size: int = 8
    ) -> None:
        self.url = target
        self.read_only = read_only
        self._session = _Session()
        self._listener: Conn | None = None
        kwargs: dict[str, Any] = {"autocommit": True}
        if read_only:
            kwargs["options"] = "-c default_transaction_read_only=on"
        try:
            # one direct connection first: a wrong URL fails at once, with the server's reason
            with psycopg.connect(target, connect_timeout=10, **kwargs) as probe:
                self._ensure_schema(probe, create)
        except psycopg.Error as exc:
            raise StorageError(f"cannot open database {_redact(target)}: {_first_line(exc)}") from None
        self._pool: psycopg_pool.ConnectionPool[Conn] = psycopg_pool.ConnectionPool(
            target, min_size=1, max_size=pool_size, kwargs=kwargs, open=False, timeout=30
        )
        try:
            self._pool.open(wait=True, timeout=10)
        except psycopg_pool.PoolTimeout:
            raise StorageError(f"cannot open database {_redact(target)}: no connection in 10 s") from None

    def _ensure_schema(self, conn: Conn, create: bool) -> None:
        """Create the schema only when it is missing (checked without writing)."""
        where = _redact(self.url)
        has_events, has_meta = _one(conn.execute(q.SCHEMA_STATE))
        if has_meta:
            row = conn.execute(q.SELECT_SCHEMA_VERSION).fetchone()
            version = int(row[0]) if row else 0
            if version == q.SCHEMA_VERSION:
                return
            if version > q.SCHEMA_VERSION:
                raise CorruptLog(f"database {where} has schema {version}, newer than this parcelfsm")
        elif has_events:
            raise CorruptLog(f"database {where} holds an `events` table that is not parcelfsm's")
        if self.read_only or not create:
            raise NotFound(f"database {where} has no parcelfsm schema (create it with `parcelfsm init`)")
        with conn.transaction():
            conn.execute(q.TAKE_LOCK, (q.SCHEMA_LOCK,))  # concurrent openers: one creates
            for statement in q.SCHEMA:
                conn.execute(statement)
            conn.execute(q.SET_SCHEMA_VERSION, (str(q.SCHEMA_VERSION),))

    # -- transactions -----------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A READ COMMITTED write transaction (nested: a savepoint), rolled back on error."""
        if self.read_only:
            raise ValidationError(f"database {_redact(self.url)} is open read-only")
        s = self._session
        if s.depth < 0:
            raise StorageError("cannot write inside a read snapshot")
        if s.depth > 0:
            name = f"sp{s.depth}"
            self._execute(f"SAVEPOINT {name}")
            s.depth += 1
            try:
                yield
            except BaseException:
                self._execute(f"ROLLBACK TO SAVEPOINT {name}")
                self._execute(f"RELEASE SAVEPOINT {name}")
                raise
            else:
                self._execute(f"RELEASE SAVEPOINT {name}")
            finally:
                s.depth -= 1
            return
        with self._outermost("BEGIN", 1):
            yield

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """A REPEATABLE READ, READ ONLY transaction (inside a transaction: that one)."""
        if self._session.depth:
            yield
            return
        with self._outermost("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", -1):
            yield

    @contextlib.contextmanager
    def _outermost(self, begin: str, depth: int) -> Iterator[None]:
        s = self._session
        try:
            conn = self._pool.getconn()
        except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
            raise StorageError(f"no database connection: {_first_line(exc)}") from None
        s.conn, s.depth = conn, depth
        try:
            self._execute(begin)
            try:
                yield
            except BaseException:
                with contextlib.suppress(psycopg.Error):
                    conn.execute("ROLLBACK")
                raise
            try:
                conn.execute("COMMIT" if depth > 0 else "ROLLBACK")
            except psycopg.Error as exc:
                raise _translate(exc, "commit") from None
        finally:
            s.conn, s.depth = None, 0
            self._pool.putconn(conn)

    def _execute(
        self, sql: str, params: Sequence[Any] | dict[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """Run one statement (in the thread's transaction, else on its own) and fetch its rows."""
        try:
            conn = self._session.conn
            if conn is not None:
                cur = conn.execute(sql, params)
                return cur.fetchall() if cur.description else []
            with self._pool.connection() as own:
                cur = own.execute(sql, params)
                return cur.fetchall() if cur.description else []
        except psycopg.Error as exc:
            raise _translate(exc, sql.split(" ", 1)[0].lower()) from None
        except psycopg_pool.PoolTimeout as exc:
            raise StorageError(f"no database connection: {exc}") from None

    def _atomic(self) -> contextlib.AbstractContextManager[None]:
        """Inside a write transaction, the caller's atomicity (each call is one statement,
        and the service gives each command its own savepoint); else a transaction."""
        return contextlib.nullcontext() if self._session.depth > 0 else self.transaction()

    def _executemany(self, sql: str, params: Sequence[Sequence[Any]], returning: bool = False) -> list[int]:
        conn = self._session.conn
        assert conn is not None, "executemany runs inside transaction()"
        out: list[int] = []
        try:
            with conn.cursor() as cur:
                cur.executemany(sql, params, returning=returning)
                while returning:
                    out.append(_one(cur)[0])
                    if not cur.nextset():
                        break
        except psycopg.Error as exc:
            raise _translate(exc, "insert") from None
        return out

    # -- recorder ---------------------------------------------------------------------

    def insert_events(self, rows: Sequence[EventRow], keys: Sequence[KeyRow] = ()) -> list[int]:
        """Insert rows and keys atomically with the enclosing transaction (one statement
        for the rows, under the commit-order lock); return their positions."""
        if not rows and not keys:
            return []
        with self._atomic():
            positions = sorted(r[0] for r in self._execute(q.INSERT_EVENTS, q.event_arrays(rows)))
            if keys:
                self._executemany(
                    q.INSERT_KEY,
                    [(k.key, k.stream_id, k.first_version, k.last_version, k.fingerprint) for k in keys],
                )
        return positions

    def insert_many(self, rows: Sequence[EventRow], keys: Sequence[KeyRow] = ()) -> None:
        """`insert_events` (already one statement for every row)."""
        self.insert_events(rows, keys)

    def select_stream(self, stream_id: str, first: int = 1, last: int | None = None) -> list[EventRow]:
        """A stream's rows in a version range."""
        rows = self._execute(q.SELECT_STREAM, (stream_id, first, last if last is not None else 2**31 - 1))
        return [EventRow(*r) for r in rows]

    def select_stream_rows(self, stream_ids: Sequence[str]) -> list[EventRow]:
        """Every row of these streams, in one query (`= ANY` of an array)."""
        if not stream_ids:
            return []
        return [EventRow(*r) for r in self._execute(q.SELECT_STREAM_ROWS, (list(dict.fromkeys(stream_ids)),))]

    def select_after(self, position: int, limit: int) -> list[EventRow]:
        """Rows after a position, in position order (positions commit in order: see above)."""
        return [EventRow(*r) for r in self._execute(q.SELECT_AFTER, (position, limit))]

    def select_streams(self, after: tuple[str, int], limit: int) -> list[EventRow]:
        """Rows after (stream_id, version), in that order."""
        return [EventRow(*r) for r in self._execute(q.SELECT_STREAMS, (*after, limit))]

    def select_key(self, key: str) -> KeyRow | None:
        """A key's row."""
        rows = self._execute(q.SELECT_KEY, (key,))
        return KeyRow(*rows[0]) if rows else None

    def head(self, stream_id: str) -> tuple[int, str]:
        """(version, hash) of a stream's last row."""
        rows = self._execute(q.SELECT_HEAD, (stream_id,))
        return (int(rows[0][0]), str(rows[0][1])) if rows else (0, "")

    def counts(self) -> tuple[int, int]:
        """(streams, events)."""
        streams, events = self._execute(q.COUNTS)[0]
        return int(streams), int(events)

    def check_pages(self) -> list[str]:
        """The server checks its own pages (data checksums, `amcheck`): nothing here."""
        return []

    def wait(self, seconds: float) -> None:
        """Sleep up to `seconds`, waking when another session writes deadlines (LISTEN).

        The first call only starts listening and returns at once, so the caller looks
        for due work again with no notification missed in between.
        """
        try:
            if self._listener is None:
                self._listener = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
                self._listener.execute(f"LISTEN {q.CHANNEL}")
                return
            # (never timeout=0: psycopg's C wait treats it as "no timeout")
            woken = any(True for _ in self._listener.notifies(timeout=max(0.001, seconds), stop_after=1))
            if woken:  # drain the rest of the burst: one wake-up per burst of writes
                for _ in self._listener.notifies(timeout=0.001):
                    pass
        except psycopg.Error as exc:
            self._close_listener()
            raise StorageError(f"waiting for notifications failed: {_first_line(exc)}") from None

    def close(self) -> None:
        """Close the pool and the listening connection."""
        self._close_listener()
        with contextlib.suppress(psycopg.Error, psycopg_pool.PoolTimeout):
            self._pool.close()

    def _close_listener(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(psycopg.Error):
                self._listener.close()
            self._listener = None

    # -- projections ------------------------------------------------------------------

    def save_projections(self, rows: Iterable[tuple[OrderRow, Sequence[DeadlineRow]]]) -> None:
        """Replace each order's row and deadlines in one statement; NOTIFY the earliest
        due time written, if any (delivered when the transaction commits)."""
        latest = {order.stream_id: (order, deadlines) for order, deadlines in rows}  # last wins
        if latest:
            with self._atomic():
                self._execute(q.SAVE_PROJECTIONS, q.projection_arrays(list(latest.values())))

    def update_projections(self, changes: Iterable[ProjectionChange]) -> None:
        """Write each order's row and only the deadline rows that changed, in one
        statement; NOTIFY the earliest due time written, if any."""
        items = list(changes)
        if not items:
            return
        # changes build on each other: an order named twice gets one statement per change
        unique = len({c.order.stream_id for c in items}) == len(items)
        with self._atomic():
            for group in [items] if unique else [[c] for c in items]:
                self._execute(q.UPDATE_PROJECTIONS, q.change_arrays(group))

    def order_row(self, stream_id: str) -> OrderRow | None:
        """One order's row."""
        rows = self._execute(q.SELECT_ORDER, (stream_id,))
        return OrderRow(*rows[0]) if rows else None

    def deadline_rows(self, stream_id: str) -> list[DeadlineRow]:
        """One order's deadlines."""
        return [DeadlineRow(*r) for r in self._execute(q.SELECT_DEADLINES, (stream_id,))]

    def select_due(self, before_us: int, limit: int) -> list[DeadlineRow]:
        """Deadlines due by `before_us`, soonest first."""
        return [DeadlineRow(*r) for r in self._execute(q.SELECT_DUE, (before_us, limit))]

    def count_due(self, before_us: int) -> int:
        """How many deadlines are due by `before_us`."""
        return int(self._execute(q.COUNT_DUE, (before_us,))[0][0])

    def streams_due(self, before_us: int, limit: int) -> list[str]:
        """Orders with a deadline due by `before_us`, soonest first; inside a write
        transaction they are claimed (`FOR UPDATE SKIP LOCKED`) until it ends."""
        if self._session.depth <= 0:
            return [r[0] for r in self._execute(q.SELECT_DUE_STREAMS, (before_us, limit))]
        # the claim walks deadlines, so an order with two due ones comes twice: ask for
        # more rows until `limit` distinct orders are claimed or none are left
        rows_wanted = limit
        while True:
            rows = self._execute(q.CLAIM_DUE_STREAMS, (before_us, rows_wanted))
            ids = list(dict.fromkeys(r[0] for r in rows))
            if len(ids) >= limit or len(rows) < rows_wanted:
                return ids[:limit]
            rows_wanted *= 2

    def select_orders(self, where: OrderFilter, after: str, limit: int) -> list[OrderRow]:
        """Order rows matching `where`, by id."""
        params = {
            "order_state": where.order_state,
            "parcel_state": where.parcel_state,
            "dispute_state": where.dispute_state,
            "alert": where.alert,
            "due": where.due_before_us,
            "after": after,
            "limit": limit,
        }
        return [OrderRow(*r) for r in self._execute(q.SELECT_ORDERS, params)]

    def projected_ids(self) -> set[str]:
        """Ids with a projection row or deadlines."""
        return {r[0] for r in self._execute(q.PROJECTED_IDS)}

    def clear_projections(self) -> None:
        """Empty the projections."""
        with self.transaction():
            for statement in q.CLEAR_PROJECTIONS:
                self._execute(statement)


def _one(cur: psycopg.Cursor[tuple[Any, ...]]) -> tuple[Any, ...]:
    row = cur.fetchone()
    if row is None:
        raise StorageError("the database returned no row")
    return row


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def _translate(exc: psycopg.Error, doing: str) -> ParcelFsmError:
    """A psycopg error as the `parcelfsm.errors` type a caller can act on."""
    text = _first_line(exc)
    if isinstance(exc, psycopg.errors.UniqueViolation):
        constraint = exc.diag.constraint_name or ""
        if constraint in ("events_key", "keys_key"):
            return IdempotencyConflict(f"idempotency key already used by another command ({text})")
        if constraint == "events_stream_version":
            return ConcurrencyConflict(f"the order moved on concurrently ({text})")
        return StorageError(f"database error ({doing}): {text}")
    if isinstance(
        exc,
        psycopg.errors.SerializationFailure
        | psycopg.errors.DeadlockDetected
        | psycopg.errors.LockNotAvailable
        | psycopg.errors.QueryCanceled,
    ):
        return ConcurrencyConflict(f"the database is busy ({doing}): {text}")
    if isinstance(exc, psycopg.OperationalError):
        # the server went away (restart, failover, network): a caller may try again
        return ConcurrencyConflict(f"the database server is unavailable ({doing}): {text}")
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
        return ValidationError(f"the database is read-only: {text}")
    if isinstance(exc, psycopg.DataError):
        return ValidationError(f"the database refused a value ({doing}): {text}")
    if isinstance(exc, psycopg.errors.DataCorrupted | psycopg.errors.IndexCorrupted):
        return CorruptLog(f"the database cannot be read ({doing}): {text}")
    return StorageError(f"database error ({doing}): {text}")
