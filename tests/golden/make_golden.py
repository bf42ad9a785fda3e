"""Regenerate the golden reference files (only when the stored format changes on purpose).

    python tests/golden/make_golden.py

Writes `reference.jsonl` (a seeded `scripts/simulate.py` run: every event as exported,
hashes included) and `expected.json` (the projections after recording it, every
order's `show` view at three instants, and the `due` list) next to this file.
`tests/test_golden.py` fails on any byte difference from them, so an optimisation of
the encoder, the hash chain, the fold or the store cannot change what is stored or
shown without that test noticing. The files were made by the code before the
performance work (issue 11) and must not be regenerated to make a change pass.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import parcelfsm
from parcelfsm.clock import ManualClock

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ORDERS, SEED = 24, 11
#: the instants every order is shown at (mid-run, the end of the run, long after)
SHOW_AT = ("2026-01-20T12:00:00Z", "2026-03-15T00:00:00Z", "2027-01-01T00:00:00Z")
ORDER_COLUMNS = (
    "stream_id, version, order_state, parcel_state, dispute_state, currency, paid, held, "
    "released_to_seller, refunded_to_buyer, policy_version"
)
DEADLINE_COLUMNS = "stream_id, kind, due_at, due_us, rank, rule, set_by_version, on_expiry, alert"


def simulate_argv(db: Path, out: Path) -> list[str]:
    """The simulate.py run the reference log comes from."""
    return [
        sys.executable,
        str(ROOT / "scripts" / "simulate.py"),
        "--orders",
        str(ORDERS),
        "--seed",
        str(SEED),
        "--db",
        str(db),
        "--out",
        str(out),
    ]


def projections(db: Path) -> dict[str, list[list[Any]]]:
    """The `orders` and `deadlines` projection rows of a database, in a stable order."""
    conn = sqlite3.connect(db)
    try:
        orders = conn.execute(f"SELECT {ORDER_COLUMNS} FROM orders ORDER BY stream_id").fetchall()
        deadlines = conn.execute(
            f"SELECT {DEADLINE_COLUMNS} FROM deadlines ORDER BY stream_id, kind"
        ).fetchall()
    finally:
        conn.close()
    return {"orders": [list(r) for r in orders], "deadlines": [list(r) for r in deadlines]}


def views(db: Path) -> dict[str, Any]:
    """Every order's `show` view at each instant of SHOW_AT, and the whole `due` list."""
    with parcelfsm.open(str(db), clock=ManualClock(SHOW_AT[-1])) as orders:
        ids = sorted({e.stream_id for e in orders.export_events()})
        shown: dict[str, dict[str, Any]] = {}
        for oid in ids:
            shown[oid] = {}
            for at in SHOW_AT:
                try:
                    shown[oid][at] = orders.show(oid, at=at).to_json()
                except parcelfsm.errors.NotFound:
                    shown[oid][at] = None  # placed later
        due = [
            {"stream_id": d.stream_id, "kind": d.kind, "due_at": d.due_at.isoformat(), "rule": d.rule}
            for d in orders.due(limit=1_000_000)
        ]
    return {"show": shown, "due": due}


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        db, out = Path(tmp) / "sim.db", HERE / "reference.jsonl"
        subprocess.run(simulate_argv(db, out), check=True, cwd=ROOT, capture_output=True)
        expected = {"projections": projections(db), **views(db)}
    (HERE / "expected.json").write_text(
        json.dumps(expected, indent=1, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"{sum(1 for _ in out.open(encoding='utf-8'))} events, {ORDERS} orders")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
