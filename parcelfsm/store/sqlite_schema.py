"""Creating the SQLite schema, and upgrading schema 1 (parcelfsm 0.1) or 2 to schema 3.

Runs inside the backend's write transaction, so an upgrade is all or nothing: the old
tables are renamed aside, the compact ones created, every row copied (events in
position order, through the same encoder as an append, so each keeps its position and
gives back the row it was), and the old tables dropped. Schema 1 differs from 2 only in
lacking `orders.alerts` (copied as ""). After the commit the backend runs `VACUUM` to
give the old tables' pages back (if it cannot, later writes reuse them).
"""

from __future__ import annotations

from typing import Final

from parcelfsm.store.recorder import EventRow
from parcelfsm.store.sqlite_format import (
    EVENTS_DDL,
    INSERT_EVENT_AT,
    OTHER_DDL,
    PROJECTIONS_DDL,
    Connection,
    EventEncoder,
    pack_due_at,
)

_OLD_EVENTS: Final = (
    "SELECT position, stream_id, version, type, schema_version, occurred_at, recorded_at, due_at, key, "
    "data, prev_hash, hash FROM old_events ORDER BY position"
)
_ORDER_COLUMNS: Final = (
    "stream_id, version, order_state, parcel_state, dispute_state, currency, paid, held, "
    "released_to_seller, refunded_to_buyer, policy_version"
)
_DEADLINE_COLUMNS: Final = "stream_id, kind, due_at, due_us, rank, rule, set_by_version, on_expiry, alert"
_KEY_COLUMNS: Final = "key, stream_id, first_version, last_version, fingerprint"


def create_schema(conn: Connection) -> None:
    """The tables, indexes and view of an empty database (schema 3), with today's event
    type names already in `types` (an append then never inserts one)."""
    from parcelfsm.events import EVENT_TYPES

    for statement in (*EVENTS_DDL, *PROJECTIONS_DDL, *OTHER_DDL):
        conn.execute(statement)
    for name in sorted(EVENT_TYPES):
        conn.execute("INSERT INTO types (name) VALUES (?)", (name,))


def upgrade(conn: Connection, version: int) -> None:
    """Rewrite a schema-1 or schema-2 database in the compact format (inside a transaction)."""
    for table in ("events", "orders", "deadlines", "keys"):
        conn.execute(f"ALTER TABLE {table} RENAME TO old_{table}")
        indexes = conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (f"old_{table}",),
        ).fetchall()
        for (name,) in indexes:
            conn.execute(f'DROP INDEX "{name}"')
    create_schema(conn)
    encoder = EventEncoder()
    for values in conn.execute(_OLD_EVENTS):  # a cursor: one row in memory at a time
        row = EventRow(*values)
        conn.execute(INSERT_EVENT_AT, (*encoder.params(conn, row), row.position))
    alerts = "alerts" if version >= 2 else "''"
    conn.execute(
        f"INSERT INTO orders ({_ORDER_COLUMNS}, alerts) SELECT {_ORDER_COLUMNS}, {alerts} FROM old_orders"
    )
    deadlines = conn.execute(f"SELECT {_DEADLINE_COLUMNS} FROM old_deadlines").fetchall()
    for d in deadlines:
        packed = (d[0], d[1], pack_due_at(d[2], d[3]), *d[3:])
        conn.execute(
            f"INSERT INTO deadlines ({_DEADLINE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", packed
        )
    conn.execute(f"INSERT INTO keys ({_KEY_COLUMNS}) SELECT {_KEY_COLUMNS} FROM old_keys")
    for table in ("events", "orders", "deadlines", "keys"):
        conn.execute(f"DROP TABLE old_{table}")
