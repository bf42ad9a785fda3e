"""The one referee of parcelfsm's speed: every measure beside raw sqlite3 and eventsourcing.

Usage:
    python scripts/bench.py                       # 500 and 2,000 orders x 8 events, FULL and NORMAL
    python scripts/bench.py --quick               # a CI smoke run (seconds): every row, tiny sizes
    python scripts/bench.py --db postgresql://…   # PostgreSQL beside SQLite, 1 and 4 processes
    python scripts/bench.py --orders 2000 --scale 4 --repeats 5 --json bench.json --markdown bench.md

One process, one run, one machine. For each of two sizes (`--orders` and `--scale` times
as many; M orders x K commands: `order.placed`, `order.shipped`, then scans, round-robin
one second apart) and each durability setting (`--sync`, default FULL and NORMAL, the
same for every system), it measures:

- append_single: `orders.record` per command — beside raw insert+commit per row, raw
  insert+json+sha256 per row, and eventsourcing get+save per command;
- record_many_10 / _100: `orders.record_many` in batches — beside raw insert+commit per row;
- import: `orders.import_lines` of the exported log, and the peak RSS of `parcelfsm
  import` as a process — beside raw `executemany` and eventsourcing `save(*aggregates)`;
- rebuild: `orders.replay()` — beside raw scan + `json.loads` and eventsourcing
  `repository.get` of every order;
- verify: `orders.replay(verify=True)` — beside raw scan + `json.loads`;
- tick: `orders.advance` firing one due deadline per order;
- storage: bytes per event of the database file — beside the raw table and eventsourcing's;
- show_process: `parcelfsm show` as a whole process — beside `python -c pass`;
- import_parcelfsm: `import parcelfsm` in a fresh interpreter.

Both process rows run with parcelfsm byte-compiled first (`compileall`), as `pip install`
leaves an installed package: where `PYTHONDONTWRITEBYTECODE` is set, an editable install
would otherwise compile every parcelfsm module from source at every start (~40 ms), which
no installed copy does. When the package had no bytecode cache, that figure is measured
too and printed beside the row.

Each figure is the median of `--repeats` runs, wall time and CPU time
(`time.process_time`) side by side: on a shared machine wall ≫ CPU means waiting (disk,
neighbours), not work. A write+fsync probe runs before and after. Ratios are parcelfsm's
rate over the baseline's (higher is better); each row carries the project's target and
whether this run met it. The JSON report goes to stdout (or `--json FILE`), a markdown
table to stderr (or `--markdown FILE`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import parcelfsm
from parcelfsm.clock import ManualClock

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_baselines as base
import bench_table

START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
FAR = START + dt.timedelta(days=400)
SCAN_CYCLE = ("in_transit", "arrived_at_customs", "customs_cleared")
PLACED = {"amount": 2599, "currency": "USD", "shipping_cost": 300, "destination_country": "US"}
Command = tuple[dt.datetime, str, str, dict[str, Any]]  # (when, order id, type, data)


def synthetic(orders: int, per_order: int) -> list[Command]:
    """M orders x K commands, round-robin, one second apart (no deadline falls due)."""
    commands: list[Command] = []
    t = START
    for k in range(per_order):
        for i in range(orders):
            t += dt.timedelta(seconds=1)
            oid = f"b-{i:07d}"
            if k == 0:
                commands.append((t, oid, "order.placed", PLACED))
            elif k == 1:
                commands.append((t, oid, "order.shipped", {"tracking_number": f"LP00{i:012d}"}))
            elif k == 2:
                commands.append((t, oid, "parcel.scanned", {"status": "info_received"}))
            else:
                commands.append((t, oid, "parcel.scanned", {"status": SCAN_CYCLE[(k - 3) % 3]}))
    return commands


def fresh(path: str) -> str:
    """`path` with any earlier database (and its WAL) removed."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    return path


def file_bytes(path: str) -> int:
    return sum(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))


# -- parcelfsm ----------------------------------------------------------------------------------


def pf_append(path: str, commands: Sequence[Command], sync: str) -> Callable[[], int]:
    clock = ManualClock(START)
    orders = parcelfsm.open(fresh(path), clock=clock, synchronous=sync)

    def run() -> int:
        for when, oid, type_name, data in commands:
            clock.set(when)
            orders.record(oid, type_name, data)
        orders.close()
        return len(commands)

    return run


def has_record_many() -> bool:
    return hasattr(parcelfsm.Orders, "record_many")


def pf_record_many(path: str, commands: Sequence[Command], sync: str, batch: int) -> Callable[[], int]:
    clock = ManualClock(START)
    orders = parcelfsm.open(fresh(path), clock=clock, synchronous=sync)

    def run() -> int:
        for i in range(0, len(commands), batch):
            chunk = commands[i : i + batch]
            clock.set(chunk[-1][0])
            outcomes = orders.record_many(
                [(oid, type_name, data, None, when) for when, oid, type_name, data in chunk]
            )
            refused = [o for o in outcomes if not o.ok]
            if refused or len(outcomes) != len(chunk):
                raise SystemExit(f"bench: record_many refused {refused[:1]}")
        orders.close()
        return len(commands)

    return run


def pf_import(path: str, lines_file: str, sync: str) -> Callable[[], int]:
    orders = parcelfsm.open(fresh(path), clock=ManualClock(FAR), synchronous=sync)

    def run() -> int:
        with open(lines_file, encoding="utf-8") as handle:
            report = orders.import_lines(line.rstrip("\n") for line in handle)
        orders.close()
        return int(report.appended)

    return run


def pf_replay(path: str, verify: bool) -> Callable[[], int]:
    orders = parcelfsm.open(path, clock=ManualClock(FAR), synchronous="NORMAL")

    def run() -> int:
        report = orders.replay(verify=verify)
        orders.close()
        if report.problems:
            raise SystemExit(f"bench: replay found problems: {report.problems[:3]}")
        return int(report.events)

    return run


def pf_tick(placed_db: str, path: str, sync: str) -> Callable[[], int]:
    fresh(path)
    shutil.copyfile(placed_db, path)
    orders = parcelfsm.open(path, clock=ManualClock(FAR), synchronous=sync)

    def run() -> int:
        fired = orders.advance(FAR)
        orders.close()
        return len(fired)

    return run


def build_placed(path: str, n_orders: int) -> str:
    """N orders placed and never shipped: one open deadline each, due long before FAR."""
    clock = ManualClock(START)
    with parcelfsm.open(fresh(path), clock=clock, synchronous="OFF") as orders:
        for i in range(n_orders):
            clock.set(START + dt.timedelta(seconds=i + 1))
            orders.record(f"t-{i:07d}", "order.placed", PLACED)
    return path


def export_lines(db: str, out: str) -> int:
    with parcelfsm.open(db, clock=ManualClock(FAR)) as orders, open(out, "w", encoding="utf-8") as handle:
        n = 0
        for event in orders.export_events():
            handle.write(json.dumps(event.to_json(), sort_keys=True) + "\n")
            n += 1
    return n


def stored_rows(db: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        sql = (
            "SELECT stream_id, version, type, occurred_at, recorded_at, due_at, key, data, prev_hash, hash "
            "FROM event_rows ORDER BY position"  # the logical rows (docs/storage.md)
        )
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


# -- one size ------------------------------------------------------------------------------------


def row(measure: str, sync: str | None, events: int, sample: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "measure": measure,
        "sync": sync,
        "size_events": events,
        "parcelfsm": sample,
        "baselines": {},
        **extra,
    }


def versus(r: dict[str, Any], name: str, sample: dict[str, Any]) -> None:
    """Add a baseline to a row, with parcelfsm's rate over the baseline's."""
    ratio = None
    if sample.get("per_s") and r["parcelfsm"].get("per_s"):
        ratio = round(r["parcelfsm"]["per_s"] / sample["per_s"], 3)
    r["baselines"][name] = {**sample, "ratio": ratio}


def one_size(
    tmp: str, n_orders: int, per_order: int, modes: Sequence[str], repeats: int
) -> list[dict[str, Any]]:
    """Every row at one size, for every durability mode."""
    commands = synthetic(n_orders, per_order)
    es_commands = [(oid, t, d) for _, oid, t, d in commands]
    n = len(commands)
    rows: list[dict[str, Any]] = []
    d = os.path.join(tmp, f"n{n}")
    os.makedirs(d)
    main_db = os.path.join(d, "main.db")
    placed = build_placed(os.path.join(d, "placed.db"), n_orders)
    lines = os.path.join(d, "export.jsonl")
    has_es = base.eventsourcing_version() is not None
    for sync in modes:
        p = os.path.join(d, f"pf-{sync}.db")
        r = row("append_single", sync, n, base.measured(partial(pf_append, p, commands, sync), repeats))
        if not os.path.exists(main_db):
            shutil.copyfile(p, main_db)
            export_lines(main_db, lines)
        raw_rows = stored_rows(main_db)
        raw = os.path.join(d, f"raw-{sync}.db")
        per_row = base.measured(partial(base.raw_insert_commit, raw, raw_rows, sync), repeats)
        versus(r, "raw insert+commit per row", per_row)
        versus(
            r,
            "raw insert+json+sha256 per row",
            base.measured(partial(base.raw_insert_json_sha256, raw, raw_rows, sync), repeats),
        )
        es_db = os.path.join(d, f"es-{sync}.db")
        if has_es:
            versus(
                r,
                "eventsourcing get+save per command",
                base.measured(partial(base.es_append, es_db, es_commands, sync), repeats),
            )
        rows.append(r)
        for batch in (10, 100):
            measure = f"record_many_{batch}"
            if not has_record_many():
                rows.append(
                    row(measure, sync, n, {"unavailable": "Orders.record_many is not on this branch"})
                )
                continue
            sample = base.measured(partial(pf_record_many, p, commands, sync, batch), repeats)
            r = row(measure, sync, n, sample)
            versus(r, "raw insert+commit per row", per_row)
            rows.append(r)
        r = row("import", sync, n, base.measured(partial(pf_import, p, lines, sync), repeats))
        versus(
            r, "raw executemany", base.measured(partial(base.raw_executemany, raw, raw_rows, sync), repeats)
        )
        if has_es:
            versus(
                r,
                "eventsourcing save(*aggregates)",
                base.measured(partial(base.es_bulk, es_db, es_commands, sync), repeats),
            )
        rows.append(r)
        tick_db = os.path.join(d, f"tick-{sync}.db")
        rows.append(
            row("tick", sync, n_orders, base.measured(partial(pf_tick, placed, tick_db, sync), repeats))
        )
    # the import as a user runs it: a whole process, its peak memory
    peak = base.cli_peak(["--db", fresh(os.path.join(d, "cli-import.db")), "import", lines])
    for r in rows:
        if r["measure"] == "import":
            r["process"] = peak
    # the raw table holds the same logical rows as parcelfsm's file (policies inline):
    # parcelfsm's own schema-3 file keeps each policy once, which would spare the floor
    # parsing a tenth of the data
    scan = base.measured(partial(base.raw_scan, raw), repeats)
    r = row("rebuild", None, n, base.measured(partial(pf_replay, main_db, False), repeats))
    versus(r, "raw scan+json.loads", scan)
    es_db = os.path.join(d, f"es-{modes[-1]}.db")
    if has_es:
        versus(
            r,
            "eventsourcing repository.get of every order",
            base.measured(partial(base.es_replay, es_db), repeats),
        )
    rows.append(r)
    r = row("verify", None, n, base.measured(partial(pf_replay, main_db, True), repeats))
    versus(r, "raw scan+json.loads", scan)
    rows.append(r)
    storage = {"bytes_per_event": round(file_bytes(main_db) / n, 1)}
    r = row(
        "storage",
        None,
        n,
        storage,
        many_open_deadlines={"bytes_per_event": round(file_bytes(placed) / n_orders, 1)},
    )
    r["baselines"]["raw table"] = {"bytes_per_event": round(file_bytes(raw) / n, 1)}
    if has_es:
        r["baselines"]["eventsourcing"] = {"bytes_per_event": round(file_bytes(es_db) / n, 1)}
    rows.append(r)
    show = [*base.cli_argv(), "--db", main_db, "--now", "2026-06-01", "show", "b-0000000"]
    package = Path(parcelfsm.__file__).parent
    # without a bytecode cache (PYTHONDONTWRITEBYTECODE and an editable install) every
    # start compiles parcelfsm from source: shown beside the row when it can be measured
    cold = None if base.bytecode_cached(package) else base.process_seconds(show, max(3, repeats))
    base.byte_compile(package)
    r = row("show_process", None, n, base.process_seconds(show, max(3, repeats)))
    r["baselines"]["python -c pass"] = base.process_seconds([sys.executable, "-c", "pass"], max(3, repeats))
    if cold is not None:
        r["baselines"]["same, parcelfsm compiled from source at every start"] = cold
    rows.append(r)
    return rows


def evaluate(rows: list[dict[str, Any]]) -> None:
    """Put each row's target and whether this run met it."""
    for r in rows:
        r["target"], r["met"] = bench_table.target(r)


def bench(
    orders: int, scale: int, per_order: int, modes: Sequence[str], repeats: int, directory: str | None = None
) -> dict[str, Any]:
    """Run every row at both sizes; return the report."""
    begin = time.perf_counter()
    report: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "load_avg": [round(x, 2) for x in os.getloadavg()],
            "sqlite": sqlite3.sqlite_version,
            "eventsourcing": base.eventsourcing_version(),
            "parcelfsm": parcelfsm.__version__,
        },
        "settings": {
            "orders": [orders, orders * scale],
            "events_per_order": per_order,
            "sync": list(modes),
            "repeats": repeats,
        },
    }
    with tempfile.TemporaryDirectory(prefix="parcelfsm-bench-", dir=directory) as tmp:
        report["fsync_before"] = base.fsync_probe(tmp)
        rows: list[dict[str, Any]] = []
        for n_orders in (orders, orders * scale):
            rows += one_size(tmp, n_orders, per_order, modes, repeats)
        r = row("import_parcelfsm", None, 0, base.import_seconds(max(3, repeats)))
        rows.append(r)
        report["fsync_after"] = base.fsync_probe(tmp)
    evaluate(rows)
    report["rows"] = rows
    report["scaling"] = bench_table.scaling(rows)
    report["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    report["seconds_total"] = round(time.perf_counter() - begin, 1)
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=500, help="orders at the small size (default 500)")
    parser.add_argument(
        "--scale", type=int, default=4, help="the large size is this many times the small (4)"
    )
    parser.add_argument("--events-per-order", type=int, default=8, help="commands per order (default 8)")
    parser.add_argument("--sync", default="FULL,NORMAL", help="synchronous modes (default FULL,NORMAL)")
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure; medians reported (3)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 12 orders x 4, scale 2, 1 repeat")
    parser.add_argument("--dir", default=None, help="where the temporary databases go (default: system temp)")
    parser.add_argument(
        "--json", dest="json_out", default=None, help="write the JSON report here (else stdout)"
    )
    parser.add_argument("--markdown", default=None, help="write the markdown table here (else stderr)")
    parser.add_argument(
        "--update-docs",
        action="store_true",
        help="write the tables into README.md (summary) and docs/benchmarks.md (summary and full)",
    )
    parser.add_argument(
        "--db",
        default=None,
        help="postgresql://… : append, record_many, replay and tick with 1 and 4 processes on "
        "that server beside SQLite (scripts/bench_postgres.py)",
    )
    args = parser.parse_args(argv)
    if args.db is not None:
        if not args.db.startswith(("postgresql://", "postgres://")):
            parser.error("--db: a postgresql://… server URL (SQLite is what the default run measures)")
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import bench_postgres

        pg_args = ["--db", args.db] + (["--orders", str(args.orders)] if args.orders != 500 else [])
        return int(bench_postgres.main(pg_args + (["--json"] if args.json_out else [])))
    modes = tuple(m.strip().upper() for m in args.sync.split(",") if m.strip())
    if not modes or any(m not in ("OFF", "NORMAL", "FULL", "EXTRA") for m in modes):
        parser.error("--sync: a comma-separated list of OFF, NORMAL, FULL, EXTRA")
    if args.quick:
        args.orders, args.scale, args.events_per_order, args.repeats = 12, 2, 4, 1
    if args.events_per_order < 2 or args.orders < 1 or args.scale < 1 or args.repeats < 1:
        parser.error("--orders, --scale, --repeats must be positive and --events-per-order at least 2")
    report = bench(args.orders, args.scale, args.events_per_order, modes, args.repeats, args.dir)
    text = json.dumps(report, indent=2)
    table = bench_table.summary(report) + "\n" + bench_table.markdown(report)
    if args.json_out:
        Path(args.json_out).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    if args.markdown:
        Path(args.markdown).write_text(table, encoding="utf-8")
    else:
        print(table, file=sys.stderr)
    if args.update_docs:
        root = Path(__file__).resolve().parent.parent
        bench_table.splice(root / "README.md", "summary", bench_table.summary(report))
        bench_table.splice(root / "docs" / "benchmarks.md", "full", table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
