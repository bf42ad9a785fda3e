"""Settings the measured speed depends on, checked on real SQLite files.

docs/benchmarks.md explains the figures; these tests keep the conditions they were
measured under from silently disappearing.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

import parcelfsm
import parcelfsm.transfer
from parcelfsm.clock import ManualClock

PLACED = {"amount": 2599, "currency": "USD", "shipping_cost": 300, "destination_country": "US"}


def test_a_new_database_file_uses_the_write_ahead_log(tmp_path: Path) -> None:
    """A file parcelfsm creates is in WAL mode (a rollback journal would sync every
    commit and make readers and the writer wait for each other)."""
    db = tmp_path / "new.db"
    with parcelfsm.open(str(db), clock=ManualClock("2026-01-01")) as orders:
        orders.record("o-1", "order.placed", PLACED)
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()


def test_a_new_file_has_small_pages_and_its_connections_checkpoint_rarely(tmp_path: Path) -> None:
    """New files use 2 KiB pages (each commit writes its dirty pages whole to the WAL) and
    the backend's connection checkpoints every 8,000 WAL pages, not SQLite's 1,000 (hot
    projection pages are copied back once per checkpoint)."""
    db = tmp_path / "new.db"
    with parcelfsm.open(str(db), clock=ManualClock("2026-01-01")) as orders:
        orders.record("o-1", "order.placed", PLACED)
        conn = orders.log.backend._conn  # type: ignore[attr-defined]
        assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 8000
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA page_size").fetchone()[0] == 2048


def test_a_single_command_is_one_short_transaction(tmp_path: Path) -> None:
    """Recording one command runs one BEGIN/COMMIT pair around four statements and the
    deadline rows that changed, no savepoints (each would cost a statement; the rows
    still land atomically): a carrier scan that re-arms one deadline is six statements
    in all, where rewriting every deadline row of the order took nine."""
    db = tmp_path / "stmts.db"
    with parcelfsm.open(str(db), clock=ManualClock("2026-01-01")) as orders:
        orders.record("o-1", "order.placed", PLACED)
        conn = orders.log.backend._conn  # type: ignore[attr-defined]
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        orders.record("o-1", "order.shipped", {"tracking_number": "LP00123456789"})
        shipped = list(statements)
        conn.set_trace_callback(None)
        orders.record("o-1", "parcel.scanned", {"status": "info_received"})  # closes two
        conn.set_trace_callback(statements.append)
        statements.clear()
        orders.record("o-1", "parcel.scanned", {"status": "in_transit"})
        conn.set_trace_callback(None)
    for run in (shipped, statements):
        words = [s.split()[0].upper() for s in run]
        assert words.count("BEGIN") == 1 and words.count("COMMIT") == 1
        assert "SAVEPOINT" not in words and "RELEASE" not in words
    others = [s for s in shipped if "INTO deadlines" not in s and "FROM deadlines" not in s]
    # BEGIN, the stream head, the event, the order row, COMMIT
    assert len(others) == 5, others
    # shipping closes ship_by (one delete) and arms five deadlines (five rows written)
    assert sum("FROM deadlines" in s for s in shipped) == 1, shipped
    assert sum("INTO deadlines" in s for s in shipped) == 5, shipped
    # a later scan re-arms presumed_lost only: BEGIN, head, event, order row, that row, COMMIT
    assert len(statements) == 6, statements
    assert sum("deadlines" in s for s in statements) == 1, statements


def test_a_batch_takes_a_savepoint_only_for_keyed_commands(tmp_path: Path) -> None:
    """`record_many` refuses an unkeyed command before it writes anything, so only a
    keyed one (whose key the insert may find taken) pays for a savepoint; refused
    commands still leave no trace and the others land."""
    db = tmp_path / "batch.db"
    with parcelfsm.open(str(db), clock=ManualClock("2026-01-01")) as orders:
        orders.record("o-1", "order.placed", PLACED, key="taken")
        conn = orders.log.backend._conn  # type: ignore[attr-defined]
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        outcomes = orders.record_many(
            [
                ("o-2", "order.placed", PLACED),
                ("o-1", "order.receipt_confirmed", {}),  # refused: not shipped
                ("o-3", "order.placed", PLACED, "taken"),  # refused: the key is o-1's
                ("o-4", "order.placed", PLACED, "fresh"),
            ]
        )
        conn.set_trace_callback(None)
        assert [o.ok for o in outcomes] == [True, False, False, True]
        assert orders.log.order_row("o-3") is None and orders.log.order_row("o-4") is not None
    savepoints = [s for s in statements if s.upper().startswith("SAVEPOINT")]
    assert len(savepoints) == 2, statements  # o-3 and o-4 (keyed); none for o-2 and o-1


def _interleaved_log(tmp_path: Path, orders: int = 40) -> list[str]:
    """Exported lines of `orders` orders whose events interleave round-robin."""
    clock = ManualClock("2026-01-01")
    with parcelfsm.open(str(tmp_path / "source.db"), clock=clock) as source:
        for step in range(3):
            for i in range(orders):
                clock.set(f"2026-01-01T00:{step:02d}:{i:02d}Z")
                if step == 0:
                    source.record(f"o-{i}", "order.placed", PLACED, key=f"k-{i}")
                elif step == 1:
                    source.record(f"o-{i}", "order.shipped", {"tracking_number": f"LP00{i:012d}"})
                else:
                    source.record(f"o-{i}", "parcel.scanned", {"status": "in_transit"})
        return [json.dumps(e.to_json(), sort_keys=True) for e in source.export_events()]


def test_an_import_that_outgrows_its_stream_cache_stores_the_same_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With room for only 3 streams' states and batches of 7 lines, an interleaved
    import reads dropped streams back from the log and ends byte-identical, and a
    line repeated inside one batch is skipped, not a conflict."""
    lines = _interleaved_log(tmp_path)
    with parcelfsm.open(str(tmp_path / "roomy.db"), clock=ManualClock("2027-01-01")) as roomy:
        roomy.import_lines(lines)
        want = [e.to_json() for e in roomy.export_events()]
        want_rows = [roomy.log.order_row(f"o-{i}") for i in range(40)]
    monkeypatch.setattr(parcelfsm.transfer, "HEADS", 3)
    monkeypatch.setattr(parcelfsm.transfer, "BATCH", 7)
    with parcelfsm.open(str(tmp_path / "tight.db"), clock=ManualClock("2027-01-01")) as tight:
        report = tight.import_lines(iter([*lines[:5], lines[3], *lines[5:]]))
        assert (report.appended, report.skipped, report.orders) == (len(lines), 1, 40)
        assert [e.to_json() for e in tight.export_events()] == want
        assert [tight.log.order_row(f"o-{i}") for i in range(40)] == want_rows
        assert tight.replay(verify=True).problems == ()
