"""The SQLite backend's projections: the `orders` rows and the `deadlines` due index.

`SQLiteProjections` is the half of `SQLiteBackend` that implements the `Projections`
protocol (store/projections.py) over the backend's connection and transactions: whole
rewrites in three `executemany` calls (rebuild, a tick chunk), change-writes that touch
only the deadline rows a command changed (`update_projections`, upserts in place), and
the reads behind `show`, `due`, `list` and the timer workers.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

from parcelfsm.errors import ConcurrencyConflict, CorruptLog, StorageError, ValidationError, quote
from parcelfsm.store.projections import DeadlineRow, OrderFilter, OrderRow, ProjectionChange
from parcelfsm.store.sqlite_format import pack_due_at, unpack_due_at

ORDER_COLUMNS: Final = (
    "stream_id, version, order_state, parcel_state, dispute_state, currency, paid, held, "
    "released_to_seller, refunded_to_buyer, policy_version, alerts"
)


def _on_conflict_update(columns: str, keys: tuple[str, ...]) -> str:
    """`ON CONFLICT … DO UPDATE` of every non-key column: an existing row is updated in
    place (its rowid and primary-key index entry stay), where `INSERT OR REPLACE`
    deletes it and inserts a new one — a page more to write at each commit."""
    rest = [c.strip() for c in columns.split(",") if c.strip() not in keys]
    return f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in rest)


UPSERT_ORDER: Final = (
    f"INSERT INTO orders ({ORDER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    + _on_conflict_update(ORDER_COLUMNS, ("stream_id",))
)
DEADLINE_COLUMNS: Final = "stream_id, kind, due_at, due_us, rank, rule, set_by_version, on_expiry, alert"
DELETE_DEADLINES: Final = "DELETE FROM deadlines WHERE stream_id = ?"
INSERT_DEADLINE: Final = f"INSERT INTO deadlines ({DEADLINE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
#: the diff-shaped save (`update_projections`): one kind's row deleted, or written over
DELETE_DEADLINE: Final = "DELETE FROM deadlines WHERE stream_id = ? AND kind = ?"
UPSERT_DEADLINE: Final = INSERT_DEADLINE + _on_conflict_update(DEADLINE_COLUMNS, ("stream_id", "kind"))
SELECT_DEADLINES: Final = (
    f"SELECT {DEADLINE_COLUMNS} FROM deadlines WHERE stream_id = ? ORDER BY due_us, rank"
)
SELECT_DUE: Final = (
    f"SELECT {DEADLINE_COLUMNS} FROM deadlines WHERE due_us <= ? "
    "ORDER BY due_us, rank, set_by_version, stream_id LIMIT ?"
)
COUNT_DUE: Final = "SELECT COUNT(*) FROM deadlines WHERE due_us <= ?"
SELECT_DUE_STREAMS: Final = (
    # `+stream_id` keeps SQLite on the due_us index (a range scan, not a full scan)
    "SELECT stream_id, MIN(due_us) AS first FROM deadlines WHERE due_us <= ? "
    "GROUP BY +stream_id ORDER BY first, stream_id LIMIT ?"
)
SELECT_ORDERS: Final = (
    f"SELECT {ORDER_COLUMNS} FROM orders WHERE stream_id > ?6 "
    "AND (?1 IS NULL OR order_state = ?1) AND (?2 IS NULL OR parcel_state = ?2) "
    "AND (?3 IS NULL OR dispute_state = ?3) "
    "AND (?4 IS NULL OR ' ' || alerts || ' ' LIKE '% ' || ?4 || ' %') "
    "AND (?5 IS NULL OR EXISTS (SELECT 1 FROM deadlines d "
    "WHERE d.stream_id = orders.stream_id AND d.due_us <= ?5)) "
    "ORDER BY stream_id LIMIT ?7"
)


class SQLiteProjections:
    """The `Projections` methods of `SQLiteBackend` (which provides the connection, its
    path and its transactions)."""

    path: str
    _conn: sqlite3.Connection

    if TYPE_CHECKING:

        def _execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor: ...

        def _atomic(self) -> contextlib.AbstractContextManager[None]: ...

        def transaction(self) -> contextlib.AbstractContextManager[None]: ...

    def save_projections(self, rows: Iterable[tuple[OrderRow, Sequence[DeadlineRow]]]) -> None:
        """Replace each order's row and deadlines: three `executemany` calls for the
        whole batch (a rebuild or a tick chunk writes hundreds of orders at once)."""
        latest = {order.stream_id: (order, deadlines) for order, deadlines in rows}
        orders = [_order_tuple(order) for order, _ in latest.values()]
        ids = [(stream_id,) for stream_id in latest]
        deadlines = [_deadline_tuple(d) for _, ds in latest.values() for d in ds]
        with self._atomic():
            try:
                self._conn.executemany(UPSERT_ORDER, orders)
                self._conn.executemany(DELETE_DEADLINES, ids)
                if deadlines:
                    self._conn.executemany(INSERT_DEADLINE, deadlines)
            except sqlite3.Error as exc:
                raise translate_error(self.path, exc, "insert") from None

    def update_projections(self, changes: Iterable[ProjectionChange]) -> None:
        """Write each order's row and only the deadline rows that changed (a command
        that leaves the deadlines alone costs one statement here, not three)."""
        items = list(changes)
        # changes build on each other: an order named twice gets its changes in turn
        unique = len({c.order.stream_id for c in items}) == len(items)
        with self._atomic():
            for group in [items] if unique else [[c] for c in items]:
                self._apply_changes(group)

    def _apply_changes(self, changes: list[ProjectionChange]) -> None:
        gone = [(c.order.stream_id, kind) for c in changes for kind in c.removed]
        put = [_deadline_tuple(d) for c in changes for d in c.upserted]
        try:
            if len(changes) == 1:
                self._conn.execute(UPSERT_ORDER, _order_tuple(changes[0].order))
            elif changes:
                self._conn.executemany(UPSERT_ORDER, [_order_tuple(c.order) for c in changes])
            if gone:
                self._conn.executemany(DELETE_DEADLINE, gone)
            if put:
                self._conn.executemany(UPSERT_DEADLINE, put)
        except sqlite3.Error as exc:
            raise translate_error(self.path, exc, "insert") from None

    def order_row(self, stream_id: str) -> OrderRow | None:
        """One order's row."""
        row = self._execute(
            f"SELECT {ORDER_COLUMNS} FROM orders WHERE stream_id = ?", (stream_id,)
        ).fetchone()
        return OrderRow(*row) if row else None

    def deadline_rows(self, stream_id: str) -> list[DeadlineRow]:
        """One order's deadlines."""
        return [_deadline_row(r) for r in self._execute(SELECT_DEADLINES, (stream_id,))]

    def select_due(self, before_us: int, limit: int) -> list[DeadlineRow]:
        """Deadlines due by `before_us`, soonest first."""
        return [_deadline_row(r) for r in self._execute(SELECT_DUE, (before_us, limit))]

    def count_due(self, before_us: int) -> int:
        """How many deadlines are due by `before_us`."""
        return int(self._execute(COUNT_DUE, (before_us,)).fetchone()[0])

    def streams_due(self, before_us: int, limit: int) -> list[str]:
        """Orders with a deadline due by `before_us` (one writer at a time: no claim needed)."""
        return [r[0] for r in self._execute(SELECT_DUE_STREAMS, (before_us, limit))]

    def select_orders(self, where: OrderFilter, after: str, limit: int) -> list[OrderRow]:
        """Order rows matching `where`, by id."""
        params = (
            where.order_state,
            where.parcel_state,
            where.dispute_state,
            where.alert,
            where.due_before_us,
            after,
            limit,
        )
        return [OrderRow(*r) for r in self._execute(SELECT_ORDERS, params)]

    def projected_ids(self) -> set[str]:
        """Ids with a projection row or deadlines."""
        ids = {r[0] for r in self._execute("SELECT stream_id FROM orders")}
        return ids | {r[0] for r in self._execute("SELECT DISTINCT stream_id FROM deadlines")}

    def clear_projections(self) -> None:
        """Empty the projections."""
        with self.transaction():
            self._execute("DELETE FROM orders")
            self._execute("DELETE FROM deadlines")


def _order_tuple(o: OrderRow) -> tuple[Any, ...]:
    return (
        o.stream_id,
        o.version,
        o.order_state,
        o.parcel_state,
        o.dispute_state,
        o.currency,
        o.paid,
        o.held,
        o.released_to_seller,
        o.refunded_to_buyer,
        o.policy_version,
        o.alerts,
    )


def _deadline_tuple(d: DeadlineRow) -> tuple[Any, ...]:
    due_at = pack_due_at(d.due_at, d.due_us)  # NULL when due_us gives it back (sqlite_format)
    return (d.stream_id, d.kind, due_at, d.due_us, d.rank, d.rule, d.set_by_version, d.on_expiry, d.alert)


def _deadline_row(r: tuple[Any, ...]) -> DeadlineRow:
    return DeadlineRow(r[0], r[1], unpack_due_at(r[2], r[3]), *r[3:])


def translate_error(path: str, exc: sqlite3.Error, doing: str) -> Exception:
    """The `parcelfsm.errors` type of a driver error: busy → `ConcurrencyConflict`, a
    damaged file → `CorruptLog` naming it, read-only → `ValidationError`, else
    `StorageError`."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        return ConcurrencyConflict(f"the database stayed busy ({doing}): {text}")
    if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
        return CorruptLog(f"database {quote(path, 200)} cannot be read ({doing}): {text}")
    if "readonly" in text or "read-only" in text:
        return ValidationError(f"the database is read-only: {text}")
    return StorageError(f"database error ({doing}): {text}")
