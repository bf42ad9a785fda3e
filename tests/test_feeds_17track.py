"""17TRACK push (webhook) payloads: shapes, times, statuses and the feed guarantees.

The sample is a 17TRACK `TRACKING_UPDATED` webhook for a China Post → Brazil parcel
(`tests/fixtures/feeds/17track_webhook_china_post_brazil.json`, RB905512346CN): two
providers (Correios, China Post), events newest first, in three forms of time
(`time_utc`, `time_iso` alone with its offset, `time_raw` with a zone), Portuguese,
English and Chinese descriptions, and export customs filed by 17TRACK under
`InTransit_CustomsProcessing`.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import parcelfsm
from parcelfsm.cli import cli
from parcelfsm.clock import ManualClock
from parcelfsm.errors import ParcelFsmError, ValidationError
from parcelfsm.feeds import detect_format, parse_feed
from parcelfsm.feeds_17track import seventeen_status
from parcelfsm.testing import DEFAULTS

SAMPLE = Path(__file__).parent / "fixtures" / "feeds" / "17track_webhook_china_post_brazil.json"
NUMBER = "RB905512346CN"
UTC = dt.UTC


def sample() -> Any:
    """The decoded webhook body (a fresh copy)."""
    return json.loads(SAMPLE.read_text(encoding="utf-8"))


def events(payload: Any) -> list[dict[str, Any]]:
    """Every event of every provider in the payload (live references)."""
    providers = payload["data"]["track_info"]["tracking"]["providers"]
    return [e for p in providers for e in p["events"]]


def test_the_webhook_is_detected_and_parsed_in_time_order() -> None:
    """The webhook body is recognized as 17track; 12 events come out oldest first."""
    payload = sample()
    assert detect_format(payload) == "17track"
    feed = parse_feed(payload)
    assert (feed.tracking_number, feed.carrier, feed.warnings) == (NUMBER, "Correios", ())
    assert [c.status for c in feed.checkpoints] == [
        "info_received", "in_transit", "in_transit", "in_transit", "in_transit", "in_transit",
        "arrived_at_customs", "customs_held", "customs_cleared", "in_transit", "at_pickup_point",
        "delivered",
    ]  # fmt: skip


def test_mixed_zones_all_become_utc() -> None:
    """`time_utc`, a lone `time_iso` (-03:00) and `time_raw` with a zone give UTC instants."""
    at = {c.text: c.at for c in parse_feed(sample()).checkpoints}
    assert at["Electronic information submitted by shipper"] == dt.datetime(2026, 5, 2, 2, 0, tzinfo=UTC)
    assert at["Objeto em transferência - por favor aguarde"] == dt.datetime(2026, 5, 15, 11, 10, tzinfo=UTC)
    customs = "Informações eletrônicas enviadas para análise da autoridade aduaneira"
    assert at[customs] == dt.datetime(2026, 5, 9, 12, 0, tzinfo=UTC)


def test_export_customs_under_a_customs_sub_status_is_in_transit() -> None:
    """ "送交出口海关" (handed to export customs), filed as InTransit_CustomsProcessing, is the
    origin's customs: in transit, never at_customs."""
    statuses = {c.text: c.status for c in parse_feed(sample()).checkpoints}
    assert statuses["送交出口海关"] == "in_transit"
    assert statuses["出口海关/放行"] == "in_transit"


@pytest.mark.parametrize(
    ("sub_status", "stage", "description", "status"),
    [
        ("NotFound_Other", None, "", "no_info"),
        ("InfoReceived", "InfoReceived", "Shipment information received", "info_received"),
        ("InTransit_PickedUp", "PickedUp", "Acceptance", "in_transit"),
        ("InTransit_CustomsProcessing", None, "Clearing Customs", "arrived_at_customs"),
        ("InTransit_CustomsRequiringInformation", None, "Customs requires an invoice", "customs_held"),
        ("InTransit_CustomsReleased", None, "Released from customs", "customs_cleared"),
        ("InTransit_Other", None, "Customs clearance failed", "customs_failed"),
        ("AvailableForPickup_Other", "AvailableForPickup", "En espera de ser recogido", "at_pickup_point"),
        (
            "OutForDelivery_Other",
            "OutForDelivery",
            "Objeto saiu para entrega ao destinatário",
            "out_for_delivery",
        ),
        ("DeliveryFailure_NoBody", None, "Adresat nieobecny", "attempt_failed"),
        ("Delivered_Other", "Delivered", "Livré", "delivered"),
        ("Exception_Returning", "Returning", "Return to sender", "returning"),
        ("Exception_Returned", "Returned", "Returned to sender", "returned"),
        ("Exception_Destroyed", None, "Destroyed", "seized"),
        ("Exception_Cancel", None, "Shipment cancelled", "delivery_canceled"),
        ("Exception_Other", None, "Held At Customs", "customs_held"),
        (None, "Departure", "Departed", "in_transit"),
    ],
)
def test_each_sub_status_family_maps_to_its_status(
    sub_status: str | None, stage: str | None, description: str, status: str
) -> None:
    """Sub-status first, then stage; the description refines generic ones (or decides)."""
    assert seventeen_status(sub_status, stage, description) == status


def test_a_gettrackinfo_answer_parses_like_the_webhook() -> None:
    """`{"code": 0, "data": {"accepted": [item]}}` gives the same checkpoints."""
    hook = sample()
    answer = {"code": 0, "data": {"accepted": [hook["data"]], "rejected": []}}
    assert detect_format(answer) == "17track"
    assert parse_feed(answer).checkpoints == parse_feed(hook).checkpoints


def test_repeated_and_unsorted_events_give_the_same_feed() -> None:
    """Events reversed and each sent twice parse to the same checkpoints."""
    payload = sample()
    baseline = parse_feed(payload).checkpoints
    for provider in payload["data"]["track_info"]["tracking"]["providers"]:
        provider["events"] = list(reversed(provider["events"])) * 2
    assert parse_feed(payload).checkpoints == baseline


def test_keys_are_stable_when_17track_rewords_descriptions() -> None:
    """Re-worded descriptions with the same classification keep their keys."""
    original = [c.key(NUMBER) for c in parse_feed(sample()).checkpoints]
    reworded = sample()
    for event in events(reworded):
        event["description"] = event["description"].upper() + " (updated)"
    assert [c.key(NUMBER) for c in parse_feed(reworded).checkpoints] == original


def test_a_growing_feed_appends_only_the_new_events() -> None:
    """The first push carries five events; the next the whole history: seven more land."""
    clock = ManualClock("2026-05-01T00:00:00Z")
    with parcelfsm.open(":memory:", clock=clock) as orders:
        orders.record("o-1", "order.placed", {**DEFAULTS["order.placed"], "destination_country": "BR"})
        orders.record("o-1", "order.shipped", {"tracking_number": NUMBER})
        early = sample()
        providers = early["data"]["track_info"]["tracking"]["providers"]
        providers[0]["events"] = []  # Correios has nothing yet
        clock.set("2026-05-06T00:00:00Z")
        assert orders.ingest_tracking("o-1", early).appended == 5
        clock.set("2026-05-21T00:00:00Z")
        report = orders.ingest_tracking("o-1", sample(), format="17track")
        assert (report.appended, report.skipped) == (7, 5)
        assert orders.show("o-1").states["parcel"] == "delivered"


def test_track_ingest_format_17track_through_the_cli(tmp_path: Path) -> None:
    """`track-ingest o-1 FILE --format 17track` appends the twelve scans."""
    db = tmp_path / "o.db"
    with parcelfsm.open(str(db), clock=ManualClock("2026-05-01T00:00:00Z")) as orders:
        orders.record("o-1", "order.placed", {**DEFAULTS["order.placed"], "destination_country": "BR"})
        orders.record("o-1", "order.shipped", {"tracking_number": NUMBER})
    argv = ["--db", str(db), "--now", "2026-05-21T00:00:00Z", "--json"]
    result = CliRunner().invoke(cli, [*argv, "track-ingest", "o-1", str(SAMPLE), "--format", "17track"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["appended"] == 12


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda e: e.pop("time_utc", None) or e.pop("time_iso", None) or e.pop("time_raw", None), "time"),
        (lambda e: e.update(time_utc="2026-05-20 15:30"), "time_utc"),
        (lambda e: e.update(description=None, stage=None, sub_status=None), "description"),
    ],
)
def test_a_malformed_event_is_a_validation_error_naming_the_field(mutate: Any, field: str) -> None:
    """A broken event rejects the payload with a ValidationError naming the event and field."""
    payload = sample()
    target = events(payload)[0]
    for key in ("time_utc", "time_iso", "time_raw"):
        if field == "time":
            target.pop(key, None)
    mutate(target)
    with pytest.raises(ValidationError, match=rf"providers\[0\]\.events\[0\]\.{field}"):
        parse_feed(copy.deepcopy(payload), format="17track")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def _mutated_sample(draw: st.DrawFn) -> Any:
    """The sample with up to three nodes replaced by arbitrary JSON."""
    payload = sample()
    for _ in range(draw(st.integers(1, 3))):
        node: Any = payload
        while True:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                break
            key = draw(st.sampled_from(keys))
            child = node[key]
            if isinstance(child, dict | list) and child and draw(st.booleans()):
                node = child
                continue
            node[key] = draw(_JSON)
            break
    return payload


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=_mutated_sample(), fmt=st.sampled_from(["auto", "17track"]))
def test_a_damaged_17track_payload_parses_or_is_a_validation_error(payload: Any, fmt: str) -> None:
    """Whatever is broken in the payload, the parser returns a feed or raises a typed
    ValidationError — never another exception."""
    try:
        feed = parse_feed(payload, format=fmt)
    except ParcelFsmError as exc:
        assert exc.type == "ValidationError"
        return
    assert all(c.at.tzinfo is not None for c in feed.checkpoints)
