"""`replay --verify` reads the log once: its stream-order position scan and projection
comparison must answer exactly as the position-order audit and `compare_projection` do."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

import parcelfsm
from parcelfsm.clock import ManualClock
from parcelfsm.store.audit import LogAudit, PositionScan
from parcelfsm.store.recorder import EventRow

T0 = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
PLACED = {"amount": 2599, "currency": "USD", "shipping_cost": 300, "destination_country": "US"}


def _row(position: int, stream: str, version: int) -> EventRow:
    return EventRow(position, stream, version, "order.placed", 1, "t", "t", None, None, "{}", "", "")


@st.composite
def logs(draw: st.DrawFn) -> list[EventRow]:
    """A few streams whose rows got positions: usually 1..n in an interleaving that keeps
    each stream's versions in order, sometimes with a gap, an offset or a swap (positions
    unique, as every backend's key keeps them)."""
    sizes = draw(st.lists(st.integers(1, 4), min_size=0, max_size=5))
    slots = [s for s, size in enumerate(sizes) for _ in range(size)]
    order = draw(st.permutations(slots))
    positions = list(range(1, len(order) + 1))
    damage = draw(st.sampled_from(["none", "none", "gap", "offset", "swap"]))
    if damage == "gap" and positions:
        cut = draw(st.integers(0, len(positions) - 1))
        positions = positions[:cut] + [p + 1 for p in positions[cut:]]
    elif damage == "offset":  # positions stay unique: they are the backend's key
        shift = draw(st.sampled_from([-1, 1, 3]))
        positions = [p + shift for p in positions]
    versions = [0] * len(sizes)
    rows = []
    for stream, position in zip(order, positions, strict=True):
        versions[stream] += 1
        rows.append(_row(position, f"s{stream}", versions[stream]))
    if damage == "swap" and len(rows) >= 2:
        i, j = sorted(draw(st.lists(st.integers(0, len(rows) - 1), min_size=2, max_size=2, unique=True)))
        a, b = rows[i], rows[j]
        rows[i] = _row(b.position, a.stream_id, a.version)
        rows[j] = _row(a.position, b.stream_id, b.version)
    return rows


@settings(max_examples=300, deadline=None)
@given(logs(), st.booleans())
def test_the_stream_order_scan_is_clean_exactly_when_the_position_audit_finds_nothing(
    rows: list[EventRow], gapless: bool
) -> None:
    """Gaps, offsets and swapped positions: the one-read scan flags what the audit would."""
    audit = LogAudit(gapless=gapless)
    for row in sorted(rows, key=lambda r: r.position):
        audit.feed(row)
    audit.finish()
    scan = PositionScan(gapless=gapless)
    for stream in sorted({r.stream_id for r in rows}):
        scan.feed(sorted((r for r in rows if r.stream_id == stream), key=lambda r: r.version))
    assert scan.clean == (not audit.problems)


def _log(path: Path) -> None:
    clock = ManualClock(T0)
    with parcelfsm.open(str(path), clock=clock) as orders:
        for i in range(3):
            orders.record(f"o-{i}", "order.placed", PLACED)
        clock.set(T0 + dt.timedelta(hours=1))
        orders.record("o-1", "order.shipped", {"tracking_number": "LP001"})


def test_a_changed_deadline_row_is_named_by_verify(tmp_path: Path) -> None:
    """A stored deadline whose due time was edited is reported, as before the one-read verify."""
    db = tmp_path / "o.db"
    _log(db)
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE deadlines SET due_at = '2030-01-01T00:00:00Z' WHERE stream_id = 'o-2'")
    with parcelfsm.open(str(db), clock=ManualClock(T0)) as orders:
        problems = orders.replay(verify=True).problems
    assert len(problems) == 1 and problems[0].startswith("o-2: projected deadlines")


def test_an_order_row_missing_from_its_page_is_reported_missing(tmp_path: Path) -> None:
    """The order rows read beside the streams: one deleted is named, the others still match."""
    db = tmp_path / "o.db"
    _log(db)
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM orders WHERE stream_id = 'o-1'")
    with parcelfsm.open(str(db), clock=ManualClock(T0)) as orders:
        problems = orders.replay(verify=True).problems
    assert problems == ("o-1: missing from the orders projection",)
