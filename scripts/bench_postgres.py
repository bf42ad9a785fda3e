"""Benchmark parcelfsm on PostgreSQL next to SQLite: appends, batches, replay, timer workers.

Usage:
    python scripts/bench_postgres.py                       # a throwaway local cluster
    python scripts/bench_postgres.py --db postgresql://user@host/db --orders 2000
    python scripts/bench_postgres.py --json                # the rows as JSON

`scripts/bench.py --db postgresql://…` calls `main()` here. Each row is measured on a
fresh database of each backend (PostgreSQL: a new database per row when `--db` names a
server we may create databases on, else the given one emptied; SQLite: a new file with
`synchronous=FULL`), with 1 and with 4 processes:

- `append`: one `Orders.record` per command (one transaction, one commit each),
  commands/s; with 4 processes each places its own orders;
- `record_many`: `Orders.record_many` in batches of 100 commands, commands/s;
- `replay`: `Orders.replay()` (fold every stream, rewrite the projections), events/s;
- `tick`: `parcelfsm tick --loop --batch 100` worker processes firing one due
  deadline per order until none is due, deadlines/s (process start-up included).

PostgreSQL runs with its defaults (`fsync=on`, `synchronous_commit=on`): every commit
is durable, as SQLite's `synchronous=FULL`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

import parcelfsm
from parcelfsm import ManualClock
from parcelfsm.clock import format_time
from parcelfsm.testing import DEFAULTS

T0 = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
LATER = T0 + dt.timedelta(days=30)
PLACED = DEFAULTS["order.placed"]
EXE = str(Path(sys.executable).with_name("parcelfsm"))


def _place_one_by_one(target: str, ids: list[str]) -> None:
    with parcelfsm.open(target, clock=ManualClock(T0)) as orders:
        for order_id in ids:
            orders.record(order_id, "order.placed", PLACED)


def _place_in_batches(target: str, ids: list[str]) -> None:
    with parcelfsm.open(target, clock=ManualClock(T0)) as orders:
        for start in range(0, len(ids), 100):
            orders.record_many([(i, "order.placed", PLACED) for i in ids[start : start + 100]])


def _in_processes(fn: Callable[[str, list[str]], None], target: str, count: int, procs: int) -> float:
    """Run `fn` over `count` order ids split across `procs` processes; wall seconds."""
    ids = [f"o-{i:06d}" for i in range(count)]
    chunks = [ids[n::procs] for n in range(procs)]
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=fn, args=(target, chunk)) for chunk in chunks]
    started = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
        if w.exitcode != 0:
            raise RuntimeError(f"a benchmark process failed (exit {w.exitcode})")
    return time.perf_counter() - started


def _replay(target: str) -> tuple[float, int]:
    with parcelfsm.open(target, clock=ManualClock(LATER)) as orders:
        started = time.perf_counter()
        orders.replay()
        return time.perf_counter() - started, orders.log.count_events()


def _tick(target: str, procs: int) -> tuple[float, int]:
    """`tick --loop` workers until nothing is due; (seconds, deadlines fired)."""
    with parcelfsm.open(target, clock=ManualClock(LATER)) as orders:
        due = orders.log.count_due(LATER)
    cmd = [EXE, "--db", target, "--now", format_time(LATER), "--json", "tick", "--loop", "--batch", "100"]
    started = time.perf_counter()
    workers = [subprocess.Popen(cmd, stdout=subprocess.DEVNULL) for _ in range(procs)]
    try:
        with parcelfsm.open(target, clock=ManualClock(LATER), read_only=True) as orders:
            while orders.log.count_due(LATER):
                time.sleep(0.02)
        elapsed = time.perf_counter() - started
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            w.wait(60)
    return elapsed, due


@contextmanager
def _cluster() -> Iterator[str]:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from pg_cluster import PgCluster

    with PgCluster.start() as cluster:
        yield cluster.url()


class Databases:
    """Fresh databases of both backends, one per measurement."""

    def __init__(self, server: str, workdir: Path) -> None:
        self.server = server
        self.workdir = workdir
        self.n = 0

    def fresh(self, backend: str) -> str:
        self.n += 1
        if backend == "sqlite":
            return str(self.workdir / f"bench{self.n}.db")
        name = f"parcelfsm_bench_{self.n}"
        with psycopg.connect(self.server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.server.rsplit("/", 1)[0] + "/" + name


def measure(dbs: Databases, backend: str, orders: int) -> list[dict[str, Any]]:
    """Every row for one backend."""
    rows: list[dict[str, Any]] = []
    for procs in (1, 4):
        target = dbs.fresh(backend)
        parcelfsm.open(target).close()  # create the schema outside the timing
        seconds = _in_processes(_place_one_by_one, target, orders, procs)
        rows.append(_row(backend, "append (1 command/transaction)", procs, orders, seconds, "commands/s"))
        seconds, events = _replay(target)
        if procs == 1:
            rows.append(_row(backend, "replay (fold + rewrite projections)", 1, events, seconds, "events/s"))
        seconds, fired = _tick(target, procs)
        rows.append(_row(backend, "tick --loop --batch 100", procs, fired, seconds, "deadlines/s"))
        target = dbs.fresh(backend)
        parcelfsm.open(target).close()
        seconds = _in_processes(_place_in_batches, target, orders, procs)
        rows.append(
            _row(backend, "record_many (100 commands/transaction)", procs, orders, seconds, "commands/s")
        )
    return rows


def _row(backend: str, what: str, procs: int, count: int, seconds: float, unit: str) -> dict[str, Any]:
    return {
        "backend": backend,
        "measure": what,
        "processes": procs,
        "count": count,
        "seconds": round(seconds, 3),
        "rate": round(count / seconds),
        "unit": unit,
    }


def table(rows: list[dict[str, Any]]) -> str:
    """SQLite and PostgreSQL side by side, one line per (measure, processes)."""
    keys = list(dict.fromkeys((r["measure"], r["processes"], r["unit"]) for r in rows))
    rate = {(r["backend"], r["measure"], r["processes"]): r["rate"] for r in rows}
    lines = [
        "| measure | processes | SQLite (FULL) | PostgreSQL | unit |",
        "|---|---:|---:|---:|---|",
    ]
    for measure, procs, unit in keys:
        lite = rate.get(("sqlite", measure, procs), "")
        pg = rate.get(("postgresql", measure, procs), "")
        lines.append(f"| {measure} | {procs} | {lite:,} | {pg:,} | {unit} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table (or JSON)."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", help="postgresql://… of a server to create bench databases on")
    parser.add_argument("--orders", type=int, default=2000, help="orders per measurement (default 2000)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, _given(args.db) if args.db else _cluster() as server:
        dbs = Databases(server, Path(tmp))
        rows = measure(dbs, "sqlite", args.orders) + measure(dbs, "postgresql", args.orders)
    print(json.dumps(rows, indent=1) if args.json else table(rows))
    return 0


@contextmanager
def _given(url: str) -> Iterator[str]:
    yield url


if __name__ == "__main__":
    raise SystemExit(main())
