"""Tracking ingestion: `Orders.ingest_tracking` and `track-ingest` (docs/rules.md "Idempotency").

The payloads are the sample feeds in `tests/fixtures/feeds/`: an AfterShip China Post
tracking (RB905512332CN, to Germany, 10 checkpoints, picked up at a retail outlet) and
a Cainiao AliExpress Standard tracking (LP00654321987654, to Spain, 15 checkpoints).
Each order is placed and shipped with the payload's number just before its first
checkpoint; the clock then stands after the last one.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import parcelfsm
from parcelfsm.cli import cli
from parcelfsm.clock import ManualClock, format_time
from parcelfsm.errors import ValidationError
from parcelfsm.testing import DEFAULTS

FEEDS = Path(__file__).parent / "fixtures" / "feeds"

AFTERSHIP = {
    "file": "aftership_china_post.json",
    "format": "aftership",
    "number": "RB905512332CN",
    "country": "DE",
    "placed": "2026-02-01T10:00:00Z",
    "shipped": "2026-02-02T00:00:00Z",
    "now": "2026-02-16T00:00:00Z",
    "scans": [
        ("2026-02-02T01:10:00Z", "info_received"),
        ("2026-02-03T10:22:00Z", "in_transit"),
        ("2026-02-03T22:40:00Z", "in_transit"),
        ("2026-02-09T10:05:00Z", "in_transit"),
        ("2026-02-09T14:30:00Z", "customs_held"),
        ("2026-02-12T09:00:00Z", "customs_cleared"),
        ("2026-02-13T06:45:00Z", "out_for_delivery"),
        ("2026-02-13T12:12:00Z", "attempt_failed"),
        ("2026-02-13T15:00:00Z", "at_pickup_point"),
        ("2026-02-15T10:20:00Z", "delivered"),
    ],
}
CAINIAO = {
    "file": "cainiao_aliexpress_standard.json",
    "format": "cainiao",
    "number": "LP00654321987654",
    "country": "ES",
    "placed": "2026-03-09T10:00:00Z",
    "shipped": "2026-03-09T12:00:00Z",
    "now": "2026-03-21T00:00:00Z",
    "scans": [
        ("2026-03-10T02:00:00Z", "info_received"),
        ("2026-03-11T11:02:33Z", "in_transit"),
        ("2026-03-12T07:20:19Z", "in_transit"),
        ("2026-03-12T13:44:02Z", "in_transit"),
        ("2026-03-13T01:00:00Z", "in_transit"),
        ("2026-03-13T10:05:10Z", "in_transit"),
        ("2026-03-13T18:30:00Z", "in_transit"),
        ("2026-03-15T22:58:00Z", "in_transit"),
        ("2026-03-16T08:12:45Z", "arrived_at_customs"),
        ("2026-03-17T15:40:00Z", "customs_cleared"),
        ("2026-03-17T21:03:11Z", "unknown"),
        ("2026-03-18T09:15:32Z", "in_transit"),
        ("2026-03-19T16:20:00Z", "in_transit"),
        ("2026-03-20T07:02:11Z", "out_for_delivery"),
        ("2026-03-20T11:41:07Z", "delivered"),
    ],
}
SAMPLES = pytest.mark.parametrize("sample", [AFTERSHIP, CAINIAO], ids=["aftership", "cainiao"])


def payload(sample: dict[str, Any]) -> Any:
    """The decoded fixture of `sample` (a fresh copy each time)."""
    return json.loads((FEEDS / sample["file"]).read_text(encoding="utf-8"))


def place_and_ship(
    db: Path, sample: dict[str, Any], *, number: str | None = None, order: str = "o-1"
) -> None:
    """Place and ship `order` (with `number`, default the sample's) on the database file."""
    clock = ManualClock(sample["placed"])
    with parcelfsm.open(str(db), clock=clock) as orders:
        orders.record(
            order, "order.placed", {**DEFAULTS["order.placed"], "destination_country": sample["country"]}
        )
        clock.set(sample["shipped"])
        shipped = {"tracking_number": number or sample["number"], "carrier": "post"}
        orders.record(order, "order.shipped", shipped)


def scans(orders: parcelfsm.Orders, order: str = "o-1") -> list[parcelfsm.StoredEvent]:
    """The order's `parcel.scanned` events."""
    return [e for e in orders.history(order) if e.type == "parcel.scanned"]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A database path in the test's temporary directory."""
    return tmp_path / "orders.db"


@pytest.fixture
def open_at(db: Path) -> Iterator[Any]:
    """Open the database with the clock at a given instant (closed after the test)."""
    opened: list[parcelfsm.Orders] = []

    def opener(now: str) -> parcelfsm.Orders:
        orders = parcelfsm.open(str(db), clock=ManualClock(now))
        opened.append(orders)
        return orders

    yield opener
    for orders in opened:
        orders.close()


def run(db: Path, *args: str, now: str, input: str | None = None) -> Result:
    """Invoke the CLI with `--json` on `db` at `now`."""
    argv = ["--db", str(db), "--now", now, "--json", *args]
    return CliRunner().invoke(cli, argv, input=input, catch_exceptions=False)


# -- API -------------------------------------------------------------------------------


@SAMPLES
def test_ingest_appends_one_scan_per_checkpoint_with_its_status_and_carrier_time(
    db: Path, open_at: Any, sample: dict[str, Any]
) -> None:
    """Each checkpoint becomes one `parcel.scanned`, at its carrier time, with the normalized status."""
    place_and_ship(db, sample)
    orders = open_at(sample["now"])
    report = orders.ingest_tracking("o-1", payload(sample))

    expected = sample["scans"]
    assert report.tracking_number == sample["number"]
    assert (report.checkpoints, report.appended, report.skipped, report.rejected) == (
        len(expected),
        len(expected),
        0,
        (),
    )
    got = scans(orders)
    assert [(format_time(e.occurred_at), e.data["status"]) for e in got] == expected
    assert all(e.data.get("text") for e in got), "the carrier's raw text is kept"
    keys = [e.key for e in got]
    assert all(k and sample["number"] in k for k in keys)
    assert len(set(keys)) == len(keys)
    assert orders.show("o-1").states["parcel"] == "delivered"


@SAMPLES
def test_ingesting_the_same_payload_again_appends_nothing(
    db: Path, open_at: Any, sample: dict[str, Any]
) -> None:
    """A second ingestion of the same payload skips every checkpoint by its key."""
    place_and_ship(db, sample)
    orders = open_at(sample["now"])
    orders.ingest_tracking("o-1", payload(sample))
    history = orders.history("o-1")

    again = orders.ingest_tracking("o-1", payload(sample), format=sample["format"])
    assert (again.appended, again.skipped, again.rejected) == (0, len(sample["scans"]), ())
    assert orders.history("o-1") == history


def _reworded(sample: dict[str, Any], *, only_coded: bool = True) -> Any:
    """The sample with its checkpoints' text re-worded (times, codes and tags unchanged).

    With `only_coded`, only checkpoints that carry the carrier's code (Cainiao
    `actionCode`, AfterShip `raw_tag`) are re-worded.
    """
    data = copy.deepcopy(payload(sample))
    if sample is AFTERSHIP:
        for cp in data["data"]["tracking"]["checkpoints"]:
            if cp.get("raw_tag") or not only_coded:
                cp["message"] = cp["message"] + " (updated)"
    else:
        for entry in data["module"][0]["detailList"]:
            if entry.get("actionCode") or not only_coded:
                entry["desc"] = entry["desc"] + " (updated)"
    return data


@SAMPLES
def test_a_re_worded_checkpoint_already_ingested_is_skipped(
    db: Path, open_at: Any, sample: dict[str, Any]
) -> None:
    """An aggregator re-wording old checkpoints (same number, time and carrier code) appends nothing."""
    place_and_ship(db, sample)
    orders = open_at(sample["now"])
    orders.ingest_tracking("o-1", payload(sample))
    history = orders.history("o-1")

    again = orders.ingest_tracking("o-1", _reworded(sample))
    assert (again.appended, again.skipped, again.rejected) == (0, len(sample["scans"]), ())
    assert orders.history("o-1") == history


def test_aftership_re_worded_checkpoint_without_raw_tag_is_skipped(db: Path, open_at: Any) -> None:
    """AfterShip re-wording a checkpoint that has a tag/subtag but no raw_tag appends nothing.

    AfterShip always gives `tag`/`subtag`; `raw_tag` (the carrier's code) is often absent.
    Re-wording the message of such a checkpoint is exactly the aggregator behaviour the
    contract's keys exist for.
    """
    place_and_ship(db, AFTERSHIP)
    orders = open_at(AFTERSHIP["now"])
    orders.ingest_tracking("o-1", payload(AFTERSHIP))
    history = orders.history("o-1")

    again = orders.ingest_tracking("o-1", _reworded(AFTERSHIP, only_coded=False))
    assert (again.appended, again.skipped) == (0, len(AFTERSHIP["scans"]))
    assert orders.history("o-1") == history


def test_a_longer_payload_appends_only_the_new_checkpoints(db: Path, open_at: Any) -> None:
    """Ingesting the first checkpoints, then the whole feed, appends each checkpoint once."""
    place_and_ship(db, AFTERSHIP)
    orders = open_at(AFTERSHIP["now"])
    early = payload(AFTERSHIP)
    early["data"]["tracking"]["checkpoints"] = early["data"]["tracking"]["checkpoints"][:4]
    assert orders.ingest_tracking("o-1", early).appended == 4

    report = orders.ingest_tracking("o-1", payload(AFTERSHIP))
    assert (report.appended, report.skipped) == (6, 4)
    assert [(format_time(e.occurred_at), e.data["status"]) for e in scans(orders)] == AFTERSHIP["scans"]


@SAMPLES
def test_payload_for_a_number_the_order_never_had_is_a_validation_error(
    db: Path, open_at: Any, sample: dict[str, Any]
) -> None:
    """The order shipped under another number: ValidationError naming the number, nothing appended."""
    place_and_ship(db, sample, number="RB123456785CN")
    orders = open_at(sample["now"])
    history = orders.history("o-1")
    with pytest.raises(ValidationError) as caught:
        orders.ingest_tracking("o-1", payload(sample))
    assert sample["number"] in caught.value.message
    assert orders.history("o-1") == history


def test_payload_for_a_replaced_number_is_still_accepted(db: Path, open_at: Any) -> None:
    """A number the order had before `parcel.track_replaced` is one it had: its scans are ingested."""
    place_and_ship(db, AFTERSHIP)
    orders = open_at("2026-02-02T00:30:00Z")
    orders.record("o-1", "parcel.track_replaced", {"tracking_number": "LP00123456789012"})
    orders.close()
    orders = open_at(AFTERSHIP["now"])
    report = orders.ingest_tracking("o-1", payload(AFTERSHIP))
    assert report.tracking_number == AFTERSHIP["number"]
    assert report.appended == len(AFTERSHIP["scans"])


def test_ingest_for_an_unknown_order_is_not_found(db: Path, open_at: Any) -> None:
    """Ingesting into an order that does not exist: NotFound, nothing written."""
    orders = open_at(AFTERSHIP["now"])
    with pytest.raises(parcelfsm.errors.NotFound):
        orders.ingest_tracking("nope", payload(AFTERSHIP))
    assert list(orders.export_events()) == []


# -- CLI -------------------------------------------------------------------------------


@SAMPLES
def test_track_ingest_from_a_file_reports_and_appends_the_scans(db: Path, sample: dict[str, Any]) -> None:
    """`track-ingest ORDER FILE` exits 0 and reports one append per checkpoint; again, all skipped."""
    place_and_ship(db, sample)
    path = str(FEEDS / sample["file"])
    result = run(db, "track-ingest", "o-1", path, now=sample["now"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    n = len(sample["scans"])
    assert report["order_id"] == "o-1"
    assert report["tracking_number"] == sample["number"]
    assert (report["checkpoints"], report["appended"], report["skipped"], report["rejected"]) == (n, n, 0, [])

    history = json.loads(run(db, "history", "o-1", now=sample["now"]).stdout)["events"]
    got = [(e["occurred_at"], e["data"]["status"]) for e in history if e["type"] == "parcel.scanned"]
    assert got == sample["scans"]

    again = run(db, "track-ingest", "o-1", path, "--format", sample["format"], now=sample["now"])
    assert again.exit_code == 0, again.output
    assert (json.loads(again.stdout)["appended"], json.loads(again.stdout)["skipped"]) == (0, n)
    assert json.loads(run(db, "history", "o-1", now=sample["now"]).stdout)["events"] == history


def test_track_ingest_reads_stdin_for_dash(db: Path) -> None:
    """`track-ingest ORDER -` reads the payload from stdin."""
    place_and_ship(db, CAINIAO)
    text = (FEEDS / CAINIAO["file"]).read_text(encoding="utf-8")
    result = run(db, "track-ingest", "o-1", "-", "--format", "cainiao", now=CAINIAO["now"], input=text)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["appended"] == len(CAINIAO["scans"])


@SAMPLES
def test_track_ingest_of_a_number_the_order_never_had_exits_3_and_appends_nothing(
    db: Path, sample: dict[str, Any]
) -> None:
    """`track-ingest` of another parcel's payload: ValidationError, exit 3, history unchanged."""
    place_and_ship(db, sample, number="RB123456785CN")
    before = run(db, "history", "o-1", now=sample["now"]).stdout
    result = run(db, "track-ingest", "o-1", str(FEEDS / sample["file"]), now=sample["now"])
    assert result.exit_code == 3, result.output
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "ValidationError"
    assert sample["number"] in error["message"]
    assert run(db, "history", "o-1", now=sample["now"]).stdout == before


def test_track_ingest_of_a_file_that_is_not_json_exits_3(db: Path, tmp_path: Path) -> None:
    """A payload file that is not JSON: ValidationError, exit 3, nothing appended."""
    place_and_ship(db, AFTERSHIP)
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json")
    result = run(db, "track-ingest", "o-1", str(bad), now=AFTERSHIP["now"])
    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout)["error"]["type"] == "ValidationError"
    history = json.loads(run(db, "history", "o-1", now=AFTERSHIP["now"]).stdout)["events"]
    assert [e["type"] for e in history] == ["order.placed", "order.shipped"]


def test_scans_ingested_at_carrier_time_fire_nothing_early(db: Path, open_at: Any) -> None:
    """Scans keep `presumed_lost` moving: after the AfterShip feed no loss or no-news alert is due."""
    place_and_ship(db, AFTERSHIP)
    orders = open_at(AFTERSHIP["now"])
    orders.ingest_tracking("o-1", payload(AFTERSHIP))
    timed = [e.type for e in orders.history("o-1") if e.due_at is not None]
    assert timed == []
    kinds = {d.kind for d in orders.show("o-1").deadlines}
    assert "presumed_lost" not in kinds  # delivered is final
    assert dt.datetime.fromisoformat(AFTERSHIP["now"]) > scans(orders)[-1].occurred_at
