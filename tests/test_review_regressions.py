"""Regressions for defects found in review; each docstring states the bug in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import parcelfsm
from parcelfsm import ManualClock, Policy
from parcelfsm.cli import cli
from parcelfsm.errors import IdempotencyConflict, IllegalTransition, ValidationError
from parcelfsm.testing import DEFAULTS, Scenario

PLACED = DEFAULTS["order.placed"]


def test_untracked_parcel_counts_presumed_lost_from_its_latest_scan() -> None:
    """Bug: an untracked parcel's presumed_lost ignored scans and never re-armed once found."""
    s = Scenario()
    s.given(("order.placed", {"tracked": False}))
    s.clock.set("2026-03-02T10:00:00Z")
    s.given("order.shipped")
    s.clock.set("2026-05-25T10:00:00Z")
    s.when("parcel.scanned", {"status": "in_transit"})
    s.clock.set("2026-06-01T10:00:00Z")
    assert s.types(s.orders.tick()) == []
    lost = s.deadline("presumed_lost")
    assert lost is not None and lost.due_at is not None
    assert lost.due_at.isoformat() == "2026-08-23T10:00:00+00:00"  # 90 days after the scan
    s.clock.set("2026-08-23T10:00:00Z")
    assert s.types(s.orders.tick()) == ["parcel.presumed_lost"]
    s.clock.set("2026-08-25T10:00:00Z")
    s.when("parcel.scanned", {"status": "in_transit"})  # found again
    assert s.deadline("presumed_lost") is not None


def test_a_no_change_scan_finds_a_parcel_declared_lost_too_early() -> None:
    """Bug: attempt_failed news about a parcel declared lost too early left it stuck in `lost`."""
    s = Scenario()
    s.given("order.placed")
    s.clock.set("2026-03-02T10:00:00Z")
    s.given("order.shipped")
    s.clock.set("2026-04-02T10:00:00Z")
    assert "parcel.presumed_lost" in s.types(s.orders.tick())
    s.when("parcel.scanned", {"status": "attempt_failed"}, at="2026-03-20T10:00:00Z")
    assert s.states["parcel"] == "shipped"  # where it was when declared lost
    lost = s.deadline("presumed_lost")
    assert lost is not None and lost.due_at is not None and lost.due_at.day == 19
    assert s.orders.replay(policy=Policy.default()).differences == {}


def _exported(s: Scenario) -> list[dict[str, object]]:
    return [e.to_json() for e in s.orders.export_events()]


def test_import_refuses_a_forged_timed_event(tmp_path: Path) -> None:
    """Bug: import accepted a seller_timed_out one hour after opening (the rule says 5 days)."""
    s = Scenario()
    s.given("order.placed", "order.shipped", "dispute.opened")
    lines = _exported(s)
    opened = lines[-1]
    lines.append(
        {
            "stream_id": "o-1",
            "version": opened["version"] + 1,  # type: ignore[operator]
            "type": "dispute.seller_timed_out",
            "occurred_at": "2026-03-01T11:00:00Z",
            "recorded_at": "2026-03-01T11:00:00Z",
            "due_at": "2026-03-01T11:00:00Z",
            "data": {"deadline": "seller_response", "rule": "dispute.seller_response_days=5"},
        }
    )
    target = parcelfsm.open(str(tmp_path / "t.db"), clock=ManualClock("2026-04-01T00:00:00Z"))
    with pytest.raises(IllegalTransition, match="line 4"):
        target.import_lines(json.dumps(line) for line in lines)
    assert target.store.count_events() == 0


def test_import_refuses_a_command_dated_before_the_stream_s_last_event(tmp_path: Path) -> None:
    """Bug: import accepted a refund.received dated before order.placed."""
    s = Scenario()
    s.given("order.placed", "order.shipped")
    lines = _exported(s)
    lines.append(
        {
            "stream_id": "o-1",
            "version": 3,
            "type": "protection.extended",
            "occurred_at": "2026-02-01T00:00:00Z",
            "data": {"days": 5, "by": "buyer"},
        }
    )
    target = parcelfsm.open(":memory:", clock=ManualClock("2026-04-01T00:00:00Z"))
    with pytest.raises(parcelfsm.errors.OutOfOrder, match="line 3"):
        target.import_lines(json.dumps(line) for line in lines)


def test_import_refuses_a_schema_version_that_is_not_a_known_integer() -> None:
    """Bug: a string schema_version was stored and later reported as tampering."""
    s = Scenario()
    s.given("order.placed")
    for bad in ("1", 2, 0, True):
        line = {**_exported(s)[0], "schema_version": bad}
        line.pop("hash")
        target = parcelfsm.open(":memory:", clock=ManualClock("2026-04-01T00:00:00Z"))
        with pytest.raises(ValidationError, match="schema_version"):
            target.import_lines([json.dumps(line)])


@pytest.mark.parametrize(
    ("type_name", "data"),
    [
        ("protection.extended", {"days": 3_000_000, "by": "seller"}),
        ("order.placed", {**PLACED, "amount": 10**20}),
    ],
)
def test_huge_numbers_are_validation_errors_not_crashes(tmp_path: Path, type_name: str, data: object) -> None:
    """Bug: an extension of 3,000,000 days or a 10**20 amount crashed with OverflowError."""
    db = str(tmp_path / "x.db")
    runner = CliRunner()
    base = ["--db", db, "--now", "2026-03-01T10:00:00Z", "--json"]
    runner.invoke(cli, [*base, "record", "o-1", "order.placed", "--data", json.dumps(PLACED)])
    runner.invoke(cli, [*base, "record", "o-1", "order.shipped"])
    result = runner.invoke(
        cli,
        [
            *base,
            "record",
            "o-2" if type_name == "order.placed" else "o-1",
            type_name,
            "--data",
            json.dumps(data),
        ],
    )
    assert result.exit_code == 3
    assert json.loads(result.output)["error"]["type"] == "ValidationError"


@pytest.mark.parametrize("args", [["import", "/nonexistent.jsonl"], ["track-ingest", "o-1", "/nonexistent"]])
def test_unreadable_files_are_validation_errors(tmp_path: Path, args: list[str]) -> None:
    """Bug: a missing file crashed `import` / `track-ingest` with a traceback."""
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.db"), "--json", *args])
    assert result.exit_code == 3
    assert json.loads(result.output)["error"]["type"] == "ValidationError"


@pytest.mark.parametrize(
    "args", [["due", "--limit", "x"], ["record", "o-1", "order.shipped", "--expect-version", "abc"]]
)
def test_malformed_numbers_in_options_are_validation_errors(tmp_path: Path, args: list[str]) -> None:
    """`--limit x` and `--expect-version abc`: typed options whose bad value is input (exit 3,
    a JSON ValidationError with `--json`), not usage."""
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "x.db"), "--json", *args])
    assert result.exit_code == 3
    assert json.loads(result.output)["error"]["type"] == "ValidationError"
    assert not (tmp_path / "x.db").exists()


def test_an_imported_key_still_detects_a_different_command() -> None:
    """Bug: after import, reusing a key with other data returned the imported event."""
    s = Scenario()
    s.orders.record("o-1", "order.placed", PLACED, key="k1")
    target = parcelfsm.open(":memory:", clock=ManualClock("2026-03-01T10:00:00Z"))
    target.import_lines(json.dumps(line) for line in _exported(s))
    with pytest.raises(IdempotencyConflict):
        target.record("o-1", "order.placed", {**PLACED, "amount": 5}, key="k1")
    again = target.record("o-1", "order.placed", PLACED, key="k1")
    assert [e.version for e in again] == [1]


def test_advice_never_offers_a_dispute_that_cannot_be_opened() -> None:
    """Bug: after the reopen window closed, advice still said to open a dispute."""
    s = Scenario()
    s.given("order.placed", "order.shipped", "dispute.opened", "dispute.withdrawn")
    s.advance(days=40)  # reopen window closed (15 d), parcel presumed lost (30 d)
    view = s.view()
    assert view.states["dispute"] == "closed" and view.states["parcel"] == "lost"
    texts = [a.text for a in view.advice]
    assert not any("open a dispute" in t for t in texts)
    assert any("complaint" in t for t in texts)
    with pytest.raises(IllegalTransition):
        s.when("dispute.opened")
