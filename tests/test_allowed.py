"""`orders.allowed(order_id)` and `show --json`'s `allowed`: what may happen now, and why not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import parcelfsm
from parcelfsm.cli import cli
from parcelfsm.errors import ParcelFsmError
from parcelfsm.events import COMMAND_TYPES
from parcelfsm.testing import DEFAULTS, Scenario

Given = str | tuple[str, dict[str, Any]]
#: histories that put the order in many different states
HISTORIES: dict[str, tuple[tuple[Given, ...], float]] = {
    "placed": (("order.placed",), 0),
    "shipped": (("order.placed", "order.shipped"), 0),
    "at customs": (("order.placed", "order.shipped", ("parcel.scanned", {"status": "customs_held"})), 0),
    "delivered": (("order.placed", "order.shipped", ("parcel.scanned", {"status": "delivered"})), 0),
    "dispute open": (("order.placed", "order.shipped", "dispute.opened"), 0),
    "negotiating": (("order.placed", "order.shipped", "dispute.opened", "dispute.offer_made"), 0),
    "escalated customs": (
        (
            "order.placed",
            "order.shipped",
            ("dispute.opened", {"reason": "customs_problem", "cause": "no_invoice"}),
            "dispute.escalated",
        ),
        0,
    ),
    "withdrawn": (("order.placed", "order.shipped", "dispute.opened", "dispute.withdrawn"), 0),
    "reopen window closed": (("order.placed", "order.shipped", "dispute.opened", "dispute.withdrawn"), 16),
    "resolved": (("order.placed", "order.shipped", "dispute.opened", "dispute.seller_accepted"), 0),
    "cancelled": (("order.placed", ("order.cancelled", {"by": "seller"})), 0),
    "window closed": (("order.placed", "order.shipped"), 80),
}


def _scenario(name: str) -> Scenario:
    commands, days = HISTORIES[name]
    scenario = Scenario().given(*commands)
    if days:
        scenario.clock.advance(days=days)
    return scenario


def _by_type(scenario: Scenario) -> dict[str, parcelfsm.Allowed]:
    return {a.type: a for a in scenario.orders.allowed("o-1")}


def test_every_command_type_is_listed_once_in_registry_order() -> None:
    """`allowed` judges every command type, none twice, in the order of `parcelfsm types`."""
    scenario = _scenario("shipped")
    assert [a.type for a in scenario.orders.allowed("o-1")] == list(COMMAND_TYPES)


def test_a_new_order_may_be_shipped_or_cancelled_but_not_disputed() -> None:
    """Before shipment: ship and cancel (by either side) are legal; a dispute is refused with the reason."""
    allowed = _by_type(_scenario("placed"))
    assert allowed["order.shipped"].allowed
    assert allowed["order.cancelled"].allowed and allowed["order.cancelled"].by == ("buyer", "seller")
    refused = allowed["dispute.opened"]
    assert (refused.allowed, refused.error) == (False, "IllegalTransition")
    assert refused.reason is not None and "awaiting_shipment" in refused.reason
    assert allowed["order.placed"].reason == "order.placed: the order already exists"


def test_a_closed_window_is_the_reason_a_dispute_is_refused() -> None:
    """After the dispute window the machine would allow a dispute, but the rule says WindowClosed."""
    allowed = _by_type(_scenario("window closed"))
    assert allowed["dispute.opened"].error == "WindowClosed"
    assert allowed["complaint.filed"].allowed


def test_only_the_seller_may_answer_a_fresh_dispute_with_an_offer() -> None:
    """While the dispute awaits the seller, `by` lists only the seller for offers."""
    allowed = _by_type(_scenario("dispute open"))
    assert allowed["dispute.offer_made"].by == ("seller",)
    assert allowed["dispute.escalated"].by == ("buyer", "seller")


def test_scans_list_the_statuses_a_final_parcel_still_accepts() -> None:
    """A delivered parcel accepts a repeated `delivered` and no-change scans, not `in_transit`."""
    scans = _by_type(_scenario("delivered"))["parcel.scanned"]
    assert scans.allowed and "delivered" in scans.statuses
    assert "in_transit" not in scans.statuses and "attempt_failed" in scans.statuses


def _variants(type_name: str) -> list[dict[str, Any]]:
    data = dict(DEFAULTS.get(type_name, {}))
    if type_name == "parcel.scanned":
        return [{"status": s} for s in ("in_transit", "delivered", "attempt_failed")]
    if type_name == "dispute.decided":
        data = {"refund_amount": 0, "fault": "none"}
    if "by" in data:
        return [{**data, "by": side} for side in ("buyer", "seller")]
    return [data]


@pytest.mark.parametrize("history", sorted(HISTORIES))
def test_allowed_agrees_with_what_record_does(history: str) -> None:
    """For every command: `allowed` iff recording it (with default data) succeeds on a copy of the order."""
    allowed = _by_type(_scenario(history))
    for type_name in COMMAND_TYPES:
        outcomes: list[str | None] = []
        for data in _variants(type_name):
            probe = _scenario(history)
            try:
                probe.when(type_name, data)
                outcomes.append(None)
            except ParcelFsmError as exc:
                outcomes.append(exc.type)
            finally:
                probe.close()
        verdict = allowed[type_name]
        if verdict.allowed:
            assert None in outcomes, (history, type_name, outcomes)
        else:
            assert None not in outcomes, (history, type_name, verdict.reason)
            assert verdict.error in outcomes, (history, type_name, verdict.error, outcomes)


def test_show_json_carries_allowed(tmp_path: Path) -> None:
    """`show --json` has `allowed`: a list of {type, allowed, reason?, error?} (the API's list)."""
    db = tmp_path / "a.db"
    with parcelfsm.open(str(db), clock=parcelfsm.ManualClock("2026-03-01T10:00:00Z")) as orders:
        orders.record("o-1", "order.placed", DEFAULTS["order.placed"])
        expected = [a.to_json() for a in orders.allowed("o-1")]
    result = CliRunner().invoke(
        cli, ["--db", str(db), "--now", "2026-03-01T10:00:00Z", "show", "o-1", "--json"]
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)["allowed"]
    assert shown == expected
    refused = next(a for a in shown if a["type"] == "dispute.opened")
    assert set(refused) == {"type", "allowed", "reason", "error"} and refused["allowed"] is False
