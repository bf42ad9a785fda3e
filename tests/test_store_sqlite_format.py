"""The compact SQLite format (schema 3, docs/storage.md): what it stores, that it gives
back exactly what it was given, and the upgrade of schema-1 and schema-2 files.

`tests/fixtures/schema-2.db` was written by parcelfsm's schema-2 code (the first four
versions of every order of the golden reference log, imported); the schema-1 file is
built here with parcelfsm 0.1's DDL and the 0.1 reference log.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any, Final

import attrs
import pytest
from hardening_kit import logical, ok, run

import parcelfsm
from parcelfsm.canonical import canonical_json
from parcelfsm.clock import ManualClock
from parcelfsm.errors import CorruptLog
from parcelfsm.store import open_backend
from parcelfsm.store.projections import DeadlineRow, OrderRow
from parcelfsm.store.recorder import EventRow
from parcelfsm.testing import DEFAULTS

HERE: Final = Path(__file__).resolve().parent
SCHEMA_2: Final = HERE / "fixtures" / "schema-2.db"
REFERENCE: Final = HERE / "golden" / "reference.jsonl"
REFERENCE_0_1: Final = HERE / "golden" / "reference-0.1.jsonl"
#: parcelfsm 0.1's tables, as its sqlite-utils calls created them
SCHEMA_1_DDL: Final = (
    "CREATE TABLE events (position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, version INTEGER NOT NULL, "
    "type TEXT NOT NULL, schema_version INTEGER, occurred_at TEXT NOT NULL, recorded_at TEXT NOT NULL, "
    "due_at TEXT, key TEXT, data TEXT NOT NULL, prev_hash TEXT, hash TEXT NOT NULL)",
    "CREATE UNIQUE INDEX idx_events_stream_id_version ON events (stream_id, version)",
    "CREATE UNIQUE INDEX idx_events_key ON events (key)",
    "CREATE TABLE orders (stream_id TEXT PRIMARY KEY, version INTEGER, order_state TEXT, parcel_state TEXT, "
    "dispute_state TEXT, currency TEXT, paid INTEGER, held INTEGER, released_to_seller INTEGER, "
    "refunded_to_buyer INTEGER, policy_version TEXT)",
    "CREATE TABLE deadlines (stream_id TEXT, kind TEXT, due_at TEXT, due_us INTEGER, rank INTEGER, "
    "rule TEXT, set_by_version INTEGER, on_expiry TEXT, alert TEXT, PRIMARY KEY (stream_id, kind))",
    "CREATE INDEX idx_deadlines_due_us_rank_set_by_version_stream_id "
    "ON deadlines (due_us, rank, set_by_version, stream_id)",
    "CREATE TABLE keys (key TEXT PRIMARY KEY, stream_id TEXT, first_version INTEGER, last_version INTEGER, "
    "fingerprint TEXT)",
    "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT)",
    "INSERT INTO meta VALUES ('schema_version', '1')",
)
COLUMNS: Final = (
    "position, stream_id, version, type, schema_version, occurred_at, recorded_at, due_at, key, data, "
    "prev_hash, hash"
)


def _query(path: Path, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(statement, params).fetchall()
    finally:
        conn.close()


def _reference_rows(path: Path) -> list[EventRow]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        e = json.loads(line)
        rows.append(
            EventRow(
                e["position"], e["stream_id"], e["version"], e["type"], e["schema_version"], e["occurred_at"],
                e["recorded_at"], e["due_at"], e["key"], canonical_json(e["data"], check=False),
                e["prev_hash"], e["hash"],
            )
        )  # fmt: skip
    return rows


def _schema_1_file(path: Path) -> list[EventRow]:
    """A parcelfsm 0.1 database holding the 0.1 reference log (and one order row)."""
    rows = _reference_rows(REFERENCE_0_1)
    conn = sqlite3.connect(path)
    with conn:
        for statement in SCHEMA_1_DDL:
            conn.execute(statement)
        conn.executemany(
            f"INSERT INTO events ({COLUMNS}) VALUES ({', '.join('?' * 12)})", map(attrs.astuple, rows)
        )
        conn.executemany(
            "INSERT INTO keys VALUES (?, ?, ?, ?, NULL)",
            [(r.key, r.stream_id, r.version, r.version) for r in rows if r.key],
        )
        conn.execute(
            "INSERT INTO orders VALUES ('o-000000', 1, 'placed', 'none', 'none', 'RUB', 1, 1, 0, 0, '2026.1')"
        )
    conn.close()
    return rows


def _events(path: Path) -> list[EventRow]:
    backend = open_backend(str(path), read_only=True)
    try:
        return backend.select_after(0, 100_000)
    finally:
        backend.close()


# --- what is stored --------------------------------------------------------------------------------


@pytest.fixture
def bench_like(tmp_path: Path) -> Path:
    """20 orders placed, shipped and scanned, one command per second."""
    path = tmp_path / "c.db"
    clock = ManualClock("2026-03-01T10:00:00Z")
    with parcelfsm.open(str(path), clock=clock) as orders:
        for step in ("order.placed", "order.shipped", "parcel.scanned"):
            for i in range(20):
                clock.advance(seconds=1)
                data = {"status": "in_transit"} if step == "parcel.scanned" else DEFAULTS[step]
                orders.record(f"o-{i}", step, data)
    return path


def test_each_policy_text_is_stored_once_and_hashes_as_32_bytes(bench_like: Path) -> None:
    """20 orders under one policy: one `policies` row; every hash a 32-byte blob, every
    `prev_hash` derived (NULL), every `recorded_at` equal to `occurred_at` left out."""
    assert _query(bench_like, "SELECT COUNT(*) FROM policies") == [(1,)]
    assert _query(bench_like, "SELECT COUNT(*) FROM events WHERE policy_id IS NOT NULL") == [(20,)]
    stored = _query(bench_like, "SELECT typeof(hash), length(hash), prev_hash, recorded_at FROM events")
    assert set(stored) == {("blob", 32, None, None)} and len(stored) == 60
    assert _query(bench_like, "SELECT COUNT(*) FROM deadlines WHERE due_at IS NULL") == _query(
        bench_like, "SELECT COUNT(*) FROM deadlines"
    )


def test_the_stored_data_stays_json_with_the_policy_left_as_null(bench_like: Path) -> None:
    """An analyst's `json_extract` on the raw column still works; `event_rows` has the policy."""
    [(amount, policy, version)] = _query(
        bench_like,
        "SELECT json_extract(e.data, '$.amount'), json_extract(e.data, '$.policy'), "
        "json_extract(v.data, '$.policy.version') FROM events e JOIN event_rows v USING (position) "
        "WHERE e.stream_id = 'o-3' AND e.version = 1",
    )
    assert (amount, policy, version) == (DEFAULTS["order.placed"]["amount"], None, "2026.2")


def test_a_rolled_back_policy_or_type_never_restores_into_a_later_row(tmp_path: Path) -> None:
    """A policy or type name inserted in a transaction that rolls back frees its id; the
    backend forgets it, so a later, different one taking that id reads back as itself."""
    backend = open_backend(str(tmp_path / "r.db"))

    def placed(stream: str, version: str) -> EventRow:
        policy = {"version": version, "padding": "p" * 80}
        data = canonical_json({"amount": 1, "policy": policy}, check=False)
        return EventRow(0, stream, 1, f"type.{version}", 1, "t", "t", None, None, data, "", "a" * 64)

    with pytest.raises(RuntimeError), backend.transaction():
        backend.insert_events([placed("a", "first")])
        assert backend.select_stream("a")[0].type == "type.first"  # read: its type id is known
        raise RuntimeError("refused")
    rows = [placed("b", "second"), placed("c", "first")]
    with backend.transaction():
        positions = backend.insert_events(rows[:1])
    with backend.transaction():
        positions += backend.insert_events(rows[1:])
    given = [attrs.evolve(r, position=p) for r, p in zip(rows, positions, strict=True)]
    assert backend.select_after(0, 10) == given
    assert backend.select_stream("b") + backend.select_stream("c") == given
    backend.close()


def test_nul_characters_and_policy_marks_round_trip_in_sqlite(tmp_path: Path) -> None:
    """Text PostgreSQL cannot hold (NUL) still comes back exactly from SQLite, in every
    column and around a policy-like object (left inline: canonical JSON never has a NUL)."""
    backend = open_backend(str(tmp_path / "n.db"))
    policy = canonical_json({"a\x00b": "x" * 70, "version": "\x00"}, check=False)
    data = '{"\x00":"\x00","policy":' + policy + ',"z":"\x00😀"}'
    row = EventRow(0, "s\x00", 1, "t\x00", 1, "\x00", "\x00", "\x00", "\x00", data, "", "\x00")
    with backend.transaction():
        [position] = backend.insert_events([row])
    assert backend.select_stream("s\x00") == [attrs.evolve(row, position=position)]
    # SQLite's substr() stops at a NUL, so such data keeps its policy inline
    assert _query(tmp_path / "n.db", "SELECT COUNT(*) FROM policies") == [(0,)]
    backend.close()


def test_deadline_rows_come_back_exactly_with_or_without_a_derivable_due_at(tmp_path: Path) -> None:
    """`due_at` is left out only when `due_us` formats back to it; any other text stays."""
    backend = open_backend(str(tmp_path / "d.db"))
    order = OrderRow("o-1", 1, "placed", "none", "none", "USD", 1, 1, 0, 0, "2026.2")
    deadlines = [
        DeadlineRow("o-1", "a", "2026-03-08T10:00:00Z", 1772964000000000, 1, "r", 1, "x", None),
        DeadlineRow("o-1", "b", "2026-03-08T10:00:00.000001Z", 1772964000000001, 2, "r", 1, "x", "y"),
        DeadlineRow("o-1", "c", "2026-03-08T10:00:00.000000Z", 1772964000000002, 3, "r", None, "x", None),
        DeadlineRow("o-1", "d", "", 1772964000000003, 4, "r", 1, "x", None),
        DeadlineRow("o-1", "e", "😀", -(2**62), 5, "r", 1, "x", None),
    ]
    backend.save_projections([(order, deadlines)])
    assert sorted(backend.deadline_rows("o-1"), key=lambda d: d.kind) == deadlines
    assert _query(tmp_path / "d.db", "SELECT kind FROM deadlines WHERE due_at IS NULL ORDER BY kind") == [
        ("a",),
        ("b",),
    ]
    backend.close()


# --- upgrades --------------------------------------------------------------------------------------


def test_a_schema_2_file_is_upgraded_on_open_and_gives_back_every_row(tmp_path: Path) -> None:
    """The real schema-2 file: one open upgrades it to schema 3 in place; every event,
    order, deadline and key reads back as before, `replay --verify` is clean, and the
    export is byte-identical to the reference lines it was imported from."""
    path = tmp_path / "s2.db"
    shutil.copyfile(SCHEMA_2, path)
    before = _events(path)  # read-only: served from the schema-2 tables
    tables = {t: sorted(_query(path, f"SELECT * FROM {t}")) for t in ("orders", "deadlines", "keys")}
    assert _query(path, "PRAGMA user_version") == [(2,)]
    with parcelfsm.open(str(path), clock=ManualClock("2027-01-01")) as orders:
        assert orders.replay(verify=True).problems == ()
    assert _query(path, "PRAGMA user_version") == [(3,)]
    assert _query(path, "PRAGMA freelist_count") == [(0,)]  # the old tables' pages given back
    assert _events(path) == before
    assert {t: sorted(_query(path, f"SELECT * FROM {t}")) for t in ("orders", "keys")} == {
        t: tables[t] for t in ("orders", "keys")
    }
    backend = open_backend(str(path), read_only=True)
    deadlines = sorted(
        attrs.astuple(d) for s in {r[0] for r in tables["orders"]} for d in backend.deadline_rows(s)
    )
    backend.close()
    assert deadlines == tables["deadlines"] and len(deadlines) == 61
    assert _query(
        path, "SELECT COUNT(*) FROM events WHERE prev_hash IS NOT NULL OR typeof(hash) != 'blob'"
    ) == [(0,)]
    wanted = [json.loads(line) for line in REFERENCE.read_text(encoding="utf-8").splitlines()]
    result = run(path, "export", as_json=False)
    exported = [json.loads(line) | {"position": 0} for line in result.stdout.splitlines()]
    assert exported == [w | {"position": 0} for w in wanted if w["version"] <= 4]
    assert ok(run(path, "replay", "--verify"))["ok"] is True


def test_a_parcelfsm_0_1_file_is_upgraded_and_still_verifies(tmp_path: Path) -> None:
    """A schema-1 file (0.1's DDL, its reference log, no `orders.alerts`): upgraded on open,
    every row given back exactly, the order row kept with no alerts, and after a rebuild
    `replay --verify` is clean."""
    path = tmp_path / "s1.db"
    rows = _schema_1_file(path)
    assert ok(run(path, "replay"))  # opens (upgrading), rebuilds the projections
    assert _query(path, "PRAGMA user_version") == [(3,)]
    assert _events(path) == rows
    assert ok(run(path, "replay", "--verify"))["ok"] is True
    assert _query(path, "SELECT COUNT(*) FROM policies") == [(1,)]


def test_an_upgrade_that_fails_half_way_leaves_the_old_file_untouched(tmp_path: Path) -> None:
    """The upgrade is one transaction: a schema-2 file missing its `keys` table fails
    after `events` was renamed aside, and the file is exactly as it was."""
    path = tmp_path / "broken.db"
    shutil.copyfile(SCHEMA_2, path)
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE keys")
    conn.commit()
    conn.close()
    before = logical(path)
    with pytest.raises(CorruptLog):
        parcelfsm.open(str(path), clock=ManualClock("2027-01-01"))
    assert logical(path) == before
    assert _query(path, "PRAGMA user_version") == [(2,)]


def test_a_read_only_open_of_a_schema_2_file_serves_every_read_and_changes_nothing(tmp_path: Path) -> None:
    """`--read-only` on a schema-2 file: show, history, due, export and verify work on the
    old tables as they are, and the file is not upgraded."""
    path = tmp_path / "ro.db"
    shutil.copyfile(SCHEMA_2, path)
    before = path.read_bytes()
    for command in (("show", "o-000001"), ("history", "o-000001"), ("due",), ("list",)):
        assert run(path, "--read-only", *command).exit_code == 0, command
    assert ok(run(path, "--read-only", "replay", "--verify"))["ok"] is True
    assert path.read_bytes() == before


def test_a_read_only_open_of_a_0_1_file_is_the_typed_error_it_was(tmp_path: Path) -> None:
    """A schema-1 file cannot be served as it is (no `orders.alerts`): read-only, it is
    `CorruptLog` naming the schema, as before schema 3."""
    path = tmp_path / "s1.db"
    _schema_1_file(path)
    with pytest.raises(CorruptLog, match="schema"):
        open_backend(str(path), read_only=True)
