"""Replay, verification, what-if policies, export and import (issue 6; docs/cli.md, §4).

A rich history of five orders (customs dispute the seller ignores, a delivered parcel
with a negotiated refund, a withdrawn dispute and a parcel presumed lost, an order never
shipped, an order still on its way) is built with `Scenario` on a file database. The core rule: the state at T
equals the state of a fresh database that saw only the commands that occurred by T and
was ticked to T.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import parcelfsm
from parcelfsm.cli import cli
from parcelfsm.clock import ManualClock, format_time
from parcelfsm.records import StoredEvent
from parcelfsm.testing import DEFAULTS, Scenario

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
END = 90  # the clock of the rich history ends on day 90
ORDERS = ("o-1", "o-2", "o-3", "o-4", "o-5")


def day(n: float) -> dt.datetime:
    """The instant `n` days after T0."""
    return T0 + dt.timedelta(days=n)


def iso(n: float) -> str:
    """`day(n)` as CLI text."""
    return format_time(day(n))


def run(db: Path, *args: str, now: str = iso(END)) -> Result:
    """Invoke the CLI with `--json` on `db` at `now`."""
    return CliRunner().invoke(cli, ["--db", str(db), "--now", now, "--json", *args], catch_exceptions=False)


def ok(result: Result) -> Any:
    """Assert exit 0 and return the parsed JSON of stdout."""
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return json.loads(result.stdout)


def build_history(path: Path) -> None:
    """Record the rich history into the database at `path` (clock ends on day END)."""
    s = Scenario(path=str(path))
    orders, clock = s.orders, s.clock

    def at(n: float, order: str, type_name: str, data: dict[str, Any] | None = None, **kw: Any) -> None:
        if clock.now() < day(n):
            clock.set(day(n))
        orders.tick()
        orders.record(order, type_name, {**DEFAULTS.get(type_name, {}), **(data or {})}, **kw)

    at(0, "o-1", "order.placed", {"destination_country": "RU"}, key="place-o-1")
    at(0, "o-2", "order.placed", {"coupon_discount": 500}, key="place-o-2")
    at(0, "o-3", "order.placed")
    at(0.25, "o-4", "order.placed", {"processing_days": 5})
    at(1, "o-1", "order.shipped", key="ship-o-1")
    at(1, "o-3", "order.shipped", {"tracking_number": "RR123456785CN"})
    at(2, "o-2", "order.shipped", {"tracking_number": "LP00123456789012", "carrier": "Cainiao"})
    at(3, "o-2", "parcel.scanned", {"status": "info_received"})
    at(3, "o-3", "parcel.scanned", {"text": "In transit"})
    at(4, "o-1", "parcel.scanned", {"text": "In transit", "location": "Shenzhen"})
    at(5, "o-2", "parcel.scanned", {"status": "in_transit"})
    at(6, "o-1", "parcel.scanned", {"text": "Clearing Customs"})
    at(8, "o-1", "parcel.scanned", {"text": "Held At Customs"})
    # A late scan: reported on day 9 with a carrier time of day 5.
    clock.set(day(9))
    orders.record("o-1", "parcel.scanned", {"status": "in_transit"}, at=day(5))
    at(12, "o-2", "parcel.scanned", {"status": "at_pickup_point"})
    s.advance(days=2)  # day 14: customs_stall of o-1 fired on day 13
    at(14, "o-1", "dispute.opened", {"reason": "customs_problem", "cause": "no_invoice"})
    at(15, "o-2", "parcel.scanned", {"status": "delivered"})
    at(
        16,
        "o-2",
        "dispute.opened",
        {
            "solution": "refund_only",
            "goods_received": True,
            "reason": "not_as_described",
            "amount": 1500,
            "description": "Wrong colour.",
        },
    )
    at(17, "o-2", "dispute.offer_made", {"by": "seller", "amount": 800})
    at(18, "o-2", "dispute.offer_accepted", {"by": "buyer"})
    at(20, "o-3", "dispute.opened")
    at(22, "o-3", "dispute.withdrawn")
    s.advance(days=5)  # day 27
    at(30, "o-1", "refund.received")
    # o-3 was presumed lost on day 33; on day 40 a scan from day 32 arrives and finds it.
    clock.set(day(40))
    orders.tick()
    orders.record("o-3", "parcel.scanned", {"text": "Arrived at sorting center"}, at=day(32))
    s.advance(days=10)  # day 50
    at(85, "o-5", "order.placed", key="place-o-5")
    at(86, "o-5", "order.shipped", {"tracking_number": "RB987654326CN"})
    clock.set(day(END))
    orders.tick()
    s.close()


@pytest.fixture(scope="module")
def history_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rich history, built once per module (copied before any test changes it)."""
    path = tmp_path_factory.mktemp("rich") / "rich.db"
    build_history(path)
    return path


@pytest.fixture
def db(history_file: Path, tmp_path: Path) -> Path:
    """A private copy of the rich history for one test."""
    src = sqlite3.connect(history_file)
    path = tmp_path / "orders.db"
    dst = sqlite3.connect(path)
    src.backup(dst)
    src.close()
    dst.close()
    return path


@pytest.fixture
def orders(db: Path) -> Iterator[parcelfsm.Orders]:
    """The copy opened with the API, clock on day END."""
    with parcelfsm.open(str(db), clock=ManualClock(day(END))) as o:
        yield o


def sql(db: Path, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run one SQL statement on the database file directly (as a tamperer would)."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        return conn.execute(statement, params).fetchall()
    finally:
        conn.close()


def dump_projections(db: Path) -> list[list[tuple[Any, ...]]]:
    """The `orders` and `deadlines` tables, row by row, in a stable order."""
    return [
        sql(db, "SELECT * FROM orders ORDER BY stream_id"),
        sql(db, "SELECT * FROM deadlines ORDER BY stream_id, kind"),
    ]


def digest(db: Path) -> str:
    """Checkpoint the WAL, then hash the database file's bytes."""
    sql(db, "PRAGMA wal_checkpoint(TRUNCATE)")
    return hashlib.sha256(db.read_bytes()).hexdigest()


def comparable(view: dict[str, Any]) -> dict[str, Any]:
    """What must agree between the live database and a fresh rebuild at the same instant."""
    return {
        "states": view["states"],
        "money": view["money"],
        "deadlines": [(d["kind"], d["due_at"], d["paused"], d.get("remaining_s")) for d in view["deadlines"]],
        "alerts": view["alerts"],
        "outcome": (view["dispute"] or {}).get("outcome"),
    }


def rebuilt_at(events: list[StoredEvent], when: dt.datetime) -> dict[str, dict[str, Any]]:
    """A fresh database given only the commands that occurred by `when`, ticked to `when`."""
    clock = ManualClock(T0)
    with parcelfsm.open(":memory:", clock=clock) as fresh:
        for e in events:
            if e.due_at is not None or e.occurred_at > when:
                continue
            data = {k: v for k, v in e.data.items() if not (e.type == "order.placed" and k == "policy")}
            clock.set(e.occurred_at)
            fresh.record(e.stream_id, e.type, data, key=e.key, at=e.occurred_at)
        clock.set(when)
        fresh.advance(when)
        ids = sorted({e.stream_id for e in events if e.type == "order.placed" and e.occurred_at <= when})
        return {oid: comparable(fresh.show(oid, at=when).to_json()) for oid in ids}


# -- state at T == fresh database with the events before T -----------------------------


@pytest.mark.parametrize(
    "n",
    [0.1, 0.5, 4.5, 5.25, 5.5, 8.5, 13, 13.5, 16.5, 17.5, 19.5, 21, 23, 32.5, 33.5, 39, 41, 62, 64, 80, END],
)
def test_state_at_t_equals_a_fresh_database_of_the_commands_before_t_ticked_to_t(
    orders: parcelfsm.Orders, n: float
) -> None:
    """`show(at=T)` equals a fresh database fed only the commands that occurred by T and advanced to T."""
    when = day(n)
    events = list(orders.export_events())
    expected = rebuilt_at(events, when)
    assert expected, "no order existed yet"
    actual = {oid: comparable(orders.show(oid, at=when).to_json()) for oid in expected}
    for oid in expected:
        assert actual[oid] == expected[oid], f"{oid} at day {n}"


def test_rich_history_covers_scans_disputes_and_timed_events(orders: parcelfsm.Orders) -> None:
    """The fixture history holds the variety the replay rules need (a guard on the fixture)."""
    types = {e.type for e in orders.export_events()}
    assert {
        "parcel.scanned",
        "alert.raised",
        "dispute.seller_timed_out",
        "dispute.offer_accepted",
        "dispute.withdrawn",
        "order.auto_cancelled",
        "parcel.presumed_lost",
        "order.auto_completed",
    } <= types
    states = {oid: orders.show(oid).states for oid in ORDERS}
    assert states["o-1"]["dispute"] == "resolved"
    assert states["o-3"]["order"] == "finished"
    assert states["o-4"]["order"] == "cancelled"
    assert orders.show("o-5").deadlines, "o-5 keeps open deadlines at the end"


# -- replay is deterministic -----------------------------------------------------------


def test_replay_verify_of_an_intact_log_finds_nothing_and_is_repeatable(orders: parcelfsm.Orders) -> None:
    """`replay(verify=True)` of an untouched log reports no problem, identically twice."""
    first = orders.replay(verify=True).to_json()
    second = orders.replay(verify=True).to_json()
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert first["ok"] is True
    assert first["problems"] == []
    assert first["orders"] == len(ORDERS)


def test_plain_replay_twice_rewrites_identical_projections(db: Path) -> None:
    """Two plain replays leave the `orders` and `deadlines` tables identical, and equal to the live ones."""
    live = dump_projections(db)
    with parcelfsm.open(str(db), clock=ManualClock(day(END))) as orders:
        orders.replay()
    once = dump_projections(db)
    with parcelfsm.open(str(db), clock=ManualClock(day(END))) as orders:
        orders.replay()
    twice = dump_projections(db)
    assert once == twice
    assert once == live


# -- verification finds tampering --------------------------------------------------------


def test_one_byte_edit_of_a_stored_event_is_reported_by_verify_with_its_position(db: Path) -> None:
    """Changing one digit of a stored amount: `replay --verify` exits 5 and names the event's position."""
    (position, data), *_ = sql(
        db,
        "SELECT e.position, e.data FROM events e JOIN event_rows v USING (position) "
        "WHERE v.stream_id = 'o-4' AND v.type = 'order.placed'",
    )
    assert '"amount":2599' in data
    sql(
        db,
        "UPDATE events SET data = ? WHERE position = ?",
        data.replace('"amount":2599', '"amount":2598'),
        position,
    )

    result = run(db, "replay", "--verify")
    assert result.exit_code == 5, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is False
    assert any(f"position {position}" in p and "o-4" in p for p in report["problems"]), report["problems"]


def test_deleted_event_is_reported_by_verify_as_a_version_gap(db: Path) -> None:
    """Deleting one stored event row: `replay --verify` exits 5 naming the stream and the gap's position."""
    ((position,),) = sql(db, "SELECT position FROM events WHERE stream_id = 'o-2' AND version = 6")
    sql(db, "DELETE FROM events WHERE stream_id = 'o-2' AND version = 5")
    result = run(db, "replay", "--verify")
    assert result.exit_code == 5, result.output
    problems = json.loads(result.stdout)["problems"]
    assert any(p.startswith("o-2") and f"position {position}" in p for p in problems), problems


def test_deleted_projection_row_is_reported_by_verify(db: Path) -> None:
    """A deleted `orders` row, and a deleted `deadlines` row: each named by verify, exit 5."""
    sql(db, "DELETE FROM orders WHERE stream_id = 'o-2'")
    sql(db, "DELETE FROM deadlines WHERE stream_id = 'o-5' AND kind = 'protection_ends'")
    result = run(db, "replay", "--verify")
    assert result.exit_code == 5, result.output
    problems = json.loads(result.stdout)["problems"]
    assert any(p.startswith("o-2") for p in problems), problems
    assert any(p.startswith("o-5") and "protection_ends" in p for p in problems), problems
    assert not any(p.startswith(("o-1", "o-3", "o-4")) for p in problems), problems


def test_changed_projection_value_is_reported_by_verify(db: Path) -> None:
    """A changed `held` in `orders` and a moved due time in `deadlines`: named by verify, exit 5."""
    sql(db, "UPDATE orders SET held = held + 1 WHERE stream_id = 'o-1'")
    sql(
        db,
        "UPDATE deadlines SET due_at = '2030-01-01T00:00:00Z' WHERE stream_id = 'o-5' AND kind = 'no_news'",
    )
    result = run(db, "replay", "--verify")
    assert result.exit_code == 5, result.output
    problems = json.loads(result.stdout)["problems"]
    assert any(p.startswith("o-1") and "held" in p for p in problems), problems
    assert any(p.startswith("o-5") and "2030-01-01" in p for p in problems), problems


def test_plain_replay_repairs_a_damaged_projection(db: Path) -> None:
    """After a tampered projection, a plain `replay` rebuilds it and `--verify` passes again."""
    live = dump_projections(db)
    sql(db, "DELETE FROM orders WHERE stream_id = 'o-2'")
    sql(db, "UPDATE orders SET refunded_to_buyer = 0 WHERE stream_id = 'o-1'")
    assert run(db, "replay", "--verify").exit_code == 5
    ok(run(db, "replay"))
    assert ok(run(db, "replay", "--verify"))["ok"] is True
    assert dump_projections(db) == live


# -- what-if under another policy --------------------------------------------------------


def test_replay_with_a_longer_protection_policy_reports_orders_whose_auto_completion_moves(
    tmp_path: Path,
) -> None:
    """`replay --policy`, 90-day protection: the order done on day 60 differs, a young one keeps its state."""
    db = tmp_path / "policy.db"
    clock = ManualClock(T0)
    with parcelfsm.open(str(db), clock=clock) as orders:
        for oid in ("done", "never"):
            orders.record(oid, "order.placed", DEFAULTS["order.placed"])
        orders.record("done", "order.shipped", DEFAULTS["order.shipped"])
        clock.set(day(45))
        orders.record("young", "order.placed", DEFAULTS["order.placed"])
        clock.set(day(50))
        orders.record("young", "order.shipped", DEFAULTS["order.shipped"])
        clock.set(day(62))
        orders.tick()
        assert orders.show("done").states["order"] == "finished"
        assert orders.show("young").states["order"] == "awaiting_delivery"
        assert orders.show("never").states["order"] == "cancelled"
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"protection.days_default": 90}))

    before = digest(db)
    report = ok(run(db, "replay", "--policy", str(policy), now=iso(62)))
    assert digest(db) == before  # what-if writes nothing

    differences = report["differences"]
    assert set(differences) == {"done", "young"}
    done = differences["done"]
    assert "order state: finished -> awaiting_delivery" in done
    assert any(d.startswith("money released_to_seller") for d in done), done
    assert any(d.startswith("deadline protection_ends") for d in done), done
    young = differences["young"]
    assert not any("state:" in d for d in young), young
    assert f"deadline protection_ends: {iso(110)} -> {iso(140)}" in young


def test_replay_with_a_malformed_policy_file_is_a_validation_error(tmp_path: Path, db: Path) -> None:
    """A policy file with an unknown key: ValidationError, exit 3."""
    policy = tmp_path / "bad.json"
    policy.write_text(json.dumps({"protection.days_forever": 1}))
    result = run(db, "replay", "--policy", str(policy))
    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout)["error"]["type"] == "ValidationError"


# -- export and import -------------------------------------------------------------------


def export_lines(db: Path, *args: str) -> list[str]:
    """`export` stdout as a list of lines (asserting exit 0 and an empty stderr)."""
    result = run(db, "export", *args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout.splitlines()


def test_export_prints_json_lines_only_on_stdout(db: Path) -> None:
    """Every stdout line of `export` is one stored event as a JSON object; `export ORDER` only that order."""
    lines = export_lines(db)
    (count,) = sql(db, "SELECT COUNT(*) FROM events")[0]
    assert len(lines) == count
    events = [json.loads(line) for line in lines]
    assert all(isinstance(e, dict) and {"stream_id", "version", "type", "hash"} <= set(e) for e in events)
    assert [e["position"] for e in events] == sorted(e["position"] for e in events)

    only = [json.loads(line) for line in export_lines(db, "o-2")]
    assert {e["stream_id"] for e in only} == {"o-2"}
    assert [e["version"] for e in only] == list(range(1, len(only) + 1))


def test_export_then_import_into_an_empty_database_reproduces_state_and_hashes(
    db: Path, tmp_path: Path
) -> None:
    """`export` → `import` into an empty database: identical history (hashes, positions) and show."""
    dump = tmp_path / "all.jsonl"
    dump.write_text("\n".join(export_lines(db)) + "\n")
    copy = tmp_path / "copy.db"
    report = ok(run(copy, "import", str(dump)))
    assert report["appended"] == len(dump.read_text().splitlines())
    assert report["skipped"] == 0
    assert report["orders"] == len(ORDERS)

    for oid in ORDERS:
        assert ok(run(copy, "history", oid)) == ok(run(db, "history", oid))
        for n in (10, 40, END):
            mine, theirs = run(copy, "show", oid, "--at", iso(n)), run(db, "show", oid, "--at", iso(n))
            assert (mine.exit_code, json.loads(mine.stdout)) == (theirs.exit_code, json.loads(theirs.stdout))
    assert ok(run(copy, "replay", "--verify"))["ok"] is True
    assert dump_projections(copy) == dump_projections(db)


def test_import_is_idempotent(db: Path, tmp_path: Path) -> None:
    """Importing the same file twice appends nothing the second time."""
    dump = tmp_path / "all.jsonl"
    dump.write_text("\n".join(export_lines(db)) + "\n")
    copy = tmp_path / "copy.db"
    first = ok(run(copy, "import", str(dump)))
    history = [ok(run(copy, "history", oid)) for oid in ORDERS]
    second = ok(run(copy, "import", str(dump)))
    assert second["appended"] == 0
    assert second["skipped"] == first["appended"]
    assert [ok(run(copy, "history", oid)) for oid in ORDERS] == history


def test_import_into_the_source_database_skips_every_event(db: Path, tmp_path: Path) -> None:
    """Importing a database's own export back into it appends nothing."""
    dump = tmp_path / "all.jsonl"
    lines = export_lines(db)
    dump.write_text("\n".join(lines) + "\n")
    report = ok(run(db, "import", str(dump)))
    assert (report["appended"], report["skipped"]) == (0, len(lines))


def test_import_of_a_changed_event_already_present_is_an_idempotency_conflict(
    db: Path, tmp_path: Path
) -> None:
    """Re-importing a stored (stream, version) with other content: IdempotencyConflict, exit 3, line named."""
    lines = [json.loads(line) for line in export_lines(db, "o-4")]
    lines[0]["data"]["shipping_cost"] = 299
    path = tmp_path / "changed.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in lines) + "\n")
    before = digest(db)
    result = run(db, "import", str(path))
    assert result.exit_code == 3, result.output
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "IdempotencyConflict"
    assert "line 1" in error["message"]
    assert digest(db) == before


def test_import_appends_events_as_stored_without_catch_up(db: Path, tmp_path: Path) -> None:
    """Importing long after the export adds no timed events: exactly the lines are appended."""
    dump = tmp_path / "o-5.jsonl"
    lines = export_lines(db, "o-5")
    dump.write_text("\n".join(lines) + "\n")
    copy = tmp_path / "copy.db"
    report = ok(run(copy, "import", str(dump), now=iso(END + 200)))
    assert report["appended"] == len(lines)
    history = ok(run(copy, "history", "o-5", now=iso(END + 200)))["events"]
    assert [e["hash"] for e in history] == [json.loads(line)["hash"] for line in lines]


def _tamper(lines: list[str], index: int, change: str) -> list[str]:
    """A copy of `lines` with line `index` (0-based) spoiled as `change` says."""
    out = list(lines)
    if change == "invalid_json":
        out[index] = out[index][:-5]
    elif change == "unknown_type":
        obj = json.loads(out[index])
        obj["type"] = "order.teleported"
        out[index] = json.dumps(obj)
    elif change == "version_gap":
        del out[index - 1]  # the line now at `index - 1` skips a version
    elif change == "altered_hash":
        obj = json.loads(out[index])
        obj["hash"] = ("0" if obj["hash"][0] != "0" else "1") + obj["hash"][1:]
        out[index] = json.dumps(obj)
    elif change == "altered_data":
        obj = json.loads(out[index])
        obj["data"]["amount"] = obj["data"]["amount"] + 1
        out[index] = json.dumps(obj)
    return out


@pytest.mark.parametrize(
    ("change", "bad_line"),
    [
        ("invalid_json", 5),
        ("unknown_type", 5),
        ("version_gap", 4),
        ("altered_hash", 5),
        ("altered_data", 1),
    ],
)
def test_bad_import_line_is_rejected_with_its_line_number_and_nothing_appended(
    db: Path, tmp_path: Path, change: str, bad_line: int
) -> None:
    """A bad line (bad JSON, unknown type, version gap, altered hash or data): exit 3, `line N`, no append."""
    lines = [json.loads(line) for line in export_lines(db)]
    # One order, versions 1..n, so "line N" is version N.
    mine = [json.dumps(e) for e in lines if e["stream_id"] == "o-1"]
    assert len(mine) >= 6
    spoiled = _tamper(mine, 4 if change != "altered_data" else 0, change)
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(spoiled) + "\n")

    empty = tmp_path / "empty.db"
    result = run(empty, "import", str(path))
    assert result.exit_code == 3, result.output
    error = json.loads(result.stdout)["error"]
    assert f"line {bad_line}" in error["message"], error
    assert sql(empty, "SELECT COUNT(*) FROM events") == [(0,)]
    assert sql(empty, "SELECT COUNT(*) FROM orders") == [(0,)]


def test_a_rebuild_that_meets_a_stream_that_does_not_fold_rewrites_nothing(tmp_path: Path) -> None:
    """Rebuild is all or nothing: one unfoldable stream (here a tampered policy key) is
    reported and the projections of every order stay exactly as they were."""
    path = tmp_path / "r.db"
    clock = ManualClock("2026-03-01T10:00:00Z")
    with parcelfsm.open(str(path), clock=clock) as orders:
        orders.record("o-1", "order.placed", DEFAULTS["order.placed"])
        orders.record("o-2", "order.placed", DEFAULTS["order.placed"])
    conn = sqlite3.connect(path)
    with conn:
        # o-1's policy (kept once in `policies`, docs/storage.md) edited for o-1 alone
        tamper = "replace(text, 'silent_lost_days', 'silent_lost_daxs')"
        conn.execute(f"INSERT INTO policies (text) SELECT {tamper} FROM policies")
        conn.execute(
            "UPDATE events SET policy_id = last_insert_rowid() "
            "WHERE stream_id = 'o-1' AND policy_id IS NOT NULL"
        )
        conn.execute("UPDATE orders SET held = 1 WHERE stream_id = 'o-2'")  # a stale row a rebuild would fix
    before = list(conn.iterdump())
    conn.close()
    with parcelfsm.open(str(path), clock=clock) as orders:
        report = orders.replay()
    assert report.problems[0].startswith("o-1: the log does not fold")
    assert "nothing was rewritten" in report.problems[-1]
    conn = sqlite3.connect(path)
    try:
        assert list(conn.iterdump()) == before
    finally:
        conn.close()
