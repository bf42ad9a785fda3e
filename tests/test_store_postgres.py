"""The PostgreSQL backend on a real server (tests/pg_cluster.py): the whole store
contract, hashes byte-identical to SQLite, and the rules only a database shared by many
processes has — positions that commit in order, claims that two workers never share,
notifications that wake a sleeping worker, reads that never wait for a writer."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from store_contract import T0, StoreContract, hashes, story

import parcelfsm
from parcelfsm import ManualClock
from parcelfsm.errors import ConcurrencyConflict, IdempotencyConflict, NotFound, StorageError, ValidationError
from parcelfsm.store.postgres import PostgresBackend
from parcelfsm.store.projections import DeadlineRow, OrderRow
from parcelfsm.store.recorder import EventRow, KeyRow
from parcelfsm.testing import DEFAULTS


class TestPostgres(StoreContract):
    """Every store contract test on a fresh PostgreSQL database."""

    @pytest.fixture(autouse=True)
    def _database(self, pg_url: str) -> None:
        self.url = pg_url

    def target(self, tmp_path: Path) -> str:
        return self.url


def test_the_same_history_hashes_byte_identically_on_postgres_and_sqlite(pg_url: str, tmp_path: Path) -> None:
    """The same commands give the same stored rows and hashes on PostgreSQL and on SQLite."""
    logs = []
    for target in (pg_url, str(tmp_path / "orders.db")):
        clock = ManualClock(T0)
        with parcelfsm.open(target, clock=clock) as orders:
            story(orders, clock)
            logs.append((hashes(orders), [e.to_json() | {"position": 0} for e in orders.export_events()]))
    assert logs[0] == logs[1]
    assert len(logs[0][0]) > 10


def event(stream: str, version: int, key: str | None = None) -> EventRow:
    return EventRow(
        0, stream, version, "order.placed", 1, "2026-03-01T10:00:00Z", "2026-03-01T10:00:00Z", None, key,
        '{"amount":1}', "", f"h-{stream}-{version}",
    )  # fmt: skip


def order(stream: str, version: int = 1) -> OrderRow:
    return OrderRow(stream, version, "placed", "awaiting_shipment", "none", "USD", 100, 100, 0, 0, "p1")


def deadline(stream: str, due_us: int) -> DeadlineRow:
    return DeadlineRow(stream, "ship_by", "2026-03-08T10:00:00Z", due_us, 1, "ship", 1, "cancel", None)


@pytest.fixture
def backends(pg_url: str) -> Iterator[list[PostgresBackend]]:
    """Three independent backends (three processes' worth of connections) on one database."""
    opened = [PostgresBackend(pg_url) for _ in range(3)]
    yield opened
    for b in opened:
        b.close()


def test_a_reader_never_passes_a_position_that_commits_later(backends: list[PostgresBackend]) -> None:
    """While writer A holds a transaction with position p open, writer B cannot commit a
    higher position; a reader sees neither until A commits, then both, in order."""
    a, b, reader = backends
    took_position = threading.Event()
    release_a = threading.Event()
    positions: dict[str, list[int]] = {}

    def write_a() -> None:
        with a.transaction():
            positions["a"] = a.insert_events([event("o-a", 1)])
            took_position.set()
            release_a.wait(10)

    def write_b() -> None:
        with b.transaction():
            positions["b"] = b.insert_events([event("o-b", 1)])

    ta = threading.Thread(target=write_a)
    ta.start()
    assert took_position.wait(10)
    tb = threading.Thread(target=write_b)
    tb.start()
    tb.join(0.7)
    assert tb.is_alive(), "B committed a position while A's lower one was still open"
    assert reader.select_after(0, 10) == []
    release_a.set()
    ta.join(10)
    tb.join(10)
    seen = [r.position for r in reader.select_after(0, 10)]
    assert seen == positions["a"] + positions["b"]
    assert positions["a"][0] < positions["b"][0]


def test_a_follower_sees_every_row_once_in_order_under_concurrent_writers(pg_url: str) -> None:
    """Four writer threads (own connections) append with random pauses inside their
    transactions, some rolled back, while a follower reads `select_after(last)`: it sees
    every committed row exactly once, positions strictly increasing."""
    writers = [PostgresBackend(pg_url) for _ in range(4)]
    follower = PostgresBackend(pg_url)
    committed: list[int] = []
    lock = threading.Lock()
    done = threading.Event()

    def write(n: int, b: PostgresBackend) -> None:
        rng = random.Random(n)
        for version in range(1, 26):
            try:
                with b.transaction():
                    pos = b.insert_events([event(f"o-{n}", version)])
                    time.sleep(rng.random() * 0.004)
                    if rng.random() < 0.1:
                        raise RuntimeError("roll back")
            except RuntimeError:
                with b.transaction():
                    pos = b.insert_events([event(f"o-{n}", version)])
            with lock:
                committed.extend(pos)

    threads = [threading.Thread(target=write, args=(n, b)) for n, b in enumerate(writers)]
    for t in threads:
        t.start()
    seen: list[int] = []
    last = 0
    while not done.is_set():
        if not any(t.is_alive() for t in threads):
            done.set()
        for row in follower.select_after(last, 7):
            seen.append(row.position)
            last = row.position
    while rows := follower.select_after(last, 100):
        seen.extend(r.position for r in rows)
        last = rows[-1].position
    assert seen == sorted(committed)
    assert len(set(seen)) == len(seen) == 100
    for b in [*writers, follower]:
        b.close()


def test_two_workers_never_claim_the_same_order(backends: list[PostgresBackend]) -> None:
    """`streams_due` inside a write transaction claims: a second worker skips the claimed
    orders and gets them only after the first worker's transaction ends."""
    a, b, _ = backends
    a.save_projections([(order(f"o-{i}"), [deadline(f"o-{i}", 1000 + i)]) for i in range(5)])
    with a.transaction():
        first = a.streams_due(5000, 2)
        with b.transaction():
            second = b.streams_due(5000, 10)
    assert first == ["o-0", "o-1"]
    assert second == ["o-2", "o-3", "o-4"]
    with b.transaction():
        assert b.streams_due(5000, 10) == ["o-0", "o-1", "o-2", "o-3", "o-4"]


def test_a_claim_counts_orders_not_deadlines(backends: list[PostgresBackend]) -> None:
    """An order with several due deadlines is one claimed order: a claim of 3 returns 3
    distinct orders, so a tick that stops at a short batch stops only when none are left."""
    a, _, _ = backends
    two_each = [
        (
            order(f"o-{i}"),
            [deadline(f"o-{i}", 10 + 2 * i), attrs.evolve(deadline(f"o-{i}", 11 + 2 * i), kind="late")],
        )
        for i in range(4)
    ]
    a.save_projections(two_each)
    with a.transaction():
        assert a.streams_due(100, 3) == ["o-0", "o-1", "o-2"]


def test_a_sleeping_worker_wakes_when_a_deadline_is_written(backends: list[PostgresBackend]) -> None:
    """`wait` returns as soon as another process commits deadlines (LISTEN/NOTIFY), and
    sleeps its full time when nothing is written."""
    a, b, _ = backends
    a.wait(0)  # starts listening
    started = time.monotonic()
    a.wait(0.4)
    assert time.monotonic() - started >= 0.35
    timer = threading.Timer(0.2, lambda: b.save_projections([(order("o-1"), [deadline("o-1", 7)])]))
    timer.start()
    started = time.monotonic()
    a.wait(10)
    assert time.monotonic() - started < 3
    timer.join()


def test_reads_never_wait_for_a_writer(backends: list[PostgresBackend]) -> None:
    """A snapshot answers at once from committed rows while another session holds a write
    transaction with the commit-order lock and row locks."""
    a, b, _ = backends
    a.insert_events([event("o-1", 1)])
    a.save_projections([(order("o-1"), [deadline("o-1", 5)])])
    with a.transaction():
        a.insert_events([event("o-1", 2)])
        a.streams_due(10, 10)
        started = time.monotonic()
        with b.snapshot():
            assert b.head("o-1") == (1, "h-o-1-1")
            assert [r.version for r in b.select_after(0, 10)] == [1]
            assert b.streams_due(10, 10) == ["o-1"]
        assert time.monotonic() - started < 1


def test_conflicts_are_typed_and_change_nothing(backends: list[PostgresBackend]) -> None:
    """A taken (stream, version) is a ConcurrencyConflict, a taken key an IdempotencyConflict;
    a failed insert in a savepoint (nested transaction) is undone alone and the
    transaction goes on."""
    a, _, _ = backends
    a.insert_events([event("o-1", 1, key="k")], [KeyRow("k", "o-1", 1, 1, "fp")])
    with pytest.raises(ConcurrencyConflict):
        a.insert_events([event("o-1", 1)])
    with pytest.raises(IdempotencyConflict):
        a.insert_events([event("o-2", 1)], [KeyRow("k", "o-2", 1, 1, "fp")])
    assert a.counts() == (1, 1)  # o-2's event went with its key
    with a.transaction():
        with pytest.raises(ConcurrencyConflict), a.transaction():
            a.insert_events([event("o-1", 1)])
        a.insert_events([event("o-1", 2)])
    assert a.counts() == (1, 2)


def test_a_read_only_backend_reads_and_refuses_writes(pg_url: str) -> None:
    """`read_only=True` serves reads; a write is a ValidationError; an empty database
    opened read-only is NotFound (it has no parcelfsm schema)."""
    with pytest.raises(NotFound):
        PostgresBackend(pg_url, read_only=True)
    writer = PostgresBackend(pg_url)
    writer.insert_events([event("o-1", 1)])
    ro = PostgresBackend(pg_url, read_only=True)
    assert ro.head("o-1")[0] == 1
    with pytest.raises(ValidationError):
        ro.insert_events([event("o-1", 2)])
    assert writer.head("o-1")[0] == 1
    ro.close()
    writer.close()


def test_an_unreachable_server_is_a_storage_error_naming_it(pg_cluster: object) -> None:
    """A URL nobody answers gives a one-line StorageError with the server's reason."""
    with pytest.raises(StorageError, match=r"127\.0\.0\.1:1/.*refused"):
        PostgresBackend("postgresql://postgres@127.0.0.1:1/db")


def test_a_log_exported_from_sqlite_imports_into_postgres_and_verifies(pg_url: str, tmp_path: Path) -> None:
    """`export` from an SQLite file, `import` into PostgreSQL: same events, same hashes,
    `replay --verify` clean — the way to move an existing shop onto PostgreSQL."""
    db = str(tmp_path / "orders.db")
    clock = ManualClock(T0)
    with parcelfsm.open(db, clock=clock) as lite:
        story(lite, clock)
        lines = [json.dumps(e.to_json()) for e in lite.export_events()]
        before = hashes(lite)
    with parcelfsm.open(pg_url, clock=ManualClock(T0)) as pg:
        report = pg.import_lines(lines)
        assert (report.appended, report.skipped) == (len(lines), 0)
        assert hashes(pg) == before
        assert pg.replay(verify=True).problems == ()


def test_without_the_postgres_extra_a_postgresql_target_is_one_line_naming_it() -> None:
    """With psycopg not importable, `--db postgresql://…` exits 3 with one line that says
    which extra to install (and nothing imports psycopg before a PostgreSQL target is used)."""
    code = (
        "import sys; sys.modules['psycopg'] = None; from parcelfsm.cli import main; "
        "sys.argv = ['parcelfsm', '--db', 'postgresql://app@127.0.0.1:1/db', 'show', 'o-1']; main()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 3
    assert proc.stderr.count("\n") == 1
    assert "pip install 'parcelfsm[postgres]'" in proc.stderr


def test_threads_can_share_one_order_book(pg_url: str) -> None:
    """Four threads record through one `Orders` on PostgreSQL (each thread on its own
    pooled connection): every command lands, each order's versions run 1..n."""
    with parcelfsm.open(pg_url, clock=ManualClock(T0)) as orders:
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(10):
                    orders.record(f"t{n}-{i}", "order.placed", DEFAULTS["order.placed"])
                    if i:
                        orders.record("shared", "parcel.scanned", {"text": "In transit"})
            except BaseException as exc:  # reported below
                errors.append(exc)

        orders.record("shared", "order.placed", DEFAULTS["order.placed"])
        orders.record("shared", "order.shipped", DEFAULTS["order.shipped"])
        threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert errors == []
        assert [e.version for e in orders.history("shared")] == list(range(1, 2 + 4 * 9 + 1))
        assert orders.log.count_streams() == 41
        assert orders.replay(verify=True).problems == ()
