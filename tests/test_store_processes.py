"""The event log with real files and real processes: reads never wait for a writer, a
read-only file serves every read, a batch is one transaction, and a tick killed between
its batches loses and duplicates nothing."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import parcelfsm
from parcelfsm import ManualClock
from parcelfsm.errors import IllegalTransition
from parcelfsm.testing import DEFAULTS

PLACED = DEFAULTS["order.placed"]
SHIPPED = DEFAULTS["order.shipped"]
T0 = "2026-03-01T10:00:00Z"
PARCELFSM = str(Path(sys.executable).with_name("parcelfsm"))
HOLD_LOCK = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
conn.execute(
    "INSERT INTO events (stream_id, version, type, schema_version, occurred_at, recorded_at, data,"
    " prev_hash, hash) VALUES ('o-1', 99, 'order.shipped', 1, 'x', 'x', '{}', '', 'uncommitted')"
)
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
conn.execute("ROLLBACK")
"""


def cli(db: Path | str, *args: str, now: str = "2026-03-05") -> subprocess.CompletedProcess[str]:
    """Run the real `parcelfsm` command."""
    return subprocess.run(
        [PARCELFSM, "--db", str(db), "--now", now, "--json", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A database with o-1 placed and shipped, o-2 placed."""
    path = tmp_path / "orders.db"
    with parcelfsm.open(str(path), clock=ManualClock(T0)) as orders:
        orders.record("o-1", "order.placed", PLACED)
        orders.record("o-1", "order.shipped", SHIPPED)
        orders.record("o-2", "order.placed", PLACED)
    return path


def test_show_answers_from_the_last_commit_while_another_process_holds_the_write_lock(db: Path) -> None:
    """A writer holding `BEGIN IMMEDIATE` for 10 s does not delay `show`, `history`, `due`,
    `list` or `replay --verify`: each answers while the lock is still held, from the last
    committed state (the writer's uncommitted v99 is not seen)."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(db), "10"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        show = cli(db, "show", "o-1")
        history = cli(db, "history", "o-1")
        reads = [cli(db, "due"), cli(db, "list"), cli(db, "replay", "--verify")]
        assert holder.poll() is None, "the reads must finish while the write lock is held"
    finally:
        holder.kill()
        holder.wait()
    assert show.returncode == 0, show.stderr
    assert json.loads(show.stdout)["version"] == 2
    assert [e["version"] for e in json.loads(history.stdout)["events"]] == [1, 2]
    assert [r.returncode for r in reads] == [0, 0, 0], [r.stderr for r in reads]


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A scratch directory, made writable again before it is removed."""
    path = Path(tempfile.mkdtemp(prefix="parcelfsm-ro-"))
    yield path
    path.chmod(0o755)
    shutil.rmtree(path, ignore_errors=True)


def test_a_read_only_file_serves_every_read_command(db: Path, shared_dir: Path) -> None:
    """`chmod 444` on the database in a `chmod 555` directory, read by a process the modes
    bind (as root: without CAP_DAC_OVERRIDE): show, history, due, list, export and
    replay --verify all work; a write is refused with a typed error; nothing changes."""
    ro = shared_dir / "orders.db"
    shutil.copy(db, ro)
    ro.chmod(0o444)
    shared_dir.chmod(0o555)
    before = ro.read_bytes()
    as_user: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: file modes would not bind")
        as_user = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "HOME": str(shared_dir)}
        command = [*as_user, PARCELFSM, "--db", str(ro), "--now", "2026-03-05", "--json", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, env=env)

    for args in (("show", "o-1"), ("history", "o-1"), ("due",), ("list",), ("replay", "--verify")):
        result = run(*args)
        assert result.returncode == 0, (args, result.stdout, result.stderr)
        json.loads(result.stdout)
    export = run("export")
    assert export.returncode == 0 and len(export.stdout.splitlines()) == 3
    write = run("record", "o-2", "order.cancelled", "--data", '{"by": "buyer"}')
    assert write.returncode == 3 and "read-only" in write.stdout
    assert ro.read_bytes() == before
    assert sorted(p.name for p in shared_dir.iterdir()) == ["orders.db"]


def test_record_many_of_a_thousand_commands_is_one_transaction(tmp_path: Path) -> None:
    """1,000 commands over 1,000 orders: one COMMIT (one fsync), every command appended."""
    with parcelfsm.open(str(tmp_path / "b.db"), clock=ManualClock(T0)) as orders:
        statements: list[str] = []
        orders.log.backend._conn.set_trace_callback(statements.append)  # type: ignore[attr-defined]
        results = orders.record_many((f"b-{i}", "order.placed", PLACED) for i in range(1000))
        orders.log.backend._conn.set_trace_callback(None)  # type: ignore[attr-defined]
        assert all(r.ok for r in results) and orders.log.count_events() == 1000
    assert sum(1 for s in statements if s.strip().upper() == "COMMIT") == 1
    assert sum(1 for s in statements if s.strip().upper().startswith("BEGIN")) == 1


def test_an_atomic_batch_with_one_bad_command_leaves_the_file_byte_identical(tmp_path: Path) -> None:
    """999 good commands and one illegal one with `atomic=True`: nothing lands."""
    path = tmp_path / "a.db"
    with parcelfsm.open(str(path), clock=ManualClock(T0)) as orders:
        orders.record("o-0", "order.placed", PLACED)
    before = _dump(path)
    batch = [(f"a-{i}", "order.placed", PLACED) for i in range(999)] + [("o-0", "order.placed", PLACED)]
    with parcelfsm.open(str(path), clock=ManualClock(T0)) as orders, pytest.raises(IllegalTransition):
        orders.record_many(batch, atomic=True)
    assert _dump(path) == before


def _dump(path: Path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return list(conn.iterdump())
    finally:
        conn.close()


def test_a_tick_killed_between_batches_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    """10,000 orders past their shipping deadline; `tick --batch 100` is SIGKILLed once
    some batches have committed; a second tick fires the rest. Every order is cancelled
    exactly once, versions are gapless and `replay --verify` is clean."""
    path = tmp_path / "t.db"
    with parcelfsm.open(str(path), clock=ManualClock(T0), synchronous="NORMAL") as orders:
        assert all(
            r.ok for r in orders.record_many((f"t-{i:05d}", "order.placed", PLACED) for i in range(10_000))
        )
    child = subprocess.Popen(
        [PARCELFSM, "--db", str(path), "--now", "2026-03-20", "tick", "--batch", "100"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    reader = sqlite3.connect(path, timeout=30)
    try:
        deadline = time.monotonic() + 120
        fired_at_kill = 0
        while time.monotonic() < deadline and child.poll() is None:
            fired_at_kill = reader.execute("SELECT COUNT(*) FROM events WHERE version = 2").fetchone()[0]
            if fired_at_kill >= 200:
                child.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
        child.wait()
        assert child.returncode == -signal.SIGKILL, "the tick finished before it could be killed"
        assert 0 < fired_at_kill < 10_000
        partial = reader.execute("SELECT COUNT(*) FROM events WHERE version = 2").fetchone()[0]
        assert partial % 100 == 0, "only whole batches are committed"
    finally:
        reader.close()
    again = cli(path, "tick", now="2026-03-20")
    assert again.returncode == 0, again.stderr
    assert len(json.loads(again.stdout)["fired"]) == 10_000 - partial
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT stream_id, COUNT(*), MAX(version), MIN(type) FROM event_rows GROUP BY stream_id"
        )
        per_stream = {r[0]: r[1:] for r in rows}
    finally:
        conn.close()
    assert len(per_stream) == 10_000
    assert set(per_stream.values()) == {(2, 2, "order.auto_cancelled")}
    verify = cli(path, "replay", "--verify", now="2026-03-20")
    assert verify.returncode == 0 and json.loads(verify.stdout)["ok"] is True
