"""Cainiao action codes: one realistic checkpoint per code family, and export customs kept apart.

Each case is a `detailList` entry as Cainiao's global tracking sends it (epoch `time`,
local `timeStr` with `timeZone`, `desc`, `standerdDesc`, `actionCode`). The code decides
the status even where the text would say something else; a code the exact table does
not list is read by its family.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

import parcelfsm
from parcelfsm.carriers import CAINIAO_FAMILIES, cainiao_status
from parcelfsm.clock import ManualClock
from parcelfsm.feeds import parse_feed
from parcelfsm.testing import DEFAULTS

NUMBER = "LP00598123456789"


def entry(code: str, desc: str, time_str: str = "2026-04-02 14:00:00", zone: str = "GMT+8") -> dict[str, Any]:
    """One Cainiao `detailList` entry."""
    local = dt.datetime.fromisoformat(time_str).replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return {
        "time": int(local.timestamp() * 1000),
        "timeStr": time_str,
        "timeZone": zone,
        "desc": desc,
        "standerdDesc": desc,
        "descTitle": desc,
        "actionCode": code,
        "group": {"nodeCode": "", "nodeDesc": desc},
    }


def payload(*entries: dict[str, Any]) -> dict[str, Any]:
    """A Cainiao global tracking response for `NUMBER`."""
    return {
        "success": True,
        "module": [
            {"mailNo": NUMBER, "originCountry": "CN", "destCountry": "RU", "detailList": list(entries)},
        ],
    }


# fmt: off
FAMILY_CASES = [
    ("GWMS_", "GWMS_ACCEPT", "Order received by the warehouse", "info_received"),
    ("GWMS_", "GWMS_OUTBOUND", "Package left the warehouse", "in_transit"),
    ("PU_", "PU_PICKUP_SUCCESS", "Picked up by the carrier", "in_transit"),
    ("PU_", "PU_PICKUP_FAILURE", "Pick-up failed, will retry", "info_received"),
    ("SC_", "SC_INBOUND_SUCCESS", "Arrived at sorting center", "in_transit"),
    ("SC_", "SC_OUTBOUND_SUCCESS", "Departed from sorting center", "in_transit"),
    ("LH_", "LH_HO_AIRLINE", "Handed over to airline", "in_transit"),
    ("LH_", "LH_ARRIVE", "Arrived at destination country/region", "in_transit"),
    ("CC_EX_", "CC_EX_START", "Export customs clearance started", "in_transit"),
    ("CC_EX_", "CC_EX_SUCCESS", "Export customs clearance complete", "in_transit"),
    ("CC_EX_", "CC_EX_FAILURE", "Export customs clearance failed", "returning"),
    ("CC_TRANS_", "CC_TRANS_START", "Transit customs clearance started", "in_transit"),
    ("CC_TRANS_", "CC_TRANS_FAILURE", "Transit customs clearance failed", "returning"),
    ("CC_HO_IN_", "CC_HO_IN_SUCCESS", "Arrived at customs", "arrived_at_customs"),
    ("CC_IM_", "CC_IM_START", "Import customs clearance started", "arrived_at_customs"),
    ("CC_IM_", "CC_IM_SUCCESS", "Import customs clearance complete", "customs_cleared"),
    ("CC_IM_", "CC_IM_FAILURE", "Import customs clearance failed", "customs_failed"),
    ("CUS_", "CUS_TAX", "Customs duty payment required", "customs_held"),
    ("CUS_", "CUS_SUCCESS", "Customs declaration passed", "customs_cleared"),
    ("CIQ_", "CIQ_INSPECT", "Inspection and quarantine check", "customs_held"),
    ("CIQ_", "CIQ_FAILURE", "Inspection and quarantine failed", "customs_failed"),
    ("GTMS_", "GTMS_SC_ARRIVE", "Arrived at local sorting center", "in_transit"),
    ("GTMS_", "GTMS_DELIVERING", "Out for delivery", "out_for_delivery"),
    ("GTMS_", "GTMS_STA_SIGNED", "Signed in at the pickup station", "at_pickup_point"),
    ("GTMS_", "GTMS_SIGNED", "Delivered", "delivered"),
    ("GTMS_", "GTMS_DEL_FAILURE", "Delivery failed", "attempt_failed"),
    ("GSTA_", "GSTA_INFORM_BUYER", "Ready for pickup at the parcel locker", "at_pickup_point"),
    ("GSTA_", "GSTA_SIGN", "Picked up by the customer", "delivered"),
    ("RT_", "RT_INBOUND", "Return parcel arrived at the return center", "returning"),
    ("RETURNED", "RETURNED", "Returned to sender", "returned"),
    ("*_DESTROY", "CUS_DESTROY", "Destroyed by customs", "seized"),
    ("*_DESTROY", "RT_WH_DESTROY", "Destroyed at the return warehouse", "seized"),
]
# fmt: on


@pytest.mark.parametrize(("family", "code", "desc", "status"), FAMILY_CASES, ids=[c[1] for c in FAMILY_CASES])
def test_each_cainiao_code_family_maps_to_its_status(family: str, code: str, desc: str, status: str) -> None:
    """A realistic entry of each family reads as the status its code stands for."""
    feed = parse_feed(payload(entry(code, desc)), format="cainiao")
    assert [(c.code, c.status) for c in feed.checkpoints] == [(code, status)]


def test_every_family_of_the_issue_has_a_case() -> None:
    """The families GWMS_ … *_DESTROY all have at least one case above."""
    wanted = {
        "GWMS_", "PU_", "SC_", "LH_", "CC_EX_", "CC_TRANS_", "CC_HO_IN_", "CC_IM_", "CUS_", "CIQ_",
        "GTMS_", "GSTA_", "RT_", "RETURNED", "*_DESTROY",
    }  # fmt: skip
    assert {c[0] for c in FAMILY_CASES} == wanted
    assert wanted - {"RETURNED", "*_DESTROY"} <= {prefix for prefix, _, _ in CAINIAO_FAMILIES}


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("CC_IM_REVIEW", "arrived_at_customs"),
        ("CC_IM_NEW_FAILURE", "customs_failed"),
        ("CIQ_SAMPLING", "customs_held"),
        ("CC_EX_RECHECK", "in_transit"),
        ("GTMS_NEW_NODE", "in_transit"),
        ("RT_SOMETHING", "returning"),
        ("GWMS_WEIGH", "info_received"),
        ("XYZ_UNHEARD_OF", None),
        ("EMA", None),
    ],
)
def test_a_code_outside_the_exact_table_is_read_by_its_family(code: str, status: str | None) -> None:
    """New codes of a known family get the family's status (its failure status for
    `_FAILURE`); codes of no family are left to the tag and the text."""
    assert cainiao_status(code) == status


def test_the_code_wins_over_the_text() -> None:
    """An export-customs code with a text that sounds like import customs stays in transit."""
    feed = parse_feed(payload(entry("CC_EX_START", "Customs clearance started")), format="cainiao")
    assert feed.checkpoints[0].status == "in_transit"


def test_export_customs_never_arms_customs_stall_or_counts_as_at_customs() -> None:
    """Export customs is the origin country's: after CC_EX_START and ten quiet days the
    parcel is in transit, with presumed_lost armed and no customs_stall or stall alert."""
    clock = ManualClock("2026-04-01T00:00:00Z")
    with parcelfsm.open(":memory:", clock=clock) as orders:
        orders.record("o-1", "order.placed", {**DEFAULTS["order.placed"], "destination_country": "RU"})
        orders.record("o-1", "order.shipped", {"tracking_number": NUMBER})
        clock.set("2026-04-03T00:00:00Z")
        report = orders.ingest_tracking(
            "o-1",
            payload(
                entry("SC_OUTBOUND_SUCCESS", "Departed from sorting center", "2026-04-02 03:15:00"),
                entry("CC_EX_START", "Export customs clearance started", "2026-04-02 14:00:00"),
            ),
        )
        assert report.appended == 2
        clock.set("2026-04-12T00:00:00Z")
        orders.tick()
        view = orders.show("o-1")
    kinds = {d.kind for d in view.deadlines}
    assert view.states["parcel"] == "in_transit"
    assert "customs_stall" not in kinds and "presumed_lost" in kinds
    assert "customs_stalled" not in view.alerts
