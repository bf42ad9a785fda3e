"""Benchmark parcelfsm's durable appends, replay and `due` against raw sqlite3 baselines.

Usage:
    python scripts/bench.py                                   # 1000 orders x 8 events, JSON on stdout
    python scripts/bench.py --orders 2000 --events-per-order 8 --out bench.json
    python scripts/bench.py --workload simulate --orders 300 --seed 7
    python scripts/bench.py --sync FULL                       # skip the synchronous=OFF runs

One run, one machine, one workload, every number in one JSON report:

(a) `append`: `Orders.record` of every command into a fresh file database (WAL) with
    `synchronous` FULL (durable; also OFF unless `--sync FULL`), events/s;
(b) `append_raw`: the same rows as plain `sqlite3` INSERTs (same columns and unique
    indexes, JSON and a sha256 computed per row), one transaction per command — the
    floor any SQLite event store pays; `ratio` = parcelfsm / raw;
(c) `replay`: `Orders.replay(verify=False)` (fold every stream and rewrite the
    projections), `Orders.replay(verify=True)`, and a pure `fold` over
    `store.iter_streams()`, events/s;
(d) `read_raw`: `sqlite3` read of every row in stream order + `json.loads` of `data`;
(e) `due`: latency of `Orders.due(before=…, limit=100)` over the projection (nothing
    due / everything due), and of the scan `advance` starts with
    (`store.streams_due`), with the number of orders and deadline rows.

The `synthetic` workload (default) is M orders x K events: `order.placed`,
`order.shipped`, then K-2 scans that keep the parcel moving, interleaved round-robin
across orders one second apart (no deadline fires). `--workload simulate` uses
`scripts/simulate.py` instead (real traffic with ticks and timed events; (a) then
includes its `advance` calls and (b) groups rows per command as (stream, recorded_at)).
`eventsourcing` numbers are added only when `import eventsourcing` works.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import parcelfsm
from parcelfsm.clock import ManualClock, format_time
from parcelfsm.fold import fold

sys.path.insert(0, str(Path(__file__).resolve().parent))
import simulate  # the sibling script, imported as a module

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
SCAN_CYCLE = ("in_transit", "arrived_at_customs", "customs_cleared")
RAW_SCHEMA = """
CREATE TABLE events (
    position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, version INTEGER NOT NULL,
    type TEXT NOT NULL, schema_version INTEGER, occurred_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL, due_at TEXT, key TEXT, fingerprint TEXT, data TEXT NOT NULL,
    prev_hash TEXT, hash TEXT NOT NULL
);
CREATE UNIQUE INDEX idx_events_stream_version ON events (stream_id, version);
CREATE UNIQUE INDEX idx_events_key ON events (key);
"""
RAW_INSERT = (
    "INSERT INTO events (stream_id, version, type, schema_version, occurred_at, recorded_at, due_at, "
    "key, fingerprint, data, prev_hash, hash) VALUES (?, ?, ?, 1, ?, ?, ?, ?, NULL, ?, ?, ?)"
)
Command = tuple[dt.datetime, str, str, dict[str, Any]]  # (when, order id, type, data)


def synthetic(orders: int, per_order: int) -> list[Command]:
    """M orders x K commands, round-robin, one second apart."""
    if per_order < 2:
        raise SystemExit("bench: --events-per-order must be at least 2 (placed, shipped)")
    placed = {"amount": 2599, "currency": "USD", "shipping_cost": 300, "destination_country": "US"}
    commands: list[Command] = []
    t = START
    for k in range(per_order):
        for i in range(orders):
            t += dt.timedelta(seconds=1)
            oid = f"b-{i:07d}"
            if k == 0:
                commands.append((t, oid, "order.placed", placed))
            elif k == 1:
                commands.append((t, oid, "order.shipped", {"tracking_number": f"LP00{i:012d}"}))
            elif k == 2:
                commands.append((t, oid, "parcel.scanned", {"status": "info_received"}))
            else:
                commands.append((t, oid, "parcel.scanned", {"status": SCAN_CYCLE[(k - 3) % 3]}))
    return commands


def rate(n: int, seconds: float) -> float:
    return round(n / seconds, 1) if seconds > 0 else float("inf")


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    begin = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - begin


# -- (a) parcelfsm appends -------------------------------------------------------------------


def append_parcelfsm(path: str, commands: list[Command], synchronous: str) -> dict[str, Any]:
    clock = ManualClock(START)
    with parcelfsm.open(path, clock=clock, synchronous=synchronous) as orders:

        def run() -> int:
            for when, oid, type_name, data in commands:
                clock.set(when)
                orders.record(oid, type_name, data)
            return len(commands)

        events, seconds = timed(run)
    return {
        "synchronous": synchronous,
        "commands": len(commands),
        "events": events,
        "seconds": round(seconds, 3),
        "events_per_s": rate(events, seconds),
    }


def append_simulate(path: str, orders: int, seed: int, synchronous: str) -> dict[str, Any]:
    result, _counts, events = simulate.simulate(orders, seed, db=path, synchronous=synchronous)
    return {
        "synchronous": synchronous,
        "orders": orders,
        "commands": result.commands + result.retries,
        "rejected": sum(result.rejected.values()),
        "events": events,
        "seconds": round(result.play_seconds, 3),
        "events_per_s": rate(events, result.play_seconds),
        "orders_per_s": rate(orders, result.play_seconds),
    }


# -- (b) raw sqlite3 appends -----------------------------------------------------------------


def raw_connect(path: str, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.executescript(RAW_SCHEMA)
    return conn


def rows_of(source_db: str) -> list[tuple[Any, ...]]:
    """The stored rows of a parcelfsm database, in log order (what (b) re-inserts)."""
    conn = sqlite3.connect(source_db)
    try:
        sql = (
            "SELECT stream_id, version, type, occurred_at, recorded_at, due_at, key, data FROM events "
            "ORDER BY position"
        )
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def append_raw(path: str, rows: list[tuple[Any, ...]], synchronous: str) -> dict[str, Any]:
    """Insert rows one command per transaction; a command = consecutive rows of one (stream, recorded_at)."""
    conn = raw_connect(path, synchronous)
    # decode the data up front: the timed loop re-serializes it, as a writer would
    payload = [(*r[:7], json.loads(r[7])) for r in rows]

    def run() -> int:
        transactions = 0
        heads: dict[str, str] = {}
        i = 0
        while i < len(payload):
            group = payload[i][0], payload[i][4]
            conn.execute("BEGIN IMMEDIATE")
            while i < len(payload) and (payload[i][0], payload[i][4]) == group:
                stream_id, version, type_name, occurred, recorded, due, key, data = payload[i]
                data_json = json.dumps(data, sort_keys=True, separators=(",", ":"))
                prev = heads.get(stream_id, "")
                h = hashlib.sha256((prev + data_json).encode()).hexdigest()
                conn.execute(
                    RAW_INSERT,
                    (stream_id, version, type_name, occurred, recorded, due, key, data_json, prev, h),
                )
                heads[stream_id] = h
                i += 1
            conn.execute("COMMIT")
            transactions += 1
        return transactions

    try:
        transactions, seconds = timed(run)
    finally:
        conn.close()
    return {
        "synchronous": synchronous,
        "transactions": transactions,
        "events": len(rows),
        "seconds": round(seconds, 3),
        "events_per_s": rate(len(rows), seconds),
    }


# -- (c) replay and (d) raw read --------------------------------------------------------------


def replay_numbers(path: str) -> dict[str, Any]:
    with parcelfsm.open(path, clock=ManualClock(START), synchronous="OFF") as orders:
        rebuilt, rebuild_s = timed(lambda: orders.replay(verify=False))
        verified, verify_s = timed(lambda: orders.replay(verify=True))

        def pure() -> int:
            n = 0
            for _, stream in orders.store.iter_streams():
                fold(stream)
                n += len(stream)
            return n

        folded, fold_s = timed(pure)
        read_only, read_s = timed(lambda: sum(len(s) for _, s in orders.store.iter_streams()))
    return {
        "rebuild": {
            "events": rebuilt.events,
            "seconds": round(rebuild_s, 3),
            "events_per_s": rate(rebuilt.events, rebuild_s),
        },
        "verify": {
            "events": verified.events,
            "problems": len(verified.problems),
            "seconds": round(verify_s, 3),
            "events_per_s": rate(verified.events, verify_s),
        },
        "pure_fold": {"events": folded, "seconds": round(fold_s, 3), "events_per_s": rate(folded, fold_s)},
        "iter_streams_only": {
            "events": read_only,
            "seconds": round(read_s, 3),
            "events_per_s": rate(read_only, read_s),
        },
    }


def read_raw(path: str) -> dict[str, Any]:
    conn = sqlite3.connect(path)

    def run() -> int:
        n = 0
        for (data,) in conn.execute("SELECT data FROM events ORDER BY stream_id, version"):
            json.loads(data)
            n += 1
        return n

    try:
        n, seconds = timed(run)
    finally:
        conn.close()
    return {"events": n, "seconds": round(seconds, 3), "events_per_s": rate(n, seconds)}


# -- (e) due -----------------------------------------------------------------------------------


def latencies(fn: Callable[[], Any], repeats: int) -> dict[str, Any]:
    samples = []
    size = 0
    for _ in range(repeats):
        begin = time.perf_counter()
        size = len(fn())
        samples.append((time.perf_counter() - begin) * 1000)
    samples.sort()
    return {
        "rows": size,
        "repeats": repeats,
        "p50_ms": round(statistics.median(samples), 4),
        "p95_ms": round(samples[min(len(samples) - 1, int(len(samples) * 0.95))], 4),
        "mean_ms": round(statistics.fmean(samples), 4),
    }


def due_numbers(path: str, repeats: int) -> dict[str, Any]:
    conn = sqlite3.connect(path)
    try:
        n_orders = conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0]
        n_deadlines = conn.execute("SELECT COUNT(*) FROM deadlines").fetchone()[0]
        last = conn.execute("SELECT MAX(recorded_at) FROM events").fetchone()[0]
    finally:
        conn.close()
    now = dt.datetime.fromisoformat(last) if last else START
    far = now + dt.timedelta(days=400)
    with parcelfsm.open(path, clock=ManualClock(now)) as orders:
        return {
            "orders": n_orders,
            "deadline_rows": n_deadlines,
            "now": format_time(now),
            "due_now_limit_100": latencies(lambda: orders.due(before=now, limit=100), repeats),
            "due_all_limit_100": latencies(lambda: orders.due(before=far, limit=100), repeats),
            "streams_due_now (advance's first query)": latencies(
                lambda: orders.store.streams_due(now), repeats
            ),
        }


# -- eventsourcing (only when installed) ---------------------------------------------------------


def eventsourcing_numbers(commands: list[Command], directory: str) -> dict[str, Any] | str:
    """A comparable append + replay with the `eventsourcing` library, if it can be imported."""
    try:
        import eventsourcing
    except ImportError:
        return "not installed"
    try:  # pragma: no cover - exercised only where eventsourcing is installed
        from eventsourcing.application import Application
        from eventsourcing.domain import Aggregate, event

        class Order(Aggregate):  # type: ignore[misc]
            @event("Placed")  # type: ignore[misc]
            def __init__(self, data: dict[str, Any]) -> None:
                self.events = 1

            @event("Recorded")  # type: ignore[misc]
            def record(self, type_name: str, data: dict[str, Any]) -> None:
                self.events += 1

        env = {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": os.path.join(directory, "es.db"),
        }
        app = Application(env=env)
        ids: dict[str, Any] = {}

        def run() -> int:
            for _, oid, type_name, data in commands:
                if oid not in ids:
                    agg = Order(data)
                    ids[oid] = agg.id
                else:
                    agg = app.repository.get(ids[oid])
                    agg.record(type_name, data)
                app.save(agg)
            return len(commands)

        n, seconds = timed(run)
        _, replay_s = timed(lambda: [app.repository.get(i) for i in ids.values()])
        return {
            "version": getattr(eventsourcing, "__version__", "?"),
            "append": {"events": n, "seconds": round(seconds, 3), "events_per_s": rate(n, seconds)},
            "replay": {"events": n, "seconds": round(replay_s, 3), "events_per_s": rate(n, replay_s)},
        }
    except Exception as exc:  # report, do not fail the whole benchmark
        return {"error": f"{type(exc).__name__}: {exc}"}


# -- the report ----------------------------------------------------------------------------------


def bench(
    orders: int,
    per_order: int,
    *,
    workload: str = "synthetic",
    seed: int = 1,
    sync_modes: tuple[str, ...] = ("FULL", "OFF"),
    due_repeats: int = 200,
    directory: str | None = None,
) -> dict[str, Any]:
    """Run every measurement on one workload and return the report."""
    begin = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="parcelfsm-bench-", dir=directory) as tmp:
        commands = synthetic(orders, per_order) if workload == "synthetic" else []
        report: dict[str, Any] = {
            "machine": {
                "python": platform.python_version(),
                "platform": platform.platform(),
                "sqlite": sqlite3.sqlite_version,
                "cpus": os.cpu_count(),
            },
            "workload": {"kind": workload, "orders": orders},
            "append": {},
            "append_raw": {},
            "ratio_append": {},
        }
        if workload == "synthetic":
            report["workload"].update({"events_per_order": per_order, "commands": len(commands)})
        else:
            report["workload"]["seed"] = seed
        main_db = ""
        for mode in sync_modes:
            db = os.path.join(tmp, f"parcelfsm-{mode}.db")
            if workload == "synthetic":
                report["append"][mode] = append_parcelfsm(db, commands, mode)
            else:
                report["append"][mode] = append_simulate(db, orders, seed, mode)
            raw = append_raw(os.path.join(tmp, f"raw-{mode}.db"), rows_of(db), mode)
            report["append_raw"][mode] = raw
            report["ratio_append"][mode] = round(
                report["append"][mode]["events_per_s"] / raw["events_per_s"], 3
            )
            main_db = main_db or db
        report["workload"]["events"] = report["append"][sync_modes[0]]["events"]
        report["replay"] = replay_numbers(main_db)
        report["read_raw"] = read_raw(main_db)
        raw_rate = report["read_raw"]["events_per_s"]
        report["ratio_replay"] = {
            name: round(report["replay"][name]["events_per_s"] / raw_rate, 3)
            for name in ("rebuild", "verify", "pure_fold", "iter_streams_only")
        }
        report["due"] = due_numbers(main_db, due_repeats)
        if not commands:  # the simulate workload: the stored commands, as (when, order, type, data)
            commands = [
                (dt.datetime.fromisoformat(r[4]), r[0], r[2], json.loads(r[7]))
                for r in rows_of(main_db)
                if r[5] is None
            ]
        report["eventsourcing"] = eventsourcing_numbers(commands, tmp)
    report["seconds_total"] = round(time.perf_counter() - begin, 2)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1000, help="orders (default 1000)")
    parser.add_argument(
        "--events-per-order", type=int, default=8, help="synthetic events per order (default 8)"
    )
    parser.add_argument("--workload", choices=("synthetic", "simulate"), default="synthetic")
    parser.add_argument("--seed", type=int, default=1, help="seed of the simulate workload")
    parser.add_argument(
        "--sync",
        default="FULL,OFF",
        help="synchronous modes for (a)/(b), first is used after (default FULL,OFF)",
    )
    parser.add_argument("--due-repeats", type=int, default=200, help="repetitions of each due query")
    parser.add_argument("--dir", default=None, help="where the temporary databases go (default: system temp)")
    parser.add_argument("--out", default=None, help="also write the JSON report to this file")
    args = parser.parse_args(argv)
    modes = tuple(m.strip().upper() for m in args.sync.split(",") if m.strip())
    if not modes or any(m not in ("OFF", "NORMAL", "FULL", "EXTRA") for m in modes):
        parser.error("--sync: a comma-separated list of OFF, NORMAL, FULL, EXTRA")
    report = bench(
        args.orders,
        args.events_per_order,
        workload=args.workload,
        seed=args.seed,
        sync_modes=modes,
        due_repeats=args.due_repeats,
        directory=args.dir,
    )
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
