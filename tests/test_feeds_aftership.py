"""AfterShip: the carrier's code first, then the aggregator's tag, then the text.

The sample is a real-shaped Cainiao → Russia tracking delivered through AfterShip
(`tests/fixtures/feeds/aftership_cainiao_russia.json`, LP00598123456789, 13 checkpoints
newest first): Cainiao legs carry their `actionCode` as `raw_tag` (and AfterShip tags
`CC_IM_START`, import clearance *started*, as `InTransit_005`, clearance *completed*),
while the Russian Post last mile has Russian texts and no raw tag.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import parcelfsm
from parcelfsm.cli import cli
from parcelfsm.clock import ManualClock
from parcelfsm.feeds import parse_feed
from parcelfsm.feeds_aftership import aftership_status
from parcelfsm.testing import DEFAULTS

SAMPLE = Path(__file__).parent / "fixtures" / "feeds" / "aftership_cainiao_russia.json"
NUMBER = "LP00598123456789"


def sample() -> Any:
    """The decoded sample (a fresh copy)."""
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def test_cainiao_raw_tag_wins_over_aftership_mis_tag() -> None:
    """CC_IM_START tagged InTransit_005 (cleared) reads as arrived_at_customs: the code wins."""
    feed = parse_feed(sample())
    start = next(c for c in feed.checkpoints if c.code == "CC_IM_START")
    assert start.status == "arrived_at_customs"
    assert aftership_status(
        "InTransit", "InTransit_005", "Import customs clearance started", "CC_IM_START"
    ) == ("arrived_at_customs")


def test_export_customs_tagged_as_customs_by_aftership_stays_in_transit() -> None:
    """CC_EX_START tagged InTransit_006 (customs clearance started) is the origin's customs."""
    feed = parse_feed(sample())
    assert next(c for c in feed.checkpoints if c.code == "CC_EX_START").status == "in_transit"


def test_an_unknown_raw_tag_falls_back_to_the_tag() -> None:
    """China Post's own code `EMA` is in no carrier table: the subtag decides."""
    assert aftership_status("InTransit", "InTransit_002", "Acceptance", "EMA") == "in_transit"
    assert aftership_status("InTransit", "InTransit_006", "Clearing Customs", "EMA") == "arrived_at_customs"


def test_without_code_or_known_tag_the_text_decides() -> None:
    """No raw tag and an unknown tag: the normalizer reads the message (here in Russian)."""
    assert aftership_status("Whatever", None, "Прибыло в место вручения") == "at_pickup_point"


def test_an_export_message_under_a_customs_subtag_is_not_the_buyers_customs() -> None:
    """Without a code, a customs subtag whose message says export reads as in transit."""
    assert aftership_status("InTransit", "InTransit_006", "Export customs clearance started") == "in_transit"


def test_the_russia_sample_parses_in_time_order_with_every_status() -> None:
    """13 checkpoints, newest first in the payload, come out oldest first in UTC."""
    feed = parse_feed(sample())
    assert (feed.tracking_number, feed.carrier, feed.warnings) == (NUMBER, "cainiao", ())
    assert [c.status for c in feed.checkpoints] == [
        "info_received", "in_transit", "in_transit", "in_transit", "in_transit", "in_transit",
        "in_transit", "arrived_at_customs", "customs_cleared", "in_transit", "in_transit",
        "at_pickup_point", "delivered",
    ]  # fmt: skip
    assert feed.checkpoints[0].at == dt.datetime(2026, 4, 1, 1, 12, tzinfo=dt.UTC)
    assert feed.checkpoints[-1].at == dt.datetime(2026, 4, 13, 14, 20, tzinfo=dt.UTC)


def test_ingesting_the_russia_sample_through_the_cli_delivers_the_parcel(tmp_path: Path) -> None:
    """`track-ingest` appends every checkpoint; the order reads delivered; again: all skipped."""
    db = tmp_path / "o.db"
    clock = ManualClock("2026-03-31T10:00:00Z")
    with parcelfsm.open(str(db), clock=clock) as orders:
        orders.record("o-1", "order.placed", {**DEFAULTS["order.placed"], "destination_country": "RU"})
        orders.record("o-1", "order.shipped", {"tracking_number": NUMBER, "carrier": "cainiao"})
    argv = ["--db", str(db), "--now", "2026-04-14T00:00:00Z", "--json", "track-ingest", "o-1", str(SAMPLE)]
    first = CliRunner().invoke(cli, argv)
    assert first.exit_code == 0, first.output
    assert json.loads(first.output)["appended"] == 13
    again = json.loads(CliRunner().invoke(cli, argv).output)
    assert (again["appended"], again["skipped"]) == (0, 13)
    show = CliRunner().invoke(
        cli, ["--db", str(db), "--now", "2026-04-14T00:00:00Z", "--json", "show", "o-1"]
    )
    assert json.loads(show.output)["states"]["parcel"] == "delivered"


@pytest.mark.parametrize("reworded", ["Import customs clearance has started", "Начато таможенное оформление"])
def test_a_reworded_checkpoint_with_the_same_code_is_not_new(reworded: str) -> None:
    """The key is (number, time, raw tag): re-wording the message keeps the key."""
    original = parse_feed(sample())
    payload = sample()
    for cp in payload["data"]["tracking"]["checkpoints"]:
        if cp.get("raw_tag") == "CC_IM_START":
            cp["message"] = reworded
    changed = parse_feed(payload)
    assert [c.key(NUMBER) for c in changed.checkpoints] == [c.key(NUMBER) for c in original.checkpoints]
