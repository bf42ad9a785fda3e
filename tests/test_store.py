"""Store and service guarantees: versions, idempotency, atomic rejection, hash chain, projections.

Run on a file database in `tmp_path` and, where it makes sense, on `:memory:` too
(STYLE.md: one store contract, both backends).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from contract import EVENT_COLUMNS, EVENT_KEYS

import parcelfsm
from parcelfsm import ManualClock, Orders
from parcelfsm.clock import format_time
from parcelfsm.deadlines import open_deadlines
from parcelfsm.errors import (
    ConcurrencyConflict,
    IdempotencyConflict,
    IllegalTransition,
    OutOfOrder,
    ParcelFsmError,
    ValidationError,
    WindowClosed,
)
from parcelfsm.fold import fold
from parcelfsm.store.mapping import order_row
from parcelfsm.testing import DEFAULTS

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
DAY = dt.timedelta(days=1)
PLACED = DEFAULTS["order.placed"]
SHIPPED = DEFAULTS["order.shipped"]
OPENED = DEFAULTS["dispute.opened"]


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at 2026-03-01T10:00Z."""
    return ManualClock(T0)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the file database lives."""
    return tmp_path / "orders.db"


@pytest.fixture
def file_orders(db_path: Path, clock: ManualClock) -> Iterator[Orders]:
    """An order book on a file database."""
    orders = parcelfsm.open(str(db_path), clock=clock)
    yield orders
    orders.close()


@pytest.fixture(params=["file", "memory"])
def orders(request: pytest.FixtureRequest, db_path: Path, clock: ManualClock) -> Iterator[Orders]:
    """An order book on a file database and on `:memory:`."""
    path = str(db_path) if request.param == "file" else ":memory:"
    book = parcelfsm.open(path, clock=clock)
    yield book
    book.close()


def versions(orders: Orders, order_id: str = "o-1") -> list[int]:
    """The stream's versions, in order."""
    return [e.version for e in orders.history(order_id)]


def all_events(orders: Orders) -> list[dict[str, Any]]:
    """Every stored event as JSON, in log order."""
    return [e.to_json() for e in orders.export_events()]


# --- optimistic concurrency ------------------------------------------------------------------


def test_expect_version_matching_the_stream_appends(orders, clock):
    """`expect_version` equal to the current version (0 for a new order) is accepted."""
    orders.record("o-1", "order.placed", PLACED, expect_version=0)
    clock.advance(days=1)
    [shipped] = orders.record("o-1", "order.shipped", SHIPPED, expect_version=1)
    assert shipped.version == 2


@pytest.mark.parametrize("stale", [0, 1, 3])
def test_stale_expect_version_is_a_concurrency_conflict_and_appends_nothing(orders, clock, stale):
    """The stream moved on (or not that far): ConcurrencyConflict (exit 4), nothing appended."""
    orders.record("o-1", "order.placed", PLACED)
    clock.advance(days=1)
    orders.record("o-1", "order.shipped", SHIPPED)
    before = all_events(orders)
    clock.advance(days=1)
    with pytest.raises(ConcurrencyConflict) as info:
        orders.record("o-1", "order.receipt_confirmed", expect_version=stale)
    assert info.value.exit_code == 4
    assert info.value.type == "ConcurrencyConflict"
    assert all_events(orders) == before


def test_expect_version_on_a_new_order_must_be_zero(orders):
    """Placing with `expect_version=1` when the stream is empty is a conflict."""
    with pytest.raises(ConcurrencyConflict):
        orders.record("o-1", "order.placed", PLACED, expect_version=1)
    assert all_events(orders) == []


def test_expect_version_conflict_between_two_instances_on_one_file(db_path, clock):
    """A reads version 1, B appends, A's append with expect_version=1 is a ConcurrencyConflict."""
    with parcelfsm.open(str(db_path), clock=clock) as a, parcelfsm.open(str(db_path), clock=clock) as b:
        a.record("o-1", "order.placed", PLACED)
        seen = a.show("o-1").version
        assert seen == 1
        clock.advance(days=1)
        b.record("o-1", "order.shipped", SHIPPED)
        with pytest.raises(ConcurrencyConflict):
            a.record("o-1", "order.cancelled", {"by": "buyer"}, expect_version=seen)
        assert [e.type for e in a.history("o-1")] == ["order.placed", "order.shipped"]
        assert a.show("o-1").states["order"] == "awaiting_delivery"


def test_two_instances_on_one_file_both_land_with_gapless_versions(db_path, clock):
    """Without expect_version, interleaved appends from two instances all land, versions 1…n."""
    with parcelfsm.open(str(db_path), clock=clock) as a, parcelfsm.open(str(db_path), clock=clock) as b:
        a.record("o-1", "order.placed", PLACED)
        b.record("o-2", "order.placed", PLACED)
        clock.advance(days=1)
        b.record("o-1", "order.shipped", SHIPPED)
        a.record("o-2", "order.shipped", SHIPPED)
        clock.advance(hours=1)
        a.record("o-1", "parcel.scanned", {"status": "in_transit"})
        b.record("o-1", "protection.extended", {"days": 5, "by": "seller"})
        a.record("o-1", "parcel.scanned", {"status": "delivered"})
        b.record("o-1", "order.receipt_confirmed")
        assert versions(a, "o-1") == versions(b, "o-1") == [1, 2, 3, 4, 5, 6]
        assert versions(a, "o-2") == [1, 2]
        positions = [e["position"] for e in all_events(b)]
        assert positions == sorted(positions)
        assert len(set(positions)) == len(positions) == 8
        assert a.show("o-1").to_json() == b.show("o-1").to_json()


# --- idempotency -----------------------------------------------------------------------------


def test_same_key_and_command_returns_the_original_events_and_appends_nothing(orders, clock):
    """A retried command (same key, stream, type, data) returns what it appended the first time."""
    orders.record("o-1", "order.placed", PLACED)
    clock.advance(days=1)
    first = orders.record("o-1", "order.shipped", SHIPPED, key="ship-1")
    before = all_events(orders)
    clock.advance(hours=3)
    again = orders.record("o-1", "order.shipped", dict(SHIPPED), key="ship-1")
    assert again == first
    assert all_events(orders) == before


def test_same_key_with_a_later_at_is_still_the_same_command(orders, clock):
    """`occurred_at` is not part of the fingerprint: a retry with a later `at` appends nothing."""
    orders.record("o-1", "order.placed", PLACED)
    clock.advance(days=1)
    first = orders.record("o-1", "order.shipped", SHIPPED, key="ship-1")
    before = all_events(orders)
    clock.advance(days=2)
    again = orders.record("o-1", "order.shipped", SHIPPED, key="ship-1", at=clock.now())
    assert again == first
    assert again[0].occurred_at == T0 + DAY
    assert all_events(orders) == before


def test_key_is_looked_up_before_catch_up(orders, clock):
    """A retry long after its command, with deadlines overdue, fires nothing and appends nothing."""
    orders.record("o-1", "order.placed", PLACED)
    clock.advance(days=1)
    first = orders.record("o-1", "order.shipped", SHIPPED, key="ship-1")
    before = all_events(orders)
    clock.advance(days=40)  # first_info, no_news, presumed_lost all overdue
    assert orders.record("o-1", "order.shipped", SHIPPED, key="ship-1") == first
    assert all_events(orders) == before


def test_retry_with_the_original_expect_version_returns_the_original_events(orders, clock):
    """The key is looked up first: a retry whose expect_version is now stale is a retry, not a conflict."""
    orders.record("o-1", "order.placed", PLACED)
    clock.advance(days=1)
    first = orders.record("o-1", "order.shipped", SHIPPED, key="ship-1", expect_version=1)
    before = all_events(orders)
    assert orders.record("o-1", "order.shipped", SHIPPED, key="ship-1", expect_version=1) == first
    assert all_events(orders) == before


def test_retry_of_a_command_that_caught_up_returns_its_catch_up_events_too(orders, clock):
    """The original events of a command include the overdue events it appended first."""
    orders.record("o-1", "order.placed", PLACED)
    clock.advance(days=1)
    orders.record("o-1", "order.shipped", SHIPPED)
    clock.advance(days=11)
    first = orders.record("o-1", "parcel.scanned", {"status": "in_transit"}, key="scan-1")
    assert [e.type for e in first] == ["alert.raised", "parcel.scanned"]
    clock.advance(days=1)
    assert orders.record("o-1", "parcel.scanned", {"status": "in_transit"}, key="scan-1") == first


def test_retry_returns_only_its_own_events_not_a_tick_recorded_at_the_same_instant(orders, clock):
    """A tick just before a keyed command, at the same clock instant, is not part of the retry's answer."""
    orders.record("o-1", "order.placed", PLACED)
    clock.advance(days=1)
    orders.record("o-1", "order.shipped", SHIPPED)
    clock.advance(days=11)
    ticked = orders.tick()
    assert [e.type for e in ticked] == ["alert.raised"]
    first = orders.record("o-1", "parcel.scanned", {"status": "in_transit"}, key="scan-1")
    assert [e.type for e in first] == ["parcel.scanned"]
    assert orders.record("o-1", "parcel.scanned", {"status": "in_transit"}, key="scan-1") == first


@pytest.mark.parametrize(
    ("order_id", "type_name", "data"),
    [
        ("o-1", "order.shipped", {**SHIPPED, "carrier": "Cainiao"}),  # other data
        ("o-1", "order.shipped", {"tracking_number": SHIPPED["tracking_number"]}),  # data missing a field
        ("o-1", "order.cancelled", {"by": "seller"}),  # other type
        ("o-2", "order.shipped", SHIPPED),  # other stream
    ],
    ids=["data", "fewer-fields", "type", "stream"],
)
def test_same_key_with_another_command_is_an_idempotency_conflict(orders, clock, order_id, type_name, data):
    """Keys are global; reusing one with another (stream, type, data) is IdempotencyConflict."""
    orders.record("o-1", "order.placed", PLACED)
    orders.record("o-2", "order.placed", PLACED)
    clock.advance(days=1)
    orders.record("o-1", "order.shipped", SHIPPED, key="k-1")
    before = all_events(orders)
    with pytest.raises(IdempotencyConflict, match="k-1"):
        orders.record(order_id, type_name, data, key="k-1")
    assert all_events(orders) == before


def test_a_rejected_keyed_command_does_not_burn_its_key(orders, clock):
    """A command rejected with a key stored nothing, so the key may be used again."""
    orders.record("o-1", "order.placed", PLACED)
    with pytest.raises(IllegalTransition):
        orders.record("o-1", "order.receipt_confirmed", key="k-1")
    clock.advance(days=1)
    [shipped] = orders.record("o-1", "order.shipped", SHIPPED, key="k-1")
    assert shipped.key == "k-1"


# --- atomic rejection ------------------------------------------------------------------------


def _checkpointed_bytes(path: Path) -> tuple[str, str]:
    """Checkpoint the WAL on a separate connection, then hash the db file and its -wal."""
    conn = sqlite3.connect(str(path))
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0
    finally:
        conn.close()
    wal = Path(str(path) + "-wal")
    wal_bytes = wal.read_bytes() if wal.exists() else b""
    return hashlib.sha256(path.read_bytes()).hexdigest(), hashlib.sha256(wal_bytes).hexdigest()


def _dump(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, read on a separate connection."""
    conn = sqlite3.connect(str(path))
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {t: sorted(conn.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in tables}
    finally:
        conn.close()


def _busy_order(orders: Orders, clock: ManualClock) -> None:
    """o-1 shipped and confirmed (window running), o-2 placed and overdue to ship."""
    orders.record("o-1", "order.placed", PLACED)
    orders.record("o-2", "order.placed", PLACED)
    clock.advance(days=1)
    orders.record("o-1", "order.shipped", SHIPPED, key="ship-1")
    orders.record("o-1", "parcel.scanned", {"status": "delivered"})
    clock.advance(days=1)
    orders.record("o-1", "order.receipt_confirmed")
    clock.advance(days=16)  # o-1's dispute window and o-2's ship_by are overdue, not ticked


REJECTIONS: list[tuple[str, dict[str, Any], type[ParcelFsmError]]] = [
    (
        "catch-up-then-illegal",
        {"order_id": "o-2", "type": "order.shipped", "data": SHIPPED},
        IllegalTransition,
    ),
    ("catch-up-then-window", {"order_id": "o-1", "type": "dispute.opened", "data": OPENED}, WindowClosed),
    ("validation", {"order_id": "o-1", "type": "protection.extended", "data": {"days": 0}}, ValidationError),
    (
        "out-of-order",
        {"order_id": "o-2", "type": "order.cancelled", "data": {"by": "buyer"}, "at": T0 - DAY},
        OutOfOrder,
    ),
    (
        "concurrency",
        {"order_id": "o-2", "type": "order.cancelled", "data": {"by": "buyer"}, "expect_version": 0},
        ConcurrencyConflict,
    ),
    (
        "idempotency",
        {"order_id": "o-2", "type": "order.shipped", "data": SHIPPED, "key": "ship-1"},
        IdempotencyConflict,
    ),
]


@pytest.mark.parametrize(("kwargs", "error"), [r[1:] for r in REJECTIONS], ids=[r[0] for r in REJECTIONS])
def test_rejected_command_leaves_the_database_byte_identical(file_orders, db_path, clock, kwargs, error):
    """A rejected command — catch-up included — changes no row and no byte of the db or its WAL."""
    _busy_order(file_orders, clock)
    rows = _dump(db_path)
    files = _checkpointed_bytes(db_path)
    args = dict(kwargs)
    with pytest.raises(error):
        file_orders.record(args.pop("order_id"), args.pop("type"), args.pop("data"), **args)
    assert _dump(db_path) == rows
    assert _checkpointed_bytes(db_path) == files


def test_the_overdue_events_of_a_rejected_command_are_written_by_the_next_tick(file_orders, clock):
    """After the rollback, `tick` writes the overdue events (once)."""
    _busy_order(file_orders, clock)
    with pytest.raises(IllegalTransition):
        file_orders.record("o-2", "order.shipped", SHIPPED)
    fired = file_orders.tick()
    assert sorted((e.stream_id, e.type) for e in fired) == [
        ("o-1", "order.dispute_window_closed"),
        ("o-2", "order.auto_cancelled"),
    ]
    assert file_orders.tick() == []


# --- hash chain ------------------------------------------------------------------------------


def _raw_rows(path: Path) -> list[sqlite3.Row]:
    conn = sqlite3.connect(str(path))
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute("SELECT * FROM event_rows ORDER BY stream_id, version").fetchall()
    finally:
        conn.close()


def reference_hash(prev_hash: str, row: sqlite3.Row) -> str:
    """The documented chain formula, written out independently of parcelfsm's code:
    sha256(prev_hash + canonical JSON of the row's fields, `data` as its stored text)."""
    fields = ("stream_id", "version", "type", "schema_version", "occurred_at", "recorded_at", "due_at", "key")
    body = {name: row[name] for name in fields} | {"data": row["data"]}
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256((prev_hash + text).encode("utf-8")).hexdigest()


def test_hash_chain_is_per_stream_and_recomputes_from_the_stored_text(file_orders, db_path, clock):
    """prev_hash of v1 is empty, each prev_hash is the previous version's hash, chain_hash gives the hash."""
    file_orders.record("o-1", "order.placed", PLACED, key="place-1")
    file_orders.record("o-2", "order.placed", {**PLACED, "destination_country": "RU"})
    clock.advance(days=1)
    file_orders.record("o-1", "order.shipped", SHIPPED)
    clock.advance(days=12)
    file_orders.tick()  # timed events (with due_at) on o-1, o-2 cancelled
    file_orders.record("o-1", "parcel.scanned", {"text": "Held At Customs"})

    rows = _raw_rows(db_path)
    streams: dict[str, list[sqlite3.Row]] = {}
    for row in rows:
        streams.setdefault(row["stream_id"], []).append(row)
    assert set(streams) == {"o-1", "o-2"}
    assert any(r["due_at"] for r in rows)
    assert any(r["key"] for r in rows)
    for stream in streams.values():
        prev = ""
        for expected_version, row in enumerate(stream, start=1):
            assert row["version"] == expected_version
            assert row["prev_hash"] == prev
            recomputed = reference_hash(row["prev_hash"], row)
            assert recomputed == row["hash"]
            prev = row["hash"]


def test_stored_events_carry_the_same_hashes_as_the_table(file_orders, db_path, clock):
    """`history` reports the stored prev_hash/hash, so an export verifies on its own."""
    file_orders.record("o-1", "order.placed", PLACED)
    clock.advance(days=1)
    file_orders.record("o-1", "order.shipped", SHIPPED)
    table = [(r["prev_hash"], r["hash"]) for r in _raw_rows(db_path)]
    assert [(e.prev_hash, e.hash) for e in file_orders.history("o-1")] == table


def test_a_tampered_event_no_longer_matches_its_hash(file_orders, db_path, clock):
    """Changing stored data breaks the recomputed hash (the chain detects edits)."""
    file_orders.record("o-1", "order.placed", PLACED)
    conn = sqlite3.connect(str(db_path))
    try:
        with conn:
            conn.execute("UPDATE events SET data = replace(data, '2599', '1') WHERE version = 1")
    finally:
        conn.close()
    [row] = _raw_rows(db_path)
    recomputed = reference_hash("", row)
    assert recomputed != row["hash"]


# --- times and schema ------------------------------------------------------------------------


def test_recorded_at_comes_from_the_injected_clock_never_sqlite(db_path):
    """recorded_at (and a default occurred_at) equal the manual clock, to the microsecond."""
    odd = dt.datetime(2031, 7, 4, 12, 34, 56, 789000, tzinfo=UTC)
    clock = ManualClock(odd)
    with parcelfsm.open(str(db_path), clock=clock) as orders:
        [placed] = orders.record("o-1", "order.placed", PLACED)
        assert placed.recorded_at == placed.occurred_at == odd
        clock.set(odd + 8 * DAY)
        [cancelled] = orders.tick()
        assert cancelled.recorded_at == odd + 8 * DAY
        assert cancelled.occurred_at == cancelled.due_at == odd + 7 * DAY
    rows = _raw_rows(db_path)
    assert [(r["occurred_at"], r["recorded_at"], r["due_at"]) for r in rows] == [
        ("2031-07-04T12:34:56.789000Z", "2031-07-04T12:34:56.789000Z", None),
        ("2031-07-11T12:34:56.789000Z", "2031-07-12T12:34:56.789000Z", "2031-07-11T12:34:56.789000Z"),
    ]


def test_advance_to_a_future_instant_records_at_that_instant(orders, clock):
    """`advance(to)` fires with recorded_at = to, even ahead of the clock."""
    orders.record("o-1", "order.placed", PLACED)
    target = T0 + 9 * DAY
    [fired] = orders.advance(target)
    assert fired.recorded_at == target
    assert fired.occurred_at == T0 + 7 * DAY
    assert orders.history("o-1")[-1].recorded_at == target


def test_the_schema_takes_no_time_from_sqlite(file_orders, db_path):
    """No column defaults to SQLite's clock."""
    conn = sqlite3.connect(str(db_path))
    try:
        ddl = " ".join(r[0] or "" for r in conn.execute("SELECT sql FROM sqlite_master"))
    finally:
        conn.close()
    for word in ("CURRENT_TIMESTAMP", "CURRENT_TIME", "CURRENT_DATE", "datetime(", "strftime("):
        assert word.lower() not in ddl.lower()


def test_events_table_has_the_contract_columns(file_orders, db_path):
    """`events` has docs/events.md's columns plus prev_hash and hash."""
    conn = sqlite3.connect(str(db_path))
    try:
        columns = {r[1] for r in conn.execute("PRAGMA table_info(events)")}
    finally:
        conn.close()
    assert columns >= EVENT_COLUMNS


def test_history_json_has_the_contract_keys(orders, clock):
    """Each `history` event carries the docs/cli.md keys."""
    orders.record("o-1", "order.placed", PLACED, key="p-1")
    [event] = orders.history("o-1")
    assert set(event.to_json()) >= EVENT_KEYS
    assert event.to_json()["key"] == "p-1"
    assert event.to_json()["occurred_at"] == "2026-03-01T10:00:00Z"


def test_the_policy_in_force_is_written_into_the_first_event(orders):
    """`order.placed` stores the policy, so the order replays under the rules it started with."""
    orders.record("o-1", "order.placed", PLACED)
    stored = orders.history("o-1")[0].data["policy"]
    assert stored == parcelfsm.Policy.default().to_dict()


def test_positions_are_global_and_versions_per_stream(orders, clock):
    """`position` increases across streams; `version` counts within each stream from 1."""
    for i in range(3):
        orders.record(f"o-{i}", "order.placed", PLACED)
    clock.advance(days=1)
    orders.record("o-1", "order.shipped", SHIPPED)
    events = list(orders.export_events())
    assert [e.position for e in events] == sorted({e.position for e in events})
    assert [(e.stream_id, e.version) for e in events] == [("o-0", 1), ("o-1", 1), ("o-2", 1), ("o-1", 2)]


# --- due -------------------------------------------------------------------------------------


def _three_orders(orders: Orders, clock: ManualClock) -> None:
    orders.record("slow", "order.placed", {**PLACED, "processing_days": 8})
    orders.record("fast", "order.placed", {**PLACED, "processing_days": 2})
    clock.advance(hours=1)
    orders.record("mid", "order.placed", {**PLACED, "processing_days": 5})
    orders.record("ship", "order.placed", PLACED)
    orders.record("ship", "order.shipped", SHIPPED)


def test_due_lists_open_deadlines_across_orders_soonest_first(orders, clock):
    """`due()` spans every order, sorted by due time."""
    _three_orders(orders, clock)
    due = orders.due()
    assert [d.due_at for d in due] == sorted(d.due_at for d in due)
    assert [(d.order_id, d.kind) for d in due[:3]] == [
        ("fast", "ship_by"),
        ("mid", "ship_by"),
        ("slow", "ship_by"),
    ]
    assert {d.order_id for d in due} == {"slow", "fast", "mid", "ship"}
    assert len(due) == 3 + 5  # three ship_by + the shipment's five


def test_due_before_is_inclusive_and_excludes_later_deadlines(orders, clock):
    """`before` keeps deadlines due at or before it."""
    _three_orders(orders, clock)
    mid_due = T0 + dt.timedelta(hours=1) + 5 * DAY
    assert [(d.order_id, d.kind) for d in orders.due(before=mid_due)] == [
        ("fast", "ship_by"),
        ("mid", "ship_by"),
    ]
    assert [d.order_id for d in orders.due(before=mid_due - dt.timedelta(seconds=1))] == ["fast"]
    assert orders.due(before=T0) == []


def test_due_respects_limit(orders, clock):
    """`limit` caps the list, keeping the soonest."""
    _three_orders(orders, clock)
    assert [d.order_id for d in orders.due(limit=2)] == ["fast", "mid"]
    assert len(orders.due(limit=100)) == 8


def test_naive_times_for_due_and_advance_are_validation_errors(orders):
    """`before` and `to` need a timezone."""
    naive = dt.datetime(2026, 3, 10)
    with pytest.raises(ValidationError, match="before"):
        orders.due(before=naive)
    with pytest.raises(ValidationError, match="to"):
        orders.advance(naive)


def test_due_carries_rule_and_setter(orders, clock):
    """Each listed deadline names its rule, setting version and expiry event."""
    _three_orders(orders, clock)
    fast = orders.due(limit=1)[0]
    assert fast.to_json() == {
        "order_id": "fast",
        "kind": "ship_by",
        "due_at": format_time(T0 + 2 * DAY),
        "rule": "order.processing_days=2",
        "set_by_version": 1,
        "on_expiry": "order.auto_cancelled",
        "paused": False,
    }


def test_due_leaves_out_paused_deadlines(orders, clock):
    """While a dispute is open, protection is paused and not listed as due."""
    orders.record("o-1", "order.placed", PLACED)
    clock.advance(days=1)
    orders.record("o-1", "order.shipped", SHIPPED)
    orders.record("o-1", "dispute.opened", OPENED)
    kinds = {d.kind for d in orders.due()}
    assert "protection_ends" not in kinds
    assert "protection_reminder" not in kinds
    assert "seller_response" in kinds


def test_due_and_tick_after_firing_no_longer_list_the_fired_deadline(orders, clock):
    """A fired deadline leaves the due list."""
    _three_orders(orders, clock)
    clock.set(T0 + 3 * DAY)
    fired = orders.tick()
    assert [(e.stream_id, e.type) for e in fired] == [("fast", "order.auto_cancelled")]
    assert "fast" not in {d.order_id for d in orders.due()}


# --- projections -----------------------------------------------------------------------------


def _mixed_book(orders: Orders, clock: ManualClock) -> None:
    """Orders in many states: cancelled, auto-cancelled, frozen (paused), finished, in dispute."""
    orders.record("cancelled", "order.placed", PLACED)
    orders.record("cancelled", "order.cancelled", {"by": "buyer"})
    orders.record("late", "order.placed", {**PLACED, "processing_days": 2})
    orders.record("frozen", "order.placed", {**PLACED, "destination_country": "BR"})
    orders.record("done", "order.placed", {**PLACED, "coupon_discount": 500})
    orders.record("agreed", "order.placed", PLACED)
    clock.advance(days=1)
    orders.record("frozen", "order.shipped", SHIPPED)
    orders.record("done", "order.shipped", SHIPPED)
    orders.record("agreed", "order.shipped", SHIPPED)
    clock.advance(days=3)
    orders.tick()
    orders.record("frozen", "parcel.scanned", {"status": "arrived_at_customs"})
    orders.record("frozen", "protection.extended", {"days": 7, "by": "buyer"})
    orders.record("frozen", "dispute.opened", {**OPENED, "reason": "customs_problem", "cause": "no_invoice"})
    orders.record("done", "parcel.scanned", {"status": "delivered"})
    orders.record("done", "order.receipt_confirmed")
    orders.record("agreed", "dispute.opened", OPENED)
    orders.record("agreed", "dispute.offer_made", {"by": "seller", "amount": 1500})
    orders.record("agreed", "dispute.offer_accepted", {"by": "buyer"})
    clock.advance(days=2)
    orders.tick()


def test_projections_equal_a_fresh_fold_of_every_stream(orders, clock):
    """`orders` and `deadlines` tables == order_row / open_deadlines of a fold of each stream."""
    _mixed_book(orders, clock)
    store = orders.store
    streams = sorted({e.stream_id for e in orders.export_events()})
    assert len(streams) == 5
    expected_rows = {}
    expected_deadlines = {}
    for stream_id in streams:
        state = fold(orders.history(stream_id))
        assert state is not None
        expected_rows[stream_id] = order_row(state)
        open_ = [d for d in open_deadlines(state) if not d.paused]
        if open_:
            expected_deadlines[stream_id] = open_
    assert store.order_rows() == expected_rows
    assert store.deadline_rows() == expected_deadlines
    states = {sid: (row.order_state, row.dispute_state) for sid, row in store.order_rows().items()}
    assert states == {
        "cancelled": ("cancelled", "none"),
        "late": ("cancelled", "none"),
        "frozen": ("frozen", "awaiting_seller"),
        "done": ("finished", "none"),
        "agreed": ("finished", "resolved"),
    }


def test_projection_rows_keep_the_money_invariant(orders, clock):
    """Every `orders` row has paid == held + released + refunded."""
    _mixed_book(orders, clock)
    for row in orders.store.order_rows().values():
        assert row.paid == row.held + row.released_to_seller + row.refunded_to_buyer
        assert row.paid == PLACED["amount"]


def test_projections_survive_reopening_the_file(db_path, clock):
    """Closing and reopening a file database keeps log and projections equal."""
    with parcelfsm.open(str(db_path), clock=clock) as orders:
        _mixed_book(orders, clock)
        rows, deadlines = orders.store.order_rows(), orders.store.deadline_rows()
        log = all_events(orders)
    with parcelfsm.open(str(db_path), clock=clock) as orders:
        assert all_events(orders) == log
        assert orders.store.order_rows() == rows
        assert orders.store.deadline_rows() == deadlines


def test_opening_an_existing_database_is_idempotent(db_path, clock):
    """Opening twice creates nothing new and loses nothing."""
    with parcelfsm.open(str(db_path), clock=clock) as orders:
        orders.record("o-1", "order.placed", PLACED)
    before = _dump(db_path)
    with parcelfsm.open(str(db_path), clock=clock):
        pass
    assert _dump(db_path) == before
