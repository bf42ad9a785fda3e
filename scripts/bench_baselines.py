"""The baselines `scripts/bench.py` measures parcelfsm against, in the same process and run.

- raw `sqlite3` on a table shaped like parcelfsm's `events` (same columns, same unique
  indexes, WAL, the same `synchronous`): insert+commit per row (JSON and hash already
  computed), insert+JSON+sha256 per row, one `executemany` of every row, and a scan of
  every row in stream order with `json.loads` of its data;
- `eventsourcing` (the bench extra) on its SQLite recorder with `synchronous` set to the
  same mode: one aggregate per order, one `save` per command (its aggregate cache on, as
  parcelfsm's state cache is), `save(*aggregates)` for a bulk load, `repository.get` of
  every order for a replay;
- a write+fsync probe of the disk the databases live on (contention changes FULL
  figures tenfold on a shared machine, so every report prints it beside them);
- process timings: `python -c pass`, `import parcelfsm`, `parcelfsm show` as a process
  (with parcelfsm byte-compiled, as an installed package is: `byte_compile`).

Every measure returns a `Sample` built by `measured`: the median over repeats of wall
time and of CPU time (`time.process_time`), so a noisy neighbour shows as wall ≫ CPU.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

Row = tuple[Any, ...]  # stream_id, version, type, occurred, recorded, due, key, data, prev_hash, hash

RAW_SCHEMA = """
CREATE TABLE events (
    position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, version INTEGER NOT NULL,
    type TEXT NOT NULL, schema_version INTEGER, occurred_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL, due_at TEXT, key TEXT, data TEXT NOT NULL,
    prev_hash TEXT, hash TEXT NOT NULL
);
CREATE UNIQUE INDEX idx_events_stream_version ON events (stream_id, version);
CREATE UNIQUE INDEX idx_events_key ON events (key);
"""
RAW_INSERT = (
    "INSERT INTO events (stream_id, version, type, schema_version, occurred_at, recorded_at, due_at, "
    "key, data, prev_hash, hash) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?)"
)


def measured(make: Callable[[], Callable[[], int]], repeats: int) -> dict[str, Any]:
    """Run `make()()` `repeats` times (setup in `make`, untimed); medians of wall and CPU.

    The timed callable returns how many items it handled (events, deadlines …).
    """
    walls: list[float] = []
    cpus: list[float] = []
    items = 0
    for _ in range(repeats):
        fn = make()
        wall0, cpu0 = time.perf_counter(), time.process_time()
        items = fn()
        cpus.append(time.process_time() - cpu0)
        walls.append(time.perf_counter() - wall0)
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    return {
        "items": items,
        "repeats": repeats,
        "wall_s": round(wall, 4),
        "cpu_s": round(cpu, 4),
        "per_s": round(items / wall, 1) if wall > 0 else None,
        "cpu_us_per_item": round(cpu / items * 1e6, 2) if items else None,
        "wall_runs_s": [round(w, 4) for w in walls],
    }


# -- raw sqlite3 -------------------------------------------------------------------------------


def raw_connect(path: str, synchronous: str) -> sqlite3.Connection:
    """A fresh raw database: WAL, the given `synchronous`, parcelfsm's event table shape."""
    if os.path.exists(path):
        os.remove(path)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.executescript(RAW_SCHEMA)
    return conn


def raw_insert_commit(path: str, rows: Sequence[Row], synchronous: str) -> Callable[[], int]:
    """One transaction per row, JSON and hash already computed (the floor of a durable append)."""
    conn = raw_connect(path, synchronous)

    def run() -> int:
        for r in rows:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(RAW_INSERT, r)
            conn.execute("COMMIT")
        conn.close()
        return len(rows)

    return run


def raw_insert_json_sha256(path: str, rows: Sequence[Row], synchronous: str) -> Callable[[], int]:
    """One transaction per row, with the row's JSON and a sha256 chain hash computed in the loop."""
    conn = raw_connect(path, synchronous)
    payload = [(*r[:7], json.loads(r[7])) for r in rows]  # decoded up front: the loop re-encodes

    def run() -> int:
        heads: dict[str, str] = {}
        for stream_id, version, type_name, occurred, recorded, due, key, data in payload:
            data_json = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            prev = heads.get(stream_id, "")
            digest = hashlib.sha256((prev + data_json).encode()).hexdigest()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                RAW_INSERT,
                (stream_id, version, type_name, occurred, recorded, due, key, data_json, prev, digest),
            )
            conn.execute("COMMIT")
            heads[stream_id] = digest
        conn.close()
        return len(payload)

    return run


def raw_executemany(path: str, rows: Sequence[Row], synchronous: str) -> Callable[[], int]:
    """Every row in one transaction with one `executemany` (the bulk-load floor)."""
    conn = raw_connect(path, synchronous)

    def run() -> int:
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(RAW_INSERT, rows)
        conn.execute("COMMIT")
        conn.close()
        return len(rows)

    return run


def raw_scan(path: str) -> Callable[[], int]:
    """Read every row of the raw table in stream order and `json.loads` its data (the
    replay floor: the logical rows, each order's policy inline as the log gives it)."""

    def run() -> int:
        conn = sqlite3.connect(path)
        n = 0
        loads = json.loads
        for (data,) in conn.execute("SELECT data FROM events ORDER BY stream_id, version"):
            loads(data)
            n += 1
        conn.close()
        return n

    return run


# -- eventsourcing -----------------------------------------------------------------------------


def eventsourcing_version() -> str | None:
    """The installed eventsourcing version, or None when the bench extra is missing."""
    try:
        return importlib.metadata.version("eventsourcing")
    except importlib.metadata.PackageNotFoundError:
        return None


def _es_app(path: str, synchronous: str, *, cache: bool) -> Any:
    """An eventsourcing `Application` on a SQLite file whose connections use `synchronous`."""
    from eventsourcing.application import Application
    from eventsourcing.sqlite import SQLiteConnectionPool

    if not getattr(SQLiteConnectionPool, "_bench_patched", False):
        original = SQLiteConnectionPool._create_connection

        def create(self: Any) -> Any:
            conn = original(self)
            conn._sqlite_conn.execute(f"PRAGMA synchronous = {os.environ['BENCH_ES_SYNC']}")
            return conn

        SQLiteConnectionPool._create_connection = create
        SQLiteConnectionPool._bench_patched = True
    os.environ["BENCH_ES_SYNC"] = synchronous
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": path}
    if cache:
        env["AGGREGATE_CACHE_MAXSIZE"] = "10000"
    return Application(env=env)


@functools.cache
def _es_order_class() -> Any:
    from eventsourcing.domain import Aggregate, event

    class Order(Aggregate):  # type: ignore[misc]
        @event("Placed")  # type: ignore[misc]
        def __init__(self, data: dict[str, Any]) -> None:
            self.events = 1

        @event("Recorded")  # type: ignore[misc]
        def record(self, type_name: str, data: dict[str, Any]) -> None:
            self.events += 1

    return Order


def es_synchronous(app: Any) -> str:
    """The `synchronous` mode eventsourcing's connection really runs with (read back)."""
    with app.recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute("PRAGMA synchronous")
        value = cursor.fetchone()[0]
    return {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}.get(int(value), str(value))


def es_append(path: str, commands: Sequence[tuple[str, str, dict[str, Any]]], synchronous: str) -> Any:
    """One `repository.get` + command + `save` per command (a fresh database)."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    app = _es_app(path, synchronous, cache=True)
    order_cls = _es_order_class()
    ids: dict[str, Any] = {}

    def run() -> int:
        for oid, type_name, data in commands:
            if oid not in ids:
                agg = order_cls(data)
                ids[oid] = agg.id
            else:
                agg = app.repository.get(ids[oid])
                agg.record(type_name, data)
            app.save(agg)
        app.close()
        return len(commands)

    return run


def es_bulk(path: str, commands: Sequence[tuple[str, str, dict[str, Any]]], synchronous: str) -> Any:
    """Build every aggregate in memory, then one `save(*aggregates)` (a bulk load)."""
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    app = _es_app(path, synchronous, cache=False)
    order_cls = _es_order_class()

    def run() -> int:
        aggs: dict[str, Any] = {}
        for oid, type_name, data in commands:
            if oid not in aggs:
                aggs[oid] = order_cls(data)
            else:
                aggs[oid].record(type_name, data)
        app.save(*aggs.values())
        app.close()
        return len(commands)

    return run


def es_replay(path: str) -> Callable[[], int]:
    """`repository.get` of every aggregate in the database (no cache)."""
    app = _es_app(path, "NORMAL", cache=False)
    with app.recorder.datastore.transaction(commit=False) as cursor:
        cursor.execute("SELECT DISTINCT originator_id FROM stored_events")
        ids = [r[0] for r in cursor.fetchall()]

    def run() -> int:
        import uuid

        n = 0
        for raw in ids:
            agg = app.repository.get(uuid.UUID(str(raw)) if not isinstance(raw, uuid.UUID) else raw)
            n += agg.events
        app.close()
        return n

    return run


# -- the machine -----------------------------------------------------------------------------


def fsync_probe(directory: str, writes: int = 50) -> dict[str, Any]:
    """Median and p90 latency of a 4 KiB write + fsync in `directory` (the disk's mood now)."""
    samples: list[float] = []
    fd, name = tempfile.mkstemp(prefix="fsync-", dir=directory)
    try:
        block = b"x" * 4096
        for _ in range(writes):
            begin = time.perf_counter()
            os.write(fd, block)
            os.fsync(fd)
            samples.append((time.perf_counter() - begin) * 1e6)
    finally:
        os.close(fd)
        os.remove(name)
    samples.sort()
    return {
        "writes": writes,
        "median_us": round(statistics.median(samples), 1),
        "p90_us": round(samples[int(len(samples) * 0.9) - 1], 1),
    }


def process_seconds(argv: Sequence[str], repeats: int) -> dict[str, Any]:
    """Median wall and CPU time (user + system, from `wait4`) of a whole process: start,
    run, exit. Fails loudly on a non-zero exit."""
    walls: list[float] = []
    cpus: list[float] = []
    for _ in range(repeats):
        begin = time.perf_counter()
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        walls.append(time.perf_counter() - begin)
        cpus.append(usage.ru_utime + usage.ru_stime)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise SystemExit(f"bench: {' '.join(argv)} exited {child.returncode}")
    return {
        "repeats": repeats,
        "median_s": round(statistics.median(walls), 4),
        "min_s": round(min(walls), 4),
        "cpu_median_s": round(statistics.median(cpus), 4),
    }


def bytecode_cached(package: Path) -> bool:
    """Whether every module of `package` has its bytecode cache file (`__pycache__`)."""
    return all(Path(importlib.util.cache_from_source(str(p))).exists() for p in package.rglob("*.py"))


def byte_compile(package: Path) -> None:
    """Write `package`'s bytecode cache, as `pip install` does for an installed package.

    An editable install writes it on first import — unless `PYTHONDONTWRITEBYTECODE` is
    set, when every process compiles every module of the package from source again."""
    import compileall

    compileall.compile_dir(str(package), quiet=1)


def import_seconds(repeats: int) -> dict[str, Any]:
    """Median time of `import parcelfsm` in a fresh interpreter (measured inside it)."""
    code = "import time; t = time.perf_counter(); import parcelfsm; print(time.perf_counter() - t)"
    samples = []
    for _ in range(repeats):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        samples.append(float(done.stdout.strip()))
    return {
        "repeats": repeats,
        "median_s": round(statistics.median(samples), 4),
        "min_s": round(min(samples), 4),
    }


_PEAK_CODE = """
import atexit, os, sys
def _peak():
    with open('/proc/self/status') as status, open(os.environ['BENCH_PEAK_FILE'], 'w') as out:
        out.write(next(line.split()[1] for line in status if line.startswith('VmHWM')))
atexit.register(_peak)
from parcelfsm.cli import main
sys.argv[0] = 'parcelfsm'
main()
"""


def cli_peak(args: Sequence[str]) -> dict[str, Any]:
    """Wall and CPU time and peak resident memory of `parcelfsm ARGS` as a process.

    The peak is the process's own high-water mark (`VmHWM`, read as it exits): the
    `ru_maxrss` that `wait4` reports would include the parent's memory shared at fork.
    """
    with tempfile.NamedTemporaryFile(prefix="peak-", delete=False) as handle:
        peak_file = handle.name
    env = {**os.environ, "BENCH_PEAK_FILE": peak_file}
    try:
        begin = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, "-c", _PEAK_CODE, *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
        )
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - begin
        err = child.stderr.read().decode(errors="replace") if child.stderr else ""
        if child.stderr:
            child.stderr.close()
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise SystemExit(f"bench: parcelfsm {' '.join(args)} exited {child.returncode}: {err[-500:]}")
        peak_kb = int(Path(peak_file).read_text() or 0)
    finally:
        os.remove(peak_file)
    return {
        "wall_s": round(wall, 4),
        "cpu_s": round(usage.ru_utime + usage.ru_stime, 4),
        "peak_mb": round(peak_kb / 1024, 1),
    }


def cli_argv() -> list[str]:
    """How to run the `parcelfsm` command with this interpreter's installation."""
    script = Path(sys.executable).parent / "parcelfsm"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from parcelfsm.cli import main; main()"]
