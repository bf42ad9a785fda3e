"""The scripts in `scripts/`: simulate is seeded and its log replays cleanly; replay and bench run.

Run as subprocesses with this interpreter, as a user would; small sizes keep the file
under a few seconds.
"""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

import parcelfsm
from parcelfsm.clock import ManualClock

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
ORDERS, SEED = 120, 3
#: the bench extra (`pip install -e '.[bench]'`) brings the eventsourcing baseline
HAS_EVENTSOURCING = importlib.util.find_spec("eventsourcing") is not None
#: event types a small simulation must already produce (docs/events.md timed events and the main commands)
MAIN_TYPES = {
    "order.auto_cancelled",
    "order.auto_completed",
    "parcel.presumed_lost",
    "dispute.seller_timed_out",
    "dispute.offer_accepted",
    "dispute.decided",
    "dispute.customs_document_missed",
    "dispute.reopen_window_closed",
    "refund.received",
    "order.cancelled",
    "order.receipt_confirmed",
    "dispute.seller_accepted",
    "dispute.auto_escalated",
    "dispute.customs_document_provided",
    "dispute.withdrawn",
    "dispute.reopened",
    "protection.extended",
    "parcel.return_started",
    "order.dispute_window_closed",
    "alert.raised",
}


def run_script(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `scripts/<name>` with this interpreter; never raises on a non-zero exit."""
    return subprocess.run(
        [sys.executable, str(SCRIPTS / name), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, object]]:
    """Two runs of simulate.py with the same seed, and the first run's stderr summary."""
    out = tmp_path_factory.mktemp("sim")
    first, second = out / "a.jsonl", out / "b.jsonl"
    handles = [first.open("w", encoding="utf-8"), second.open("w", encoding="utf-8")]
    try:  # both runs in parallel, writing to stdout (the default --out)
        runs = [
            subprocess.Popen(
                [sys.executable, str(SCRIPTS / "simulate.py"), "--orders", str(ORDERS), "--seed", str(SEED)],
                stdout=handle,
                stderr=subprocess.PIPE,
                text=True,
                cwd=ROOT,
            )
            for handle in handles
        ]
        stderr = [run.communicate(timeout=120)[1] for run in runs]
    finally:
        for handle in handles:
            handle.close()
    for run, err in zip(runs, stderr, strict=True):
        assert run.returncode == 0, err
    return first, second, json.loads(stderr[0])


def test_simulate_same_seed_gives_the_same_bytes(simulated: tuple[Path, Path, dict[str, object]]) -> None:
    """Same --seed, same --orders: byte-identical JSON lines."""
    first, second, _ = simulated
    assert first.read_bytes() == second.read_bytes()
    assert first.stat().st_size > 0


def test_simulate_summary_counts_what_was_written(simulated: tuple[Path, Path, dict[str, object]]) -> None:
    """The stderr summary matches the file; only deliberate mistakes were rejected."""
    first, _, summary = simulated
    lines = first.read_text(encoding="utf-8").splitlines()
    assert summary["orders"] == ORDERS
    assert summary["events"] == len(lines)
    assert summary["unexpected_rejections"] == {}
    assert isinstance(summary["seconds"], float)


def test_simulate_covers_the_main_event_types(simulated: tuple[Path, Path, dict[str, object]]) -> None:
    """Every lifecycle path shows up even in a small run."""
    first, _, _ = simulated
    types = {json.loads(line)["type"] for line in first.read_text(encoding="utf-8").splitlines()}
    assert MAIN_TYPES - types == set()


def test_simulated_log_imports_and_verifies(
    simulated: tuple[Path, Path, dict[str, object]], tmp_path: Path
) -> None:
    """The output imports into an empty database and `replay(verify=True)` finds no problem."""
    first, _, _ = simulated
    lines = first.read_text(encoding="utf-8").splitlines()
    with parcelfsm.open(str(tmp_path / "x.db"), clock=ManualClock("2027-01-01")) as orders:
        imported = orders.import_lines(lines)
        assert (imported.appended, imported.skipped, imported.orders) == (len(lines), 0, ORDERS)
        report = orders.replay(verify=True)
    assert report.problems == ()
    assert (report.orders, report.events) == (ORDERS, len(lines))


def test_replay_script_on_the_jsonl_exits_0(simulated: tuple[Path, Path, dict[str, object]]) -> None:
    """scripts/replay.py imports the JSON lines, verifies and reports consistent money."""
    first, _, _ = simulated
    done = run_script("replay.py", str(first), "--verify", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True
    assert report["problems"] == []
    assert report["orders"] == ORDERS
    assert report["money_ok"] is True
    for total in report["money"].values():
        assert total["paid"] == total["held"] + total["released_to_seller"] + total["refunded_to_buyer"]
    assert sum(report["states"]["order"].values()) == ORDERS


def test_replay_script_rebuilds_a_database_and_prints_text(tmp_path: Path) -> None:
    """On a SQLite file, replay.py rebuilds the projections and prints the human summary."""
    db = tmp_path / "sim.db"
    done = run_script(
        "simulate.py", "--orders", "15", "--seed", "5", "--db", str(db), "--out", str(tmp_path / "o.jsonl")
    )
    assert done.returncode == 0, done.stderr
    done = run_script("replay.py", str(db))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rebuild of 15 orders" in done.stdout
    assert "no problems found" in done.stdout


def test_replay_script_says_where_the_files_bytes_go(tmp_path: Path) -> None:
    """replay.py's storage section adds up every table and index of the file to its size
    (SQLite's page count), and divides by the events it holds."""
    db = tmp_path / "sim.db"
    done = run_script(
        "simulate.py", "--orders", "15", "--seed", "5", "--db", str(db), "--out", str(tmp_path / "o.jsonl")
    )
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(db) as conn:  # fold the WAL in: dbstat counts the main file's pages
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        size = (
            conn.execute("PRAGMA page_count").fetchone()[0] * conn.execute("PRAGMA page_size").fetchone()[0]
        )
        free = (
            conn.execute("PRAGMA freelist_count").fetchone()[0]
            * conn.execute("PRAGMA page_size").fetchone()[0]
        )
    done = run_script("replay.py", str(db), "--verify", "--json")
    report = json.loads(done.stdout)
    st = report["storage"]
    assert st["bytes"] == sum(st["by_table"].values()) == size - free
    assert {"events", "deadlines", "orders", "policies"} <= set(st["by_table"])
    assert st["bytes_per_event"] == round(st["bytes"] / report["events"], 1)


def test_bench_quick_reports_every_row_with_its_baselines_at_both_settings(tmp_path: Path) -> None:
    """`bench.py --quick` (the CI smoke run) finishes in under 30 s and its JSON report has
    every measure at both sizes and both durability settings, each write row beside raw
    sqlite3 and (with the bench extra) eventsourcing measured in the same run, and a
    markdown table of the same."""
    out, table = tmp_path / "bench.json", tmp_path / "bench.md"
    begin = time.perf_counter()
    done = run_script("bench.py", "--quick", "--json", str(out), "--markdown", str(table))
    elapsed = time.perf_counter() - begin
    assert done.returncode == 0, done.stderr
    assert elapsed < 30, f"bench --quick took {elapsed:.1f} s"
    report = json.loads(out.read_text(encoding="utf-8"))
    rows = report["rows"]
    sizes = sorted({r["size_events"] for r in rows if r["measure"] == "append_single"})
    assert len(sizes) == 2
    for measure in ("append_single", "record_many_10", "record_many_100", "import", "tick"):
        for sync in ("FULL", "NORMAL"):
            found = [r for r in rows if (r["measure"], r["sync"]) == (measure, sync)]
            assert len(found) == 2, (measure, sync)
    for measure in ("rebuild", "verify", "storage", "show_process"):
        assert len([r for r in rows if r["measure"] == measure]) == 2, measure
    assert [r["measure"] for r in rows].count("import_parcelfsm") == 1
    for r in rows:
        if r["measure"] == "append_single":
            assert {"raw insert+commit per row", "raw insert+json+sha256 per row"} <= set(r["baselines"])
            assert ("eventsourcing get+save per command" in r["baselines"]) == HAS_EVENTSOURCING
            assert r["parcelfsm"]["items"] == r["size_events"]
            assert all(b["ratio"] > 0 for b in r["baselines"].values())
        if r["measure"] == "import":
            assert "raw executemany" in r["baselines"]
            assert ("eventsourcing save(*aggregates)" in r["baselines"]) == HAS_EVENTSOURCING
            assert r["process"]["peak_mb"] > 0
        if r["measure"] in ("rebuild", "verify"):
            assert r["parcelfsm"]["items"] == r["size_events"]
            assert "raw scan+json.loads" in r["baselines"]
        if r["measure"] == "tick":
            assert r["parcelfsm"]["items"] == r["size_events"]  # one deadline fired per order
        assert "target" in r and "met" in r
    assert report["fsync_before"]["median_us"] > 0
    text = table.read_text(encoding="utf-8")
    assert text.count("| append_single |") == 6  # the summary (large size) and every row
    assert "fsync" in text and ("eventsourcing get+save" in text) == HAS_EVENTSOURCING


def test_bench_update_docs_replaces_only_what_lies_between_its_markers(tmp_path: Path) -> None:
    """`bench.py --update-docs` splices a table between `<!-- bench:NAME:start/end -->`
    and leaves the rest of the page byte for byte; a page without the markers is an error."""
    sys.path.insert(0, str(SCRIPTS))
    try:
        import bench_table
    finally:
        sys.path.remove(str(SCRIPTS))
    page = tmp_path / "page.md"
    before = "intro\n<!-- bench:full:start -->\nold\n<!-- bench:full:end -->\nafter\n"
    page.write_text(before, encoding="utf-8")
    bench_table.splice(page, "full", "| new |\n")
    assert page.read_text(encoding="utf-8") == (
        "intro\n<!-- bench:full:start -->\n| new |\n<!-- bench:full:end -->\nafter\n"
    )
    with pytest.raises(ValueError, match="markers"):
        bench_table.splice(page, "summary", "x")
