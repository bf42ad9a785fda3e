"""`tick` fires a chunk of orders at once (issue 11): their streams read in one query,
their timed events appended in one call. The chunk path must store what one order at a
time stored, refuse what a single read refuses, and leave the process as it found it."""

from __future__ import annotations

import datetime as dt
import gc
import sqlite3
from pathlib import Path

import pytest

import parcelfsm
from parcelfsm import ManualClock
from parcelfsm.decide import fire_due
from parcelfsm.errors import ConcurrencyConflict, CorruptLog
from parcelfsm.testing import DEFAULTS

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
LATER = T0 + dt.timedelta(days=400)
PLACED = DEFAULTS["order.placed"]
SHIPPED = DEFAULTS["order.shipped"]


def placed_book(target: str, n: int, secret: bytes | None = None) -> None:
    """`n` orders, every third shipped, each with deadlines that fire (some several)."""
    clock = ManualClock(T0)
    with parcelfsm.open(target, clock=clock, secret=secret) as orders:
        for i in range(n):
            clock.advance(minutes=7)
            orders.record(f"o-{i:03d}", "order.placed", PLACED)
        clock.advance(days=1)
        for i in range(0, n, 3):
            orders.record(f"o-{i:03d}", "order.shipped", SHIPPED)


def test_the_chunk_size_changes_no_stored_byte(tmp_path: Path) -> None:
    """Firing 40 orders in chunks of 16 (under an HMAC key; some orders fire several
    deadlines) stores byte-identical rows — hashes, times, positions — to chunks of one
    order (tests/test_golden.py holds both to the recorded reference log)."""
    secret = b"k" * 32
    chunked, single = str(tmp_path / "chunked.db"), str(tmp_path / "single.db")
    for db in (chunked, single):
        placed_book(db, 40, secret)
    with parcelfsm.open(chunked, clock=ManualClock(LATER), secret=secret) as orders:
        fired_chunked = orders.advance(LATER, batch=16)
    with parcelfsm.open(single, clock=ManualClock(LATER), secret=secret) as orders:
        fired_single = orders.advance(LATER, batch=1)
    assert len(fired_chunked) > 40  # shipped orders fire more than one deadline
    assert fired_chunked == fired_single
    read = "SELECT * FROM event_rows ORDER BY position"
    stored = [sqlite3.connect(db).execute(read).fetchall() for db in (chunked, single)]
    assert stored[0] == stored[1]
    with parcelfsm.open(chunked, clock=ManualClock(LATER), secret=secret) as orders:
        assert orders.replay(verify=True).problems == ()


def test_a_forged_stream_in_a_chunk_stops_the_chunk_and_writes_nothing(tmp_path: Path) -> None:
    """The chunk's one read checks every stream's chain as a single read does: a forged
    row raises `CorruptLog` naming it, and no order of the chunk is fired."""
    db = str(tmp_path / "orders.db")
    placed_book(db, 10)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE events SET data = replace(data, '2599', '2598') WHERE stream_id = 'o-004'")
    with parcelfsm.open(db, clock=ManualClock(LATER)) as orders:
        before = orders.log.count_events()
        with pytest.raises(CorruptLog, match="o-004"):
            orders.tick()
        assert orders.log.count_events() == before


def test_a_stream_that_moved_since_its_head_was_read_is_a_conflict_and_nothing_lands() -> None:
    """`append_streams` checks each stream's head as `append` does: a batch whose head is
    stale raises `ConcurrencyConflict`, and the other streams' events are not written."""
    clock = ManualClock(T0)
    with parcelfsm.open("memory:", clock=clock) as orders:
        orders.record("a", "order.placed", PLACED)
        orders.record("b", "order.placed", PLACED)
        batches = []
        for order_id in ("a", "b"):
            state = orders.state(order_id)
            batches.append((fire_due(state, LATER)[1], orders.log.head(order_id)))
        orders.record("b", "order.shipped", SHIPPED)  # b moves on after its head was read
        with pytest.raises(ConcurrencyConflict, match="'b'"), orders.log.transaction():
            orders.log.append_streams(batches, LATER)
        assert orders.log.head("a")[0] == 1


@pytest.mark.parametrize("collecting", [True, False])
def test_firing_leaves_the_garbage_collector_as_it_found_it(collecting: bool) -> None:
    """The collector is off while a chunk fires, then as it was before: on when it was
    on, still off when the caller had turned it off."""
    clock = ManualClock(T0)
    was = gc.isenabled()
    try:
        with parcelfsm.open("memory:", clock=clock) as orders:
            orders.record("a", "order.placed", PLACED)
            (gc.enable if collecting else gc.disable)()
            assert len(orders.advance(LATER)) == 1
            assert gc.isenabled() is collecting
    finally:
        (gc.enable if was else gc.disable)()
