"""The PostgreSQL backend's schema, statements and their parameters (`postgres.py` runs them).

The tables mirror the SQLite backend's column for column, so the same rows (and so the
same hashes) are stored on both. Key text columns use `COLLATE "C"`: byte order, as
SQLite compares text, whatever the database's default collation is. Every value
reaches the server as a bound parameter (`%s`); nothing here is formatted with data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from parcelfsm.store.projections import DeadlineRow, OrderRow, ProjectionChange
from parcelfsm.store.recorder import EventRow

SCHEMA_VERSION: Final = 2
#: `pg_advisory_xact_lock` keys (arbitrary constants, "pfsm" + a small number)
COMMIT_ORDER_LOCK: Final = 0x7066736D0001
SCHEMA_LOCK: Final = 0x7066736D0002
#: the channel `save_projections` notifies when it writes deadlines (payload: earliest due_us)
CHANNEL: Final = "parcelfsm_deadlines"

SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS events (
        position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        stream_id text COLLATE "C" NOT NULL, version integer NOT NULL,
        type text NOT NULL, schema_version integer, occurred_at text NOT NULL,
        recorded_at text NOT NULL, due_at text, key text COLLATE "C", data text NOT NULL,
        prev_hash text, hash text NOT NULL,
        CONSTRAINT events_stream_version UNIQUE (stream_id, version),
        CONSTRAINT events_key UNIQUE (key))""",
    """CREATE TABLE IF NOT EXISTS keys (
        key text COLLATE "C" CONSTRAINT keys_key PRIMARY KEY, stream_id text COLLATE "C" NOT NULL,
        first_version integer NOT NULL, last_version integer NOT NULL, fingerprint text)""",
    """CREATE TABLE IF NOT EXISTS orders (
        stream_id text COLLATE "C" PRIMARY KEY, version integer, order_state text,
        parcel_state text, dispute_state text, currency text, paid bigint, held bigint,
        released_to_seller bigint, refunded_to_buyer bigint, policy_version text,
        alerts text NOT NULL DEFAULT '')""",
    """CREATE TABLE IF NOT EXISTS deadlines (
        stream_id text COLLATE "C", kind text COLLATE "C", due_at text, due_us bigint,
        rank integer, rule text, set_by_version integer, on_expiry text, alert text,
        PRIMARY KEY (stream_id, kind))""",
    """CREATE INDEX IF NOT EXISTS deadlines_due
        ON deadlines (due_us, rank, set_by_version NULLS FIRST, stream_id)""",
    "CREATE TABLE IF NOT EXISTS meta (name text PRIMARY KEY, value text)",
)
SCHEMA_STATE: Final = "SELECT to_regclass('events') IS NOT NULL, to_regclass('meta') IS NOT NULL"
SELECT_SCHEMA_VERSION: Final = "SELECT value FROM meta WHERE name = 'schema_version'"
SET_SCHEMA_VERSION: Final = (
    "INSERT INTO meta (name, value) VALUES ('schema_version', %s) "
    "ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value"
)

EVENT_COLUMNS: Final = (
    "position, stream_id, version, type, schema_version, occurred_at, recorded_at, "
    "due_at, key, data, prev_hash, hash"
)
#: one statement, one round trip: lock the orders appended to (in id order: the order a
#: timer worker's claim takes them in, so an app and a worker never deadlock), then the
#: commit-order lock, then insert the rows in order (identity values follow that order)
INSERT_EVENTS: Final = (
    "WITH locked AS (SELECT count(*) AS n FROM (SELECT 1 FROM orders "
    "WHERE stream_id = ANY(%(streams)s::text[]) ORDER BY stream_id FOR UPDATE) l), "
    "ordered AS (SELECT pg_advisory_xact_lock(%(lock)s) FROM locked) "
    "INSERT INTO events (stream_id, version, type, schema_version, occurred_at, recorded_at, "
    "due_at, key, data, prev_hash, hash) "
    "SELECT r.stream_id, r.version, r.type, r.schema_version, r.occurred_at, r.recorded_at, "
    "r.due_at, r.key, r.data, r.prev_hash, r.hash FROM ordered, unnest(%(stream_id)s::text[], "
    "%(version)s::integer[], %(type)s::text[], %(schema_version)s::integer[], %(occurred_at)s::text[], "
    "%(recorded_at)s::text[], %(due_at)s::text[], %(key)s::text[], %(data)s::text[], "
    "%(prev_hash)s::text[], %(hash)s::text[]) WITH ORDINALITY AS r(stream_id, version, type, "
    "schema_version, occurred_at, recorded_at, due_at, key, data, prev_hash, hash, n) "
    "ORDER BY r.n RETURNING position"
)
INSERT_KEY: Final = (
    "INSERT INTO keys (key, stream_id, first_version, last_version, fingerprint) VALUES (%s, %s, %s, %s, %s)"
)
TAKE_LOCK: Final = "SELECT pg_advisory_xact_lock(%s)"
SELECT_STREAM: Final = (
    f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = %s AND version BETWEEN %s AND %s ORDER BY version"
)
SELECT_STREAM_ROWS: Final = (
    f"SELECT {EVENT_COLUMNS} FROM events WHERE stream_id = ANY(%s) ORDER BY stream_id, version"
)
SELECT_AFTER: Final = f"SELECT {EVENT_COLUMNS} FROM events WHERE position > %s ORDER BY position LIMIT %s"
SELECT_STREAMS: Final = (
    f"SELECT {EVENT_COLUMNS} FROM events WHERE (stream_id, version) > (%s, %s) "
    "ORDER BY stream_id, version LIMIT %s"
)
SELECT_HEAD: Final = "SELECT version, hash FROM events WHERE stream_id = %s ORDER BY version DESC LIMIT 1"
SELECT_KEY: Final = "SELECT key, stream_id, first_version, last_version, fingerprint FROM keys WHERE key = %s"
COUNTS: Final = "SELECT count(DISTINCT stream_id), count(*) FROM events"

DEADLINE_COLUMNS: Final = "stream_id, kind, due_at, due_us, rank, rule, set_by_version, on_expiry, alert"
ORDER_COLUMNS: Final = (
    "stream_id, version, order_state, parcel_state, dispute_state, currency, paid, held, "
    "released_to_seller, refunded_to_buyer, policy_version, alerts"
)
#: one statement, one round trip: upsert the orders rows, drop the deadlines no longer
#: open, upsert the open ones, and NOTIFY the earliest due time written (if any)
SAVE_PROJECTIONS: Final = (
    "WITH up AS (INSERT INTO orders (" + ORDER_COLUMNS + ") SELECT * FROM unnest("
    "%(o_stream_id)s::text[], %(o_version)s::integer[], %(o_order_state)s::text[], "
    "%(o_parcel_state)s::text[], %(o_dispute_state)s::text[], %(o_currency)s::text[], "
    "%(o_paid)s::bigint[], %(o_held)s::bigint[], %(o_released)s::bigint[], %(o_refunded)s::bigint[], "
    "%(o_policy)s::text[], %(o_alerts)s::text[]) "
    "ON CONFLICT (stream_id) DO UPDATE SET version = EXCLUDED.version, "
    "order_state = EXCLUDED.order_state, parcel_state = EXCLUDED.parcel_state, "
    "dispute_state = EXCLUDED.dispute_state, currency = EXCLUDED.currency, paid = EXCLUDED.paid, "
    "held = EXCLUDED.held, released_to_seller = EXCLUDED.released_to_seller, "
    "refunded_to_buyer = EXCLUDED.refunded_to_buyer, policy_version = EXCLUDED.policy_version, "
    "alerts = EXCLUDED.alerts), "
    "gone AS (DELETE FROM deadlines d WHERE d.stream_id = ANY(%(o_stream_id)s::text[]) "
    "AND NOT EXISTS (SELECT 1 FROM unnest(%(d_stream_id)s::text[], %(d_kind)s::text[]) AS n(s, k) "
    "WHERE n.s = d.stream_id AND n.k = d.kind)), "
    "put AS (INSERT INTO deadlines (" + DEADLINE_COLUMNS + ") SELECT * FROM unnest("
    "%(d_stream_id)s::text[], %(d_kind)s::text[], %(d_due_at)s::text[], %(d_due_us)s::bigint[], "
    "%(d_rank)s::integer[], %(d_rule)s::text[], %(d_set_by_version)s::integer[], "
    "%(d_on_expiry)s::text[], %(d_alert)s::text[]) "
    "ON CONFLICT (stream_id, kind) DO UPDATE SET due_at = EXCLUDED.due_at, due_us = EXCLUDED.due_us, "
    "rank = EXCLUDED.rank, rule = EXCLUDED.rule, set_by_version = EXCLUDED.set_by_version, "
    "on_expiry = EXCLUDED.on_expiry, alert = EXCLUDED.alert) "
    "SELECT pg_notify(%(channel)s, %(earliest)s::text) WHERE %(earliest)s::text IS NOT NULL"
)
#: the diff-shaped save (`update_projections`): the same orders upsert and deadline
#: upsert, but only the (stream, kind) pairs named in `g_*` are deleted
UPDATE_PROJECTIONS: Final = (
    SAVE_PROJECTIONS.split("gone AS (")[0]
    + "gone AS (DELETE FROM deadlines d USING unnest(%(g_stream_id)s::text[], %(g_kind)s::text[]) "
    "AS g(s, k) WHERE d.stream_id = g.s AND d.kind = g.k), "
    + "put AS ("
    + SAVE_PROJECTIONS.split("put AS (", 1)[1]
)
SELECT_ORDER: Final = f"SELECT {ORDER_COLUMNS} FROM orders WHERE stream_id = %s"
SELECT_DEADLINES: Final = (
    f"SELECT {DEADLINE_COLUMNS} FROM deadlines WHERE stream_id = %s ORDER BY due_us, rank"
)
SELECT_DUE: Final = (
    f"SELECT {DEADLINE_COLUMNS} FROM deadlines WHERE due_us <= %s "
    "ORDER BY due_us, rank, set_by_version NULLS FIRST, stream_id LIMIT %s"
)
COUNT_DUE: Final = "SELECT count(*) FROM deadlines WHERE due_us <= %s"
SELECT_DUE_STREAMS: Final = (
    "SELECT stream_id FROM deadlines WHERE due_us <= %s "
    "GROUP BY stream_id ORDER BY min(due_us), stream_id LIMIT %s"
)
#: inside a write transaction: walk the due index soonest first and lock each order's
#: row, skipping rows another worker holds (an order with two due deadlines comes twice)
CLAIM_DUE_STREAMS: Final = (
    "SELECT o.stream_id FROM deadlines d JOIN orders o ON o.stream_id = d.stream_id "
    "WHERE d.due_us <= %s ORDER BY d.due_us, d.stream_id LIMIT %s FOR UPDATE OF o SKIP LOCKED"
)
SELECT_ORDERS: Final = (
    f"SELECT {ORDER_COLUMNS} FROM orders WHERE stream_id > %(after)s "
    "AND (%(order_state)s::text IS NULL OR order_state = %(order_state)s::text) "
    "AND (%(parcel_state)s::text IS NULL OR parcel_state = %(parcel_state)s::text) "
    "AND (%(dispute_state)s::text IS NULL OR dispute_state = %(dispute_state)s::text) "
    "AND (%(alert)s::text IS NULL OR strpos(' ' || alerts || ' ', ' ' || %(alert)s::text || ' ') > 0) "
    "AND (%(due)s::bigint IS NULL OR EXISTS (SELECT 1 FROM deadlines d "
    "WHERE d.stream_id = orders.stream_id AND d.due_us <= %(due)s::bigint)) "
    "ORDER BY stream_id LIMIT %(limit)s"
)
PROJECTED_IDS: Final = "SELECT stream_id FROM orders UNION SELECT stream_id FROM deadlines"
CLEAR_PROJECTIONS: Final = ("DELETE FROM orders", "DELETE FROM deadlines")


def event_arrays(rows: Sequence[EventRow]) -> dict[str, Any]:
    """INSERT_EVENTS's parameters: one array per column, and the locks to take."""
    arrays: dict[str, Any] = {name: [getattr(r, name) for r in rows] for name in _EVENT_FIELDS}
    arrays["streams"] = sorted({r.stream_id for r in rows})
    arrays["lock"] = COMMIT_ORDER_LOCK
    return arrays


def projection_arrays(items: Sequence[tuple[OrderRow, Sequence[DeadlineRow]]]) -> dict[str, Any]:
    """SAVE_PROJECTIONS's parameters: one array per column of each table."""
    orders = [o for o, _ in items]
    deadlines = [d for _, ds in items for d in ds]
    params: dict[str, Any] = {f"o_{key}": [getattr(o, name) for o in orders] for key, name in _ORDER_FIELDS}
    params.update({f"d_{name}": [getattr(d, name) for d in deadlines] for name in _DEADLINE_FIELDS})
    params["channel"] = CHANNEL
    params["earliest"] = str(min(d.due_us for d in deadlines)) if deadlines else None
    return params


def change_arrays(changes: Sequence[ProjectionChange]) -> dict[str, Any]:
    """UPDATE_PROJECTIONS's parameters: SAVE_PROJECTIONS's, and the kinds to delete."""
    params = projection_arrays([(c.order, c.upserted) for c in changes])
    params["g_stream_id"] = [c.order.stream_id for c in changes for _ in c.removed]
    params["g_kind"] = [kind for c in changes for kind in c.removed]
    return params


_EVENT_FIELDS = (
    "stream_id", "version", "type", "schema_version", "occurred_at", "recorded_at", "due_at", "key", "data",
    "prev_hash", "hash",
)  # fmt: skip
_ORDER_FIELDS = (
    ("stream_id", "stream_id"), ("version", "version"), ("order_state", "order_state"),
    ("parcel_state", "parcel_state"), ("dispute_state", "dispute_state"), ("currency", "currency"),
    ("paid", "paid"), ("held", "held"), ("released", "released_to_seller"), ("refunded", "refunded_to_buyer"),
    ("policy", "policy_version"), ("alerts", "alerts"),
)  # fmt: skip
_DEADLINE_FIELDS = (
    "stream_id",
    "kind",
    "due_at",
    "due_us",
    "rank",
    "rule",
    "set_by_version",
    "on_expiry",
    "alert",
)
