"""Settings the measured speed depends on, checked on real SQLite files.

docs/benchmarks.md explains the figures; these tests keep the conditions they were
measured under from silently disappearing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import parcelfsm
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


def test_a_single_command_is_one_short_transaction(tmp_path: Path) -> None:
    """Recording one command runs one BEGIN/COMMIT pair around six statements and no
    savepoints (each would cost a statement; the rows still land atomically)."""
    db = tmp_path / "stmts.db"
    with parcelfsm.open(str(db), clock=ManualClock("2026-01-01")) as orders:
        orders.record("o-1", "order.placed", PLACED)
        conn = orders.log.backend._conn  # type: ignore[attr-defined]
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        orders.record("o-1", "order.shipped", {"tracking_number": "LP00123456789"})
        conn.set_trace_callback(None)
    words = [s.split()[0].upper() for s in statements]
    assert words.count("BEGIN") == 1 and words.count("COMMIT") == 1
    assert "SAVEPOINT" not in words and "RELEASE" not in words
    others = [s for s in statements if not s.startswith("INSERT INTO deadlines")]
    # BEGIN, the stream head, the event, the order row, its deadlines' delete, COMMIT
    assert len(others) == 6, others
