"""The `parcelfsm` command line, through `CliRunner` only (docs/cli.md, §4).

Orders are arranged with the API (`parcelfsm.open` on a manual clock) or with the CLI
itself, then acted on with `--db` in `tmp_path` and `--now` for time; `--json` output
is parsed and asserted, error objects included.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from contract import EVENT_KEYS

import parcelfsm
from parcelfsm.cli import cli
from parcelfsm.cli_support import Commands
from parcelfsm.clock import ManualClock, format_time
from parcelfsm.testing import DEFAULTS

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
PLACED = DEFAULTS["order.placed"]
PAID = PLACED["amount"]


def day(n: float) -> dt.datetime:
    """The instant `n` days after T0."""
    return T0 + dt.timedelta(days=n)


def iso(n: float) -> str:
    """`day(n)` as CLI text."""
    return format_time(day(n))


def run(
    db: Path,
    *args: str,
    now: str | None = None,
    as_json: bool = True,
    env: dict[str, str] | None = None,
    input: str | None = None,
) -> Result:
    """Invoke the CLI on `db` (and `--now`, `--json` when asked)."""
    argv = ["--db", str(db)]
    if now is not None:
        argv += ["--now", now]
    if as_json:
        argv.append("--json")
    return CliRunner().invoke(cli, [*argv, *args], env=env, input=input, catch_exceptions=False)


def out(result: Result) -> Any:
    """The parsed JSON that a `--json` command printed on stdout."""
    return json.loads(result.stdout)


def ok(result: Result) -> Any:
    """Assert exit 0 and return the parsed JSON of stdout."""
    assert result.exit_code == 0, (result.exit_code, result.stdout, result.stderr)
    return out(result)


def record(db: Path, order: str, type_name: str, data: dict[str, Any], *, now: str, **opts: str) -> Result:
    """`record ORDER TYPE --data JSON` at `now` (extra options as `--name value`)."""
    extra: list[str] = []
    for name, value in opts.items():
        extra += [f"--{name.replace('_', '-')}", value]
    return run(db, "record", order, type_name, "--data", json.dumps(data), *extra, now=now)


def arrange(db: Path, steps: Sequence[tuple[float, str, str, dict[str, Any]]]) -> None:
    """Record `(day, order, type, data)` steps with the API on a manual clock, then close."""
    clock = ManualClock(T0)
    with parcelfsm.open(str(db), clock=clock) as orders:
        for n, order, type_name, data in steps:
            clock.set(day(n))
            orders.record(order, type_name, {**DEFAULTS.get(type_name, {}), **data})


def error_of(result: Result, code: int, type_name: str) -> str:
    """Assert the `--json` error shape and exit code; return the message."""
    assert result.exit_code == code, (result.exit_code, result.stdout, result.stderr)
    payload = out(result)
    assert set(payload) == {"error"}
    assert set(payload["error"]) == {"type", "message"}
    assert payload["error"]["type"] == type_name
    assert payload["error"]["message"]
    return str(payload["error"]["message"])


def file_digest(db: Path) -> str:
    """Checkpoint the WAL into the file, then hash the database file's bytes."""
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    wal = Path(f"{db}-wal")
    extra = wal.read_bytes() if wal.exists() else b""
    return hashlib.sha256(db.read_bytes() + extra).hexdigest()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A database path in the test's temporary directory."""
    return tmp_path / "orders.db"


# -- (a) never shipped: auto-cancelled at the end of processing ----------------------------


def test_unshipped_order_is_cancelled_and_refunded_by_tick_at_end_of_processing(db: Path) -> None:
    """Processing 7 days, never shipped: awaiting_shipment 1 s before day 7, cancelled and refunded at it."""
    ok(record(db, "o-1", "order.placed", {**PLACED, "processing_days": 7}, now=iso(0)))

    before = format_time(day(7) - SECOND)
    assert ok(run(db, "tick", now=before))["fired"] == []
    view = ok(run(db, "show", "o-1", now=before))
    assert view["states"]["order"] == "awaiting_shipment"
    assert view["money"]["refunded_to_buyer"] == 0

    fired = ok(run(db, "tick", now=iso(7)))["fired"]
    assert [(e["stream_id"], e["type"], e["due_at"]) for e in fired] == [
        ("o-1", "order.auto_cancelled", iso(7))
    ]
    view = ok(run(db, "show", "o-1", now=iso(7)))
    assert view["states"]["order"] == "cancelled"
    assert view["money"]["refunded_to_buyer"] == view["money"]["paid"] == PAID
    assert view["money"]["held"] == 0


# -- (b) protection by destination country -------------------------------------------------


def test_parcel_shipped_to_ru_is_protected_90_days_from_shipment(db: Path) -> None:
    """Shipped to RU: protection_ends = shipment + 90 d, rule days_by_country.RU=90, set by v2."""
    ok(record(db, "o-ru", "order.placed", {**PLACED, "destination_country": "RU"}, now=iso(0)))
    ok(record(db, "o-ru", "order.shipped", DEFAULTS["order.shipped"], now="2026-03-02T13:30:00Z"))

    view = ok(run(db, "show", "o-ru", now=iso(3)))
    ends = [d for d in view["deadlines"] if d["kind"] == "protection_ends"]
    assert len(ends) == 1
    shipped = dt.datetime(2026, 3, 2, 13, 30, tzinfo=dt.UTC)
    assert ends[0]["due_at"] == format_time(shipped + dt.timedelta(days=90))
    assert ends[0]["rule"] == "protection.days_by_country.RU=90"
    assert ends[0]["set_by_version"] == 2
    assert ends[0]["on_expiry"] == "order.auto_completed"


# -- (c) reading at an instant -------------------------------------------------------------


def test_show_at_an_earlier_instant_shows_the_earlier_state(db: Path) -> None:
    """`show --at` before the shipment shows awaiting_shipment; after it, awaiting_delivery."""
    arrange(db, [(0, "o-1", "order.placed", {}), (1, "o-1", "order.shipped", {})])

    then = ok(run(db, "show", "o-1", "--at", iso(0.5), now=iso(2)))
    assert then["states"] == {"order": "awaiting_shipment", "parcel": "not_shipped", "dispute": None}
    assert then["as_of"] == iso(0.5)
    assert [d["kind"] for d in then["deadlines"]] == ["ship_by"]

    later = ok(run(db, "show", "o-1", "--at", iso(1.5), now=iso(2)))
    assert later["states"] == {"order": "awaiting_delivery", "parcel": "shipped", "dispute": None}


def test_show_as_recorded_shows_only_what_had_been_written(db: Path) -> None:
    """A shipment written late and an unticked ship_by: `--as-recorded` sees neither, `--at` both."""
    arrange(db, [(0, "o-late", "order.placed", {}), (0, "o-idle", "order.placed", {"processing_days": 2})])
    # The shipment happened on day 1 but is reported on day 2.
    ok(record(db, "o-late", "order.shipped", DEFAULTS["order.shipped"], now=iso(2), at=iso(1)))

    world = ok(run(db, "show", "o-late", "--at", iso(1.5), now=iso(3)))
    assert world["states"]["order"] == "awaiting_delivery"
    audit = ok(run(db, "show", "o-late", "--at", iso(1.5), "--as-recorded", now=iso(3)))
    assert audit["states"]["order"] == "awaiting_shipment"
    assert audit["version"] == 1

    # ship_by of o-idle was due on day 2 but nothing ticked: applied virtually, not written.
    world = ok(run(db, "show", "o-idle", "--at", iso(3), now=iso(3)))
    assert world["states"]["order"] == "cancelled"
    assert [u["type"] for u in world["unfired"]] == ["order.auto_cancelled"]
    audit = ok(run(db, "show", "o-idle", "--at", iso(3), "--as-recorded", now=iso(3)))
    assert audit["states"]["order"] == "awaiting_shipment"
    assert audit["unfired"] == []
    assert audit["money"]["refunded_to_buyer"] == 0


def test_show_applies_unfired_deadlines_and_their_follow_ups_with_null_set_by_version(db: Path) -> None:
    """Unticked protection end: `show` completes the order virtually; its dispute_window is set by null."""
    arrange(db, [(0, "o-1", "order.placed", {}), (0, "o-1", "order.shipped", {})])
    view = ok(run(db, "show", "o-1", now=iso(61)))
    assert view["version"] == 2  # the last stored version: nothing was written
    assert view["states"]["order"] == "finished"
    assert view["money"]["released_to_seller"] == PAID
    unfired = [(u["type"], u["due_at"]) for u in view["unfired"]]
    assert ("order.auto_completed", iso(60)) in unfired
    assert unfired == sorted(unfired, key=lambda u: u[1])  # fired in due order
    window = [d for d in view["deadlines"] if d["kind"] == "dispute_window"]
    assert [(d["due_at"], d["set_by_version"]) for d in window] == [(iso(75), None)]
    assert len(ok(run(db, "history", "o-1", now=iso(61)))["events"]) == 2


# -- (d) errors and exit codes -------------------------------------------------------------


def test_malformed_data_is_a_validation_error_exit_3(db: Path) -> None:
    """`--data` that is not JSON: ValidationError naming --data, exit 3, nothing appended."""
    arrange(db, [(0, "o-1", "order.placed", {})])
    message = error_of(
        run(db, "record", "o-1", "order.shipped", "--data", "{not json", now=iso(1)), 3, "ValidationError"
    )
    assert "--data" in message
    assert len(ok(run(db, "history", "o-1", now=iso(1)))["events"]) == 1


def test_missing_required_field_is_a_validation_error_exit_3(db: Path) -> None:
    """`order.placed` without amount: ValidationError, exit 3."""
    data = {k: v for k, v in PLACED.items() if k != "amount"}
    message = error_of(record(db, "o-1", "order.placed", data, now=iso(0)), 3, "ValidationError")
    assert "amount" in message


def test_malformed_now_is_a_validation_error_exit_3(db: Path) -> None:
    """`--now` that is not a time: ValidationError naming --now, exit 3."""
    arrange(db, [(0, "o-1", "order.placed", {})])
    message = error_of(run(db, "show", "o-1", now="yesterday-ish"), 3, "ValidationError")
    assert "--now" in message


def test_malformed_at_is_a_validation_error_exit_3(db: Path) -> None:
    """`--at` that is not a time: ValidationError naming --at, exit 3, for show and record."""
    arrange(db, [(0, "o-1", "order.placed", {})])
    assert "--at" in error_of(run(db, "show", "o-1", "--at", "03/02/2026", now=iso(1)), 3, "ValidationError")
    result = record(db, "o-1", "order.shipped", DEFAULTS["order.shipped"], now=iso(1), at="noon")
    assert "--at" in error_of(result, 3, "ValidationError")


def test_command_the_machine_does_not_allow_is_illegal_transition_exit_3(db: Path) -> None:
    """Confirming receipt of an order not yet shipped: IllegalTransition, exit 3."""
    arrange(db, [(0, "o-1", "order.placed", {})])
    error_of(record(db, "o-1", "order.receipt_confirmed", {}, now=iso(1)), 3, "IllegalTransition")


def test_reopen_after_the_reopen_window_is_window_closed_exit_3(db: Path) -> None:
    """A dispute withdrawn on day 3 cannot be reopened on day 19: WindowClosed, exit 3."""
    arrange(
        db,
        [
            (0, "o-1", "order.placed", {}),
            (1, "o-1", "order.shipped", {}),
            (2, "o-1", "dispute.opened", {}),
            (3, "o-1", "dispute.withdrawn", {}),
        ],
    )
    error_of(record(db, "o-1", "dispute.reopened", {}, now=iso(19)), 3, "WindowClosed")


def test_event_earlier_than_the_last_or_later_than_now_is_out_of_order_exit_3(db: Path) -> None:
    """`--at` before the order's last event, or after now: OutOfOrder, exit 3."""
    arrange(db, [(2, "o-1", "order.placed", {})])
    shipped = DEFAULTS["order.shipped"]
    error_of(record(db, "o-1", "order.shipped", shipped, now=iso(3), at=iso(1)), 3, "OutOfOrder")
    error_of(record(db, "o-1", "order.shipped", shipped, now=iso(3), at=iso(4)), 3, "OutOfOrder")


def test_key_reused_with_other_data_is_idempotency_conflict_exit_3(db: Path) -> None:
    """The same `--key` with different data: IdempotencyConflict, exit 3; same data: exit 0, no append."""
    arrange(db, [(0, "o-1", "order.placed", {})])
    first = ok(record(db, "o-1", "order.shipped", DEFAULTS["order.shipped"], now=iso(1), key="k-ship"))
    again = ok(record(db, "o-1", "order.shipped", DEFAULTS["order.shipped"], now=iso(1), key="k-ship"))
    assert again["events"] == first["events"]
    other = {"tracking_number": "RR123456785CN"}
    error_of(record(db, "o-1", "order.shipped", other, now=iso(1), key="k-ship"), 3, "IdempotencyConflict")
    assert len(ok(run(db, "history", "o-1", now=iso(1)))["events"]) == 2


def test_unknown_order_is_not_found_exit_3(db: Path) -> None:
    """show, history, advise and record (other than order.placed) of an unknown order: NotFound, exit 3."""
    arrange(db, [(0, "o-1", "order.placed", {})])
    for args in (["show", "nope"], ["history", "nope"], ["advise", "nope"]):
        error_of(run(db, *args, now=iso(1)), 3, "NotFound")
    error_of(record(db, "nope", "order.shipped", DEFAULTS["order.shipped"], now=iso(1)), 3, "NotFound")


def test_expect_version_behind_the_stream_is_concurrency_conflict_exit_4(db: Path) -> None:
    """`--expect-version 1` at version 2: ConcurrencyConflict, exit 4; the right version passes."""
    arrange(db, [(0, "o-1", "order.placed", {}), (1, "o-1", "order.shipped", {})])
    scan = {"status": "in_transit"}
    error_of(
        record(db, "o-1", "parcel.scanned", scan, now=iso(2), expect_version="1"), 4, "ConcurrencyConflict"
    )
    assert len(ok(run(db, "history", "o-1", now=iso(2)))["events"]) == 2
    ok(record(db, "o-1", "parcel.scanned", scan, now=iso(2), expect_version="2"))


def test_rejected_command_rolls_back_its_catch_up_and_is_judged_on_the_caught_up_state(db: Path) -> None:
    """Shipping after ship_by passed: IllegalTransition (order cancelled by catch-up), file byte-identical."""
    arrange(db, [(0, "o-1", "order.placed", {"processing_days": 2})])
    before = file_digest(db)
    message = error_of(
        record(db, "o-1", "order.shipped", DEFAULTS["order.shipped"], now=iso(3)), 3, "IllegalTransition"
    )
    assert "cancelled" in message
    assert file_digest(db) == before
    fired = ok(run(db, "tick", now=iso(3)))["fired"]
    assert [e["type"] for e in fired] == ["order.auto_cancelled"]


def test_retried_key_returns_the_original_events_without_catch_up(db: Path) -> None:
    """A key retried after deadlines fell due returns the original events, exit 0, and appends nothing."""
    arrange(db, [(0, "o-1", "order.placed", {})])
    first = ok(record(db, "o-1", "order.shipped", DEFAULTS["order.shipped"], now=iso(1), key="ship-1"))
    before = file_digest(db)
    again = ok(record(db, "o-1", "order.shipped", DEFAULTS["order.shipped"], now=iso(20), key="ship-1"))
    assert again["events"] == first["events"]
    assert file_digest(db) == before


def test_show_before_the_order_existed_is_not_found(db: Path) -> None:
    """`show --at` an instant before `order.placed` occurred: NotFound, exit 3."""
    arrange(db, [(1, "o-1", "order.placed", {})])
    error_of(run(db, "show", "o-1", "--at", iso(0.5), now=iso(2)), 3, "NotFound")


def test_cli_closes_its_database_before_it_exits(db: Path) -> None:
    """After a command (success or error) no `-wal` file is left behind: the connection was closed."""
    ok(record(db, "o-1", "order.placed", PLACED, now=iso(0)))
    assert not Path(f"{db}-wal").exists()
    error_of(record(db, "o-1", "order.receipt_confirmed", {}, now=iso(0)), 3, "IllegalTransition")
    assert not Path(f"{db}-wal").exists()


def test_unknown_command_or_option_is_a_usage_error_exit_2(db: Path) -> None:
    """An unknown command or option exits 2 (click usage error)."""
    assert run(db, "frobnicate", now=iso(0)).exit_code == 2
    assert run(db, "show", "o-1", "--bogus", now=iso(0)).exit_code == 2


def test_without_json_an_error_is_one_line_on_stderr(db: Path) -> None:
    """Without `--json`, an error is a single line on stderr naming its type, stdout stays empty."""
    result = run(db, "show", "nope", now=iso(0), as_json=False)
    assert result.exit_code == 3
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("NotFound")

    result = run(db, "record", "o-1", "order.placed", "--data", "[", now=iso(0), as_json=False)
    assert result.exit_code == 3
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1
    assert "ValidationError" in result.stderr


def test_with_json_the_error_object_is_on_stdout_and_stderr_is_empty(db: Path) -> None:
    """With `--json`, the error object is the whole of stdout; nothing on stderr."""
    result = run(db, "history", "nope", now=iso(0))
    error_of(result, 3, "NotFound")
    assert result.stderr == ""


# -- (e) environment variables -------------------------------------------------------------


def test_parcelfsm_db_and_now_from_the_environment(tmp_path: Path) -> None:
    """`$PARCELFSM_DB` names the database and `$PARCELFSM_NOW` fixes the clock."""
    path = tmp_path / "env.db"
    env = {"PARCELFSM_DB": str(path), "PARCELFSM_NOW": iso(0)}
    runner = CliRunner()
    placed = runner.invoke(
        cli, ["--json", "record", "o-env", "order.placed", "--data", json.dumps(PLACED)], env=env
    )
    assert placed.exit_code == 0, placed.output
    event = json.loads(placed.stdout)["events"][0]
    assert event["occurred_at"] == event["recorded_at"] == iso(0)
    assert path.exists()

    env["PARCELFSM_NOW"] = iso(8)
    shown = runner.invoke(cli, ["--json", "show", "o-env"], env=env)
    assert shown.exit_code == 0, shown.output
    view = json.loads(shown.stdout)
    assert view["as_of"] == iso(8)
    assert view["states"]["order"] == "cancelled"  # ship_by (7 days) applied at $PARCELFSM_NOW


def test_command_line_options_win_over_the_environment(tmp_path: Path) -> None:
    """`--db` and `--now` override `$PARCELFSM_DB` and `$PARCELFSM_NOW`."""
    path = tmp_path / "flag.db"
    env = {"PARCELFSM_DB": str(tmp_path / "env.db"), "PARCELFSM_NOW": iso(5)}
    argv = ["--db", str(path), "--now", iso(0), "--json"]
    result = CliRunner().invoke(
        cli, [*argv, "record", "o-1", "order.placed", "--data", json.dumps(PLACED)], env=env
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["events"][0]["occurred_at"] == iso(0)
    assert path.exists()
    assert not (tmp_path / "env.db").exists()


def test_now_accepts_an_offset_or_a_bare_date(db: Path) -> None:
    """`--now` with an offset is converted to UTC; a bare date means 00:00Z."""
    placed = ok(record(db, "o-1", "order.placed", PLACED, now="2026-03-01T12:00:00+02:00"))
    assert placed["events"][0]["occurred_at"] == "2026-03-01T10:00:00Z"
    shown = ok(run(db, "show", "o-1", now="2026-03-02"))
    assert shown["as_of"] == "2026-03-02T00:00:00Z"


# -- (f) history, due, tick, advance -------------------------------------------------------

HISTORY_KEYS = EVENT_KEYS


def test_history_json_lists_the_stream_events_in_version_order_with_contract_keys(db: Path) -> None:
    """`history --json`: {order_id, events[]} with documented keys, versions 1..n, due_at on timed events."""
    arrange(db, [(0, "o-1", "order.placed", {"processing_days": 2}), (0, "o-2", "order.placed", {})])
    ok(run(db, "tick", now=iso(3)))
    payload = ok(run(db, "history", "o-1", now=iso(3)))
    assert payload["order_id"] == "o-1"
    events = payload["events"]
    assert [e["version"] for e in events] == [1, 2]
    for e in events:
        assert set(e) >= HISTORY_KEYS, HISTORY_KEYS - set(e)
        assert e["stream_id"] == "o-1"
    assert [e["type"] for e in events] == ["order.placed", "order.auto_cancelled"]
    assert events[0]["due_at"] is None
    assert events[1]["due_at"] == events[1]["occurred_at"] == iso(2)
    assert events[1]["recorded_at"] == iso(3)
    assert events[0]["position"] < events[1]["position"]


def test_due_lists_open_deadlines_soonest_first_with_before_and_limit(db: Path) -> None:
    """`due --before T --limit N`: only deadlines due ≤ T, soonest first, at most N."""
    arrange(
        db,
        [
            (0, "o-a", "order.placed", {"processing_days": 3}),
            (0, "o-b", "order.placed", {"processing_days": 1}),
            (0, "o-c", "order.placed", {"processing_days": 5}),
            (0, "o-d", "order.placed", {"processing_days": 8}),
        ],
    )
    everything = ok(run(db, "due", now=iso(0)))["deadlines"]
    assert [(d["order_id"], d["kind"], d["due_at"]) for d in everything] == [
        ("o-b", "ship_by", iso(1)),
        ("o-a", "ship_by", iso(3)),
        ("o-c", "ship_by", iso(5)),
        ("o-d", "ship_by", iso(8)),
    ]
    before = ok(run(db, "due", "--before", iso(5), now=iso(0)))["deadlines"]
    assert [d["order_id"] for d in before] == ["o-b", "o-a", "o-c"]
    limited = ok(run(db, "due", "--before", iso(5), "--limit", "2", now=iso(0)))["deadlines"]
    assert [d["order_id"] for d in limited] == ["o-b", "o-a"]


def test_tick_prints_what_fired(db: Path) -> None:
    """`tick` fires what is due and prints it: JSON `fired` list, and the event type in the table."""
    arrange(db, [(0, "o-1", "order.placed", {"processing_days": 1}), (0, "o-2", "order.placed", {})])
    human = run(db, "tick", now=iso(1), as_json=False)
    assert human.exit_code == 0, human.output
    assert "order.auto_cancelled" in human.stdout
    assert "o-1" in human.stdout
    assert ok(run(db, "tick", now=iso(1)))["fired"] == []  # already written


def test_advance_dry_run_appends_nothing_and_the_same_list_then_fires(db: Path) -> None:
    """`advance --to T --dry-run` leaves the file byte-identical; `advance --to T` fires exactly that list."""
    arrange(
        db,
        [
            (0, "o-1", "order.placed", {"processing_days": 2}),
            (0, "o-2", "order.placed", {}),
            (1, "o-2", "order.shipped", {}),
            (0.5, "o-3", "order.placed", {"processing_days": 8}),
        ],
    )
    target = iso(12)
    before = file_digest(db)
    planned = ok(run(db, "advance", "--to", target, "--dry-run", now=iso(1)))
    assert file_digest(db) == before
    assert planned["dry_run"] is True
    assert planned["to"] == target

    def summary(fired: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
        return [(e["stream_id"], e["type"], e["occurred_at"], e["due_at"], e["data"]) for e in fired]

    expected = [
        ("o-1", "order.auto_cancelled", iso(2)),
        ("o-3", "order.auto_cancelled", iso(8.5)),
        ("o-2", "alert.raised", iso(11)),  # first_info: shipped day 1 + 10 d, no scan
    ]
    assert [s[:3] for s in summary(planned["fired"])] == expected

    fired = ok(run(db, "advance", "--to", target, now=iso(1)))
    assert fired["dry_run"] is False
    assert summary(fired["fired"]) == summary(planned["fired"])
    assert all(e["recorded_at"] == target for e in fired["fired"])
    assert file_digest(db) != before


# -- (g) tracking helpers ------------------------------------------------------------------


def test_normalize_maps_held_at_customs_to_customs_held(db: Path) -> None:
    """`normalize "Held At Customs"` → customs_held (JSON and plain)."""
    assert ok(run(db, "normalize", "Held At Customs"))["status"] == "customs_held"
    plain = run(db, "normalize", "Held At Customs", as_json=False)
    assert plain.exit_code == 0
    assert plain.stdout.strip() == "customs_held"


def test_track_check_accepts_a_valid_s10_and_rejects_a_corrupted_one_with_exit_3(db: Path) -> None:
    """A valid S10 number exits 0 and reports valid; one wrong check digit exits 3."""
    good = run(db, "track-check", "RB123456785CN")
    assert good.exit_code == 0, good.output
    assert out(good)["valid"] is True
    bad = run(db, "track-check", "RB123456784CN")
    assert bad.exit_code == 3
    assert out(bad)["valid"] is False
    plain = run(db, "track-check", "RB123456784CN", as_json=False)
    assert plain.exit_code == 3
    assert "5" in plain.output  # names the expected check digit


# -- (h) diagrams --------------------------------------------------------------------------


@pytest.mark.parametrize("machine", ["order", "parcel", "dispute"])
def test_diagram_prints_a_mermaid_state_diagram(db: Path, machine: str) -> None:
    """`diagram MACHINE` prints a Mermaid stateDiagram-v2."""
    result = run(db, "diagram", machine, as_json=False)
    assert result.exit_code == 0, result.output
    assert "stateDiagram-v2" in result.stdout
    assert "[*]" in result.stdout


def test_diagram_of_an_unknown_machine_is_a_validation_error(db: Path) -> None:
    """`diagram shipment` is not a machine: a bad value, exit 3."""
    assert run(db, "diagram", "shipment", as_json=False).exit_code == 3


# -- (i) demo ------------------------------------------------------------------------------


def _final_states(text: str) -> dict[str, str]:
    """The last `states:` line of each `== demo-N` section of the demo's output."""
    finals: dict[str, str] = {}
    story = None
    for line in text.splitlines():
        if m := re.match(r"== (demo-\d+)", line):
            story = m.group(1)
        elif story and "states:" in line:
            finals[story] = line.split("states:", 1)[1].strip()
    return finals


def test_demo_exits_0_and_reaches_each_story_final_state() -> None:
    """`demo` runs four stories and ends each in its final state."""
    result = CliRunner().invoke(cli, ["demo"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    finals = _final_states(result.stdout)
    assert finals == {
        "demo-1": "order=cancelled parcel=not_shipped dispute=-",
        "demo-2": "order=finished parcel=held_at_customs dispute=resolved",
        "demo-3": "order=finished parcel=delivered dispute=-",
        "demo-4": "order=finished parcel=returning dispute=resolved",
    }
    for fired in ("order.auto_cancelled", "dispute.seller_timed_out", "order.dispute_window_closed"):
        assert fired in result.stdout
    assert "dispute.customs_document_missed" in result.stdout


# -- (j) help ------------------------------------------------------------------------------


def test_every_command_has_help_text(db: Path) -> None:
    """Each command of the group has a docstring and answers `--help` with exit 0."""
    assert isinstance(cli, Commands)
    commands = cli.every_command()
    assert commands
    for name, command in sorted(commands.items()):
        assert (command.help or "").strip(), f"{name} has no help text"
        result = run(db, name, "--help", as_json=False)
        assert result.exit_code == 0, (name, result.output)
        assert (command.help or "").split()[0] in result.stdout
    top = run(db, "--help", as_json=False)
    assert top.exit_code == 0
    for name in commands:
        assert name in top.stdout
