"""The compact SQLite format (schema 3): the same logical rows in fewer bytes, lossless.

`EventLog` hands the SQLite backend `EventRow`s of text and integers and must get the
very same rows back (the hash chain is computed over them, above every backend). This
module is how the backend stores them in fewer bytes, each rule checked on the way in
so that a row it cannot shorten exactly is stored as it came:

- `hash`: a 32-byte BLOB when it is 64 lowercase hex digits (as every hash the log
  writes is), else the text as given. Read back as `lower(hex(hash))`.
- `prev_hash`: NULL when it is what the chain says it must be — `""` at version 1, else
  the hash of the same stream's previous version as stored — decided by the INSERT
  itself (one index lookup in SQLite); any other value is stored as given.
- `recorded_at`: NULL when equal to `occurred_at` (the common case: a command recorded
  when it happened).
- `type`: the id of its name in `types` (an INTEGER; a text value, e.g. a hand edit,
  reads back as itself).
- `data`: an order's policy (the `"policy":{…}` object, ~650 B per order) is kept once
  per distinct text in `policies`; the row keeps `null` in its place, `policy_id` and
  `policy_at` (the character offset). `data[:at] + text + data[at + 4:]` restores the
  exact text: no JSON is parsed or re-encoded on the way back. Data holding a NUL keeps
  its policy inline (SQLite's `substr()` stops at a NUL; canonical JSON never has one).
- `deadlines.due_at`: NULL when it is `due_us` formatted as the clock formats times.

The `event_rows` view applies the reverse rules in SQL and gives the logical row
(columns as `EventRow`), so reads stay `EventRow(*row)` and an analyst's SQL can use it.
No module here imports a driver: the backend passes its connection in.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, Protocol

from parcelfsm.store.recorder import EventRow

COMPACT_SCHEMA: Final = 3
#: where a policy object starts in an order's canonical data, and what stays in its place
POLICY_MARK: Final = '"policy":{'
PLACEHOLDER: Final = "null"
#: a shorter object is left inline (its id and offset would cost about as much)
MIN_POLICY: Final = 64
_CACHE: Final = 256
_EPOCH: Final = dt.datetime(1970, 1, 1)
_DECODER: Final = json.JSONDecoder()

_HASH_TEXT: Final = "CASE typeof({0}.hash) WHEN 'blob' THEN lower(hex({0}.hash)) ELSE {0}.hash END"
_TYPE_TEXT: Final = (
    "CASE typeof(e.type) WHEN 'integer' THEN coalesce((SELECT name FROM types WHERE id = e.type), '') "
    "ELSE e.type END"
)
_DATA_TEXT: Final = (
    "CASE WHEN e.policy_id IS NULL THEN e.data ELSE substr(e.data, 1, e.policy_at) "
    "|| coalesce((SELECT text FROM policies WHERE id = e.policy_id), '') "
    f"|| substr(e.data, e.policy_at + {len(PLACEHOLDER) + 1}) END"
)
_PREV_TEXT: Final = (
    "coalesce(e.prev_hash, CASE WHEN e.version = 1 THEN '' ELSE (SELECT "
    + _HASH_TEXT.format("p")
    + " FROM events p WHERE p.stream_id = e.stream_id AND p.version = e.version - 1) END, '')"
)
#: the logical row of `events e` but `type` and `hash` as stored (`decoded` maps them in
#: Python, cheaper than SQL), for reads in position order
POSITION_COLUMNS: Final = (
    "e.position, e.stream_id, e.version, e.type, e.schema_version, e.occurred_at, "
    f"coalesce(e.recorded_at, e.occurred_at), e.due_at, e.key, {_DATA_TEXT}, {_PREV_TEXT}, e.hash"
)
#: the logical row of `events e` but `type`, `prev_hash` and `hash` as stored, for reads
#: in (stream_id, version) order, where `with_prev` takes a NULL `prev_hash` from the row before
STORED_PREV_COLUMNS: Final = (
    "e.position, e.stream_id, e.version, e.type, e.schema_version, e.occurred_at, "
    f"coalesce(e.recorded_at, e.occurred_at), e.due_at, e.key, {_DATA_TEXT}, e.prev_hash, e.hash"
)
#: the hash of one row, as text
SELECT_HASH: Final = f"SELECT {_HASH_TEXT.format('e')} FROM events e WHERE e.stream_id = ? AND e.version = ?"

EVENTS_DDL: Final = (
    """CREATE TABLE events (
    position INTEGER PRIMARY KEY,
    stream_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    type NOT NULL,
    schema_version INTEGER,
    occurred_at TEXT NOT NULL,
    recorded_at TEXT,
    due_at TEXT,
    key TEXT,
    data TEXT NOT NULL,
    policy_id INTEGER,
    policy_at INTEGER,
    prev_hash TEXT,
    hash BLOB NOT NULL
)""",
    "CREATE UNIQUE INDEX idx_events_stream_id_version ON events (stream_id, version)",
    "CREATE UNIQUE INDEX idx_events_key ON events (key) WHERE key IS NOT NULL",
    "CREATE TABLE policies (id INTEGER PRIMARY KEY, text TEXT NOT NULL UNIQUE)",
    # no index on name: it is looked up under the write lock, in a table of a few rows
    "CREATE TABLE types (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
    f"""CREATE VIEW event_rows AS SELECT
    e.position AS position, e.stream_id AS stream_id, e.version AS version, {_TYPE_TEXT} AS type,
    e.schema_version AS schema_version, e.occurred_at AS occurred_at,
    coalesce(e.recorded_at, e.occurred_at) AS recorded_at, e.due_at AS due_at, e.key AS key,
    {_DATA_TEXT} AS data,
    {_PREV_TEXT} AS prev_hash,
    {_HASH_TEXT.format("e")} AS hash
FROM events e""",
)
PROJECTIONS_DDL: Final = (
    """CREATE TABLE orders (
    stream_id TEXT PRIMARY KEY, version INTEGER, order_state TEXT, parcel_state TEXT,
    dispute_state TEXT, currency TEXT, paid INTEGER, held INTEGER, released_to_seller INTEGER,
    refunded_to_buyer INTEGER, policy_version TEXT, alerts TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID""",
    """CREATE TABLE deadlines (
    stream_id TEXT NOT NULL, kind TEXT NOT NULL, due_at TEXT, due_us INTEGER, rank INTEGER, rule TEXT,
    set_by_version INTEGER, on_expiry TEXT, alert TEXT, PRIMARY KEY (stream_id, kind)
) WITHOUT ROWID""",
    "CREATE INDEX idx_deadlines_due_us_rank_set_by_version_stream_id "
    "ON deadlines (due_us, rank, set_by_version, stream_id)",
)
OTHER_DDL: Final = (
    """CREATE TABLE keys (
    key TEXT PRIMARY KEY, stream_id TEXT, first_version INTEGER, last_version INTEGER, fingerprint TEXT
) WITHOUT ROWID""",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID",
)
_STORED: Final = (
    "stream_id, version, type, schema_version, occurred_at, recorded_at, due_at, key, data, "
    "policy_id, policy_at, prev_hash, hash"
)
#: `prev_hash` kept only when it is not what the chain derives (see the module docstring)
_PREV: Final = (
    f"CASE WHEN ?12 IS (CASE WHEN ?2 = 1 THEN '' ELSE (SELECT {_HASH_TEXT.format('p')} FROM events p "
    "WHERE p.stream_id = ?1 AND p.version = ?2 - 1) END) THEN NULL ELSE ?12 END"
)
INSERT_EVENT: Final = (
    f"INSERT INTO events ({_STORED}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, {_PREV}, ?13)"
)
#: `INSERT_EVENT` for rows whose chain the caller vouches for in Python: a NULL `?12`
#: is a `prev_hash` that equals the hash the same call just inserted for the stream's
#: previous version (stored as NULL without the lookup); any other value as `INSERT_EVENT`
INSERT_EVENT_CHAINED: Final = (
    f"INSERT INTO events ({_STORED}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
    f"CASE WHEN ?12 IS NULL THEN NULL ELSE {_PREV} END, ?13)"
)
#: the same with the position given (the upgrade keeps every row's position)
INSERT_EVENT_AT: Final = (
    f"INSERT INTO events (position, {_STORED}) "
    f"VALUES (?14, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, {_PREV}, ?13)"
)


def with_prev(
    rows: Iterable[Sequence[Any]], hash_at: Callable[[str, int], str], type_name: Callable[[int], str]
) -> list[EventRow]:
    """`EventRow`s from `STORED_PREV_COLUMNS` rows in (stream_id, version) order: a NULL
    `prev_hash` is `""` at version 1, else the hash of the row before when that is the
    same stream's previous version, else `hash_at(stream, version - 1)` (the first row of
    a page); a type id is `type_name(id)` — what the `event_rows` view derives, without
    a lookup per row."""
    out: list[EventRow] = []
    stream, version, digest = None, 0, ""
    for r in rows:
        prev = r[10]
        if prev is None:
            if r[2] == 1:
                prev = ""
            elif r[1] == stream and r[2] == version + 1:
                prev = digest
            else:
                prev = hash_at(r[1], r[2] - 1)
        digest = r[11].hex() if type(r[11]) is bytes else r[11]  # a blob is always lowercase hex
        stream, version = r[1], r[2]
        kind = type_name(r[3]) if type(r[3]) is int else r[3]
        out.append(EventRow(r[0], r[1], r[2], kind, r[4], r[5], r[6], r[7], r[8], r[9], prev, digest))
    return out


def decoded(rows: Iterable[Sequence[Any]], type_name: Callable[[int], str]) -> list[EventRow]:
    """`EventRow`s from `POSITION_COLUMNS` rows: type ids named, blob hashes in hex."""
    return [
        EventRow(
            r[0],
            r[1],
            r[2],
            type_name(r[3]) if type(r[3]) is int else r[3],
            r[4],
            r[5],
            r[6],
            r[7],
            r[8],
            r[9],
            r[10],
            r[11].hex() if type(r[11]) is bytes else r[11],
        )
        for r in rows
    ]


class Connection(Protocol):
    """The part of a DB-API connection the format needs (the backend's sqlite3 one)."""

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Any:
        """Run one statement."""
        ...


class EventEncoder:
    """Turns `EventRow`s into `INSERT_EVENT` parameters, keeping each policy text and
    type name once.

    Remembers which text has which id. An id it inserted is not committed until the
    transaction is: the backend calls `committed()` after COMMIT and `forget()` after any
    rollback, which drops what it remembers if it inserted anything since (the id may be
    handed out again for another text).
    """

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}
        self._types: dict[str, int] = {}
        self._last = ""
        #: an id was inserted by the transaction in progress
        self.dirty = False

    def forget(self) -> None:
        """After a rollback: drop the remembered ids if this transaction inserted any."""
        if self.dirty:
            self._ids.clear()
            self._types.clear()
            self._last = ""
            self.dirty = False

    def committed(self) -> None:
        """After COMMIT: what this transaction inserted is for good."""
        self.dirty = False

    def params(self, conn: Connection, r: EventRow) -> tuple[Any, ...]:
        """The 13 parameters of `INSERT_EVENT` for `r` (policies stored through `conn`)."""
        return self._stored(conn, r, r.prev_hash)

    def bulk_params(self, conn: Connection, rows: Iterable[EventRow]) -> list[tuple[Any, ...]]:
        """`params` of each row for `INSERT_EVENT_CHAINED`, in order: a row whose
        `prev_hash` is the hash of its stream's previous version among these rows gets
        NULL there (no lookup in SQLite; what `INSERT_EVENT` would store), every other
        row its `prev_hash` (looked up as `INSERT_EVENT` does)."""
        out: list[tuple[Any, ...]] = []
        last: dict[str, tuple[int, str]] = {}  # stream → (version, hash) of its latest row here
        for r in rows:
            prev: str | None = r.prev_hash
            seen = last.get(r.stream_id)
            if seen is not None and seen[0] == r.version - 1 and seen[1] == prev:
                prev = None
            last[r.stream_id] = (r.version, r.hash)
            out.append(self._stored(conn, r, prev))
        return out

    def _stored(self, conn: Connection, r: EventRow, prev: str | None) -> tuple[Any, ...]:
        """The stored columns of `r` (`_STORED`'s order), with `prev` as its `prev_hash`."""
        data, policy_id, at = self._cut(conn, r.data) if POLICY_MARK in r.data else (r.data, None, None)
        return (
            r.stream_id,
            r.version,
            self._types.get(r.type) or self._type_id(conn, r.type),
            r.schema_version,
            r.occurred_at,
            None if r.recorded_at == r.occurred_at else r.recorded_at,
            r.due_at,
            r.key,
            data,
            policy_id,
            at,
            prev,
            pack_hash(r.hash),
        )

    def _cut(self, conn: Connection, data: str) -> tuple[str, int | None, int | None]:
        i = data.find(POLICY_MARK)
        if i < 0 or "\x00" in data:  # SQLite's substr() stops at a NUL (canonical JSON has none)
            return data, None, None
        at = i + len(POLICY_MARK) - 1
        text = self._last
        if not (text and data.startswith(text, at)):
            try:
                end = _DECODER.raw_decode(data, at)[1]
            except ValueError:
                return data, None, None
            text = data[at:end]
            if len(text) < MIN_POLICY:
                return data, None, None
        policy_id = self._ids.get(text)
        if policy_id is None:
            policy_id = self._store(conn, text)
        self._last = text
        return data[:at] + PLACEHOLDER + data[at + len(text) :], policy_id, at

    def _type_id(self, conn: Connection, name: str) -> int:
        if not self._types:  # a new connection or a rollback: learn every name at once
            self._types = {str(n): int(i) for i, n in conn.execute("SELECT id, name FROM types").fetchall()}
            if name in self._types:
                return self._types[name]
        row = conn.execute("SELECT id FROM types WHERE name = ?", (name,)).fetchone()
        if row is None:
            self.dirty = True
            row = (conn.execute("INSERT INTO types (name) VALUES (?)", (name,)).lastrowid,)
        if len(self._types) >= _CACHE:
            self._types.clear()
        self._types[name] = int(row[0])
        return int(row[0])

    def _store(self, conn: Connection, text: str) -> int:
        row = conn.execute("SELECT id FROM policies WHERE text = ?", (text,)).fetchone()
        if row is None:
            self.dirty = True
            row = (conn.execute("INSERT INTO policies (text) VALUES (?)", (text,)).lastrowid,)
        policy_id = int(row[0])
        if len(self._ids) >= _CACHE:
            self._ids.clear()
        self._ids[text] = policy_id
        return policy_id


def pack_hash(value: str) -> bytes | str:
    """32 bytes for a 64-digit lowercase hex hash (exactly what `lower(hex())` gives back);
    any other text unchanged."""
    if len(value) == 64:
        try:
            packed = bytes.fromhex(value)
        except ValueError:
            return value
        if packed.hex() == value:
            return packed
    return value


def format_us(due_us: int) -> str:
    """`due_us` (microseconds since the epoch) as `parcelfsm.clock.format_time` writes it."""
    return (_EPOCH + dt.timedelta(microseconds=due_us)).isoformat() + "Z"


def pack_due_at(due_at: str, due_us: int) -> str | None:
    """NULL for a deadline's `due_at` that `format_us(due_us)` gives back exactly."""
    try:
        return None if due_at == format_us(due_us) else due_at
    except (OverflowError, TypeError):
        return due_at


def unpack_due_at(due_at: str | None, due_us: int) -> str:
    """The stored `due_at`, or the one `pack_due_at` left out."""
    return format_us(due_us) if due_at is None else due_at
