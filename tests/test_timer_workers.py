"""Timer workers (`parcelfsm tick --loop`, `parcelfsm.timers.run_timers`) as real
processes on one PostgreSQL database, and the same loop on SQLite in one process."""

from __future__ import annotations

import collections
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psycopg

import parcelfsm
from parcelfsm import ManualClock
from parcelfsm.clock import format_time
from parcelfsm.errors import StorageError
from parcelfsm.testing import DEFAULTS
from parcelfsm.timers import run_timers

T0 = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
LATER = T0 + dt.timedelta(days=30)
EXE = str(Path(sys.executable).with_name("parcelfsm"))


def place(url: str, count: int) -> list[tuple[str, str, str]]:
    """Place `count` orders at T0; return what firing everything due by LATER must append."""
    with parcelfsm.open(url, clock=ManualClock(T0)) as orders:
        orders.record_many([(f"o-{i:05d}", "order.placed", DEFAULTS["order.placed"]) for i in range(count)])
        plan = orders.advance(LATER, dry_run=True)
    return [(e.stream_id, e.type, format_time(e.occurred_at)) for e in plan]


def worker(url: str, out: Path, batch: int) -> subprocess.Popen[bytes]:
    """`parcelfsm tick --loop` as its own process, its JSON lines going to `out`."""
    return subprocess.Popen(
        [EXE, "--db", url, "--now", format_time(LATER), "--json", "tick", "--loop", "--batch", str(batch)],
        stdout=out.open("wb"),
        stderr=subprocess.PIPE,
    )


def due_left(url: str) -> int:
    with parcelfsm.open(url, clock=ManualClock(LATER), read_only=True) as orders:
        return orders.log.count_due(LATER)


def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def handles_sigterm(proc: subprocess.Popen[bytes]) -> bool:
    """The process has installed its SIGTERM handler (Linux: bit 15 of `SigCgt`), so a
    SIGTERM now asks it to stop instead of killing it mid-import."""
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) & 1 << (signal.SIGTERM - 1))
    return False


def reported(out: Path, *, killed: bool = False) -> list[dict[str, Any]]:
    """The events a worker printed (a SIGKILLed worker's last line may be cut short)."""
    lines = out.read_text().splitlines()
    events: list[dict[str, Any]] = []
    for n, line in enumerate(lines):
        try:
            events.extend(json.loads(line)["fired"])
        except json.JSONDecodeError:
            assert killed and n == len(lines) - 1, f"{out.name}: unreadable line {n}"
    return events


def test_four_workers_one_killed_fire_every_deadline_exactly_once(pg_url: str, tmp_path: Path) -> None:
    """4 worker processes tick one PostgreSQL database over 2,000 orders with due
    deadlines; one is SIGKILLed midway and restarted. Every deadline fires exactly once,
    every stream's versions stay gapless, `replay --verify` is clean, SIGTERM exits 0."""
    expected = collections.Counter(place(pg_url, 2000))
    assert len(expected) == 2000
    outs = [tmp_path / f"worker{i}.jsonl" for i in range(5)]
    procs = [worker(pg_url, outs[i], 50) for i in range(4)]
    wait_until(lambda: due_left(pg_url) <= 1400, 120, "the workers to make progress")
    procs[0].send_signal(signal.SIGKILL)
    assert procs[0].wait(10) == -signal.SIGKILL
    procs.append(worker(pg_url, outs[4], 50))
    wait_until(lambda: due_left(pg_url) == 0, 300, "every deadline to fire")
    # the restarted worker may find nothing left before it has even started its loop
    wait_until(lambda: all(handles_sigterm(p) for p in procs[1:]), 60, "the workers to listen for SIGTERM")
    for p in procs[1:]:
        p.send_signal(signal.SIGTERM)
    for p in procs[1:]:
        _, err = p.communicate(timeout=30)
        assert p.returncode == 0, err.decode()

    with parcelfsm.open(pg_url, clock=ManualClock(LATER), read_only=True) as orders:
        fired = [e for e in orders.export_events() if e.recorded_at == LATER]
        streams = {e.stream_id: e.version for e in orders.export_events()}
    assert collections.Counter((e.stream_id, e.type, format_time(e.occurred_at)) for e in fired) == expected
    assert set(streams.values()) == {2}  # placed, then fired once: no fork, no second firing

    printed = [e["position"] for i, out in enumerate(outs) for e in reported(out, killed=i == 0)]
    assert len(printed) == len(set(printed)), "two workers reported the same event"
    assert set(printed) <= {e.position for e in fired}
    assert len(printed) >= len(fired) - 50  # at most the killed worker's last batch unprinted

    verify = subprocess.run(
        [EXE, "--db", pg_url, "--json", "replay", "--verify"], capture_output=True, check=False
    )
    assert verify.returncode == 0, verify.stdout.decode() + verify.stderr.decode()
    assert json.loads(verify.stdout)["problems"] == []


def test_sigterm_finishes_the_batch_in_hand_then_exits_zero(pg_url: str, tmp_path: Path) -> None:
    """SIGTERM while a worker is inside a 1,000-order batch: the batch commits whole (all
    1,000 fired, reported as one batch) and the worker exits 0."""
    place(pg_url, 1000)
    out = tmp_path / "worker.jsonl"
    proc = worker(pg_url, out, 1000)

    def inside_a_batch() -> bool:  # the claim (FOR UPDATE) gives the batch's transaction an id
        with psycopg.connect(pg_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_xid IS NOT NULL "
                "AND pid <> pg_backend_pid() AND datname = current_database()"
            ).fetchone()
        return bool(row and row[0])

    wait_until(inside_a_batch, 60, "the worker to start its batch")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    assert due_left(pg_url) == 0
    batches = [json.loads(line)["fired"] for line in out.read_text().splitlines()]
    assert [len(b) for b in batches] == [1000]


def test_the_loop_runs_on_sqlite_in_one_process_and_stops_when_asked(tmp_path: Path) -> None:
    """`run_timers` on an SQLite file: it fires deadlines as the clock reaches them, in
    batches, and returns (with the count it fired) once `stop` is set."""
    db = str(tmp_path / "orders.db")
    clock = ManualClock(T0)
    with parcelfsm.open(db, clock=clock) as orders:
        orders.record_many([(f"o-{i}", "order.placed", DEFAULTS["order.placed"]) for i in range(5)])
    batches: list[int] = []
    result: list[int] = []
    stop = threading.Event()

    def loop() -> None:  # an SQLite connection belongs to its thread: the loop opens its own
        with parcelfsm.open(db, clock=clock) as mine:
            result.append(
                run_timers(
                    mine, batch=2, stop=stop, on_batch=lambda ev: batches.append(len(ev)), max_sleep=0.1
                )
            )

    thread = threading.Thread(target=loop)
    thread.start()
    time.sleep(0.3)
    assert batches == []  # nothing is due yet
    clock.advance(days=30)
    wait_until(lambda: sum(batches) == 5, 30, "the deadlines to fire")
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert result == [5] and batches == [2, 2, 1]
    with parcelfsm.open(db, clock=clock) as orders:
        assert {orders.show(f"o-{i}").states["order"] for i in range(5)} == {"cancelled"}


def test_a_worker_without_a_database_server_fails_with_one_line(tmp_path: Path) -> None:
    """`tick --loop` on an unreachable PostgreSQL URL exits with the storage error's code
    and one line naming the server and its reason."""
    proc = subprocess.run(
        [EXE, "--db", "postgresql://postgres@127.0.0.1:1/x", "tick", "--loop"],
        capture_output=True,
        timeout=60,
        check=False,
        env={**os.environ, "PARCELFSM_NOW": format_time(LATER)},
    )
    assert proc.returncode == StorageError.exit_code != 0
    err = proc.stderr.decode()
    assert err.count("\n") == 1 and "127.0.0.1:1/x" in err and "refused" in err


def test_a_worker_in_text_mode_prints_one_line_per_batch(tmp_path: Path) -> None:
    """`tick --loop` without `--json` (a worker's log) prints one summary line per committed
    batch — when, how many events on how many orders, of which types — not a table."""
    db = str(tmp_path / "orders.db")
    with parcelfsm.open(db, clock=ManualClock(T0)) as orders:
        orders.record_many([(f"o-{i}", "order.placed", DEFAULTS["order.placed"]) for i in range(5)])
    proc = subprocess.Popen(
        [EXE, "--db", db, "--now", format_time(LATER), "tick", "--loop", "--batch", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    with parcelfsm.open(db, clock=ManualClock(LATER)) as orders:
        wait_until(lambda: orders.count_due(LATER) == 0, 30, "the worker to fire everything")
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()
    at = format_time(LATER)
    assert out.decode().splitlines() == [
        f"{at}  fired 2 event(s) on 2 order(s): order.auto_cancelled 2",
        f"{at}  fired 2 event(s) on 2 order(s): order.auto_cancelled 2",
        f"{at}  fired 1 event(s) on 1 order(s): order.auto_cancelled 1",
    ]
