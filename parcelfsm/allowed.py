"""Which commands are legal now, and why each refused one is refused.

No rule is restated here. A command is first looked up in the compiled machine
tables (`parcelfsm.machines`): a lifecycle with no edge for it from its current state
refuses it with the machine's own `IllegalTransition` message (unless the fold checks
a guard such as a closed window first: then the decide below gives the reason). A command the tables
let through is then decided for real — `decide.decide` against the state, at the
view's instant, with sample data (`PROBES`) — and thrown away: any typed error it
raises (a guard, a closed window, a rule of the fold) is the reason it is refused.

Commands with a `by` field are tried for both sides, and `by` lists the sides that
may send it; `parcel.scanned` is tried for every normalized status the parcel
machine accepts, and `statuses` lists those the order accepts now.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

import attrs

from parcelfsm.decide import decide
from parcelfsm.errors import IllegalTransition, ParcelFsmError
from parcelfsm.events import COMMAND_TYPES
from parcelfsm.fold import GUARDS, evolve
from parcelfsm.machines import DISPUTE, ORDER, PARCEL, MachineSpec, scan_trigger
from parcelfsm.records import NewEvent
from parcelfsm.state import OrderState
from parcelfsm.vocabulary import SCAN_STATUSES

PARTIES: Final = ("buyer", "seller")
#: sample data each command is decided with (the state decides, not these values)
PROBES: Final[dict[str, dict[str, Any]]] = {
    "order.placed": {"amount": 1, "currency": "USD", "shipping_cost": 0, "destination_country": "US"},
    "order.cancelled": {"by": "buyer"},
    "parcel.track_replaced": {"tracking_number": "LP00123456789012"},
    "protection.extended": {"days": 1, "by": "buyer"},
    "dispute.opened": {
        "solution": "refund_only",
        "goods_received": False,
        "reason": "protection_expiring",
        "amount": 1,
        "description": "Checking whether a dispute can be opened.",
    },
    "dispute.offer_made": {"by": "seller", "amount": 0},
    "dispute.offer_accepted": {"by": "buyer"},
    "dispute.escalated": {"by": "buyer"},
    "dispute.customs_document_provided": {"document": "customs-document"},
    "dispute.decided": {"refund_amount": 0, "fault": "none"},
    "dispute.return_shipped": {"tracking_number": "RR123456785RU"},
    "complaint.filed": {"text": "Checking whether a complaint can be filed."},
}


@attrs.frozen
class Allowed:
    """One command type and whether it is legal now (with the reason when it is not).

    `error` is the type of the error recording it would raise (`IllegalTransition`,
    `WindowClosed` …) and `reason` that error's message. `by` lists the sides that may
    send a command that has a `by` field; `statuses`, the scan statuses accepted now.
    """

    type: str
    allowed: bool
    reason: str | None = None
    error: str | None = None
    by: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """`{"type", "allowed", "reason"?, "error"?, "by"?, "statuses"?}`."""
        out: dict[str, Any] = {"type": self.type, "allowed": self.allowed}
        if not self.allowed:
            out["reason"] = self.reason
            out["error"] = self.error
        if self.by:
            out["by"] = list(self.by)
        if self.statuses:
            out["statuses"] = list(self.statuses)
        return out


def _machine_refusal(state: OrderState, type_name: str) -> IllegalTransition | None:
    """The machine's own error when a lifecycle has no edge for `type_name` now."""
    current: Sequence[tuple[MachineSpec, str]] = (
        (ORDER, state.order),
        (DISPUTE, state.dispute_state),
        (PARCEL, state.parcel),
    )
    for spec, where in current:
        if type_name in spec.triggers and not spec.allows(where, type_name):
            try:
                spec.step(where, type_name)
            except IllegalTransition as exc:
                return exc
    return None


def _exists(state: OrderState, at: dt.datetime) -> ParcelFsmError | None:
    """Why `order.placed` is refused on an existing order, as the fold says it.

    Folding the bare event skips validating sample order data (which would load the
    ISO code tables: tens of milliseconds for every `show`).
    """
    try:
        evolve(state, NewEvent(state.order_id, None, "order.placed", {}, at))
    except ParcelFsmError as exc:
        return exc
    return None


def _variants(state: OrderState, type_name: str) -> list[dict[str, Any]]:
    if type_name == "parcel.scanned":
        return [
            {"status": status}
            for status in SCAN_STATUSES
            if PARCEL.allows(state.parcel, scan_trigger(status))
        ]
    base = dict(PROBES.get(type_name, {}))
    if type_name == "dispute.opened":
        base["amount"] = state.item_value
    if "by" in base:
        return [{**base, "by": party} for party in PARTIES]
    return [base]


def allowed_commands(state: OrderState, at: dt.datetime) -> list[Allowed]:
    """Every command type, in the registry's order, judged against `state` at `at`."""
    out: list[Allowed] = []
    for type_name in COMMAND_TYPES:
        # the fold checks guards (closed windows) before the machines, and an existing
        # order is not a machine state of `order.placed`: those go straight to decide
        direct = type_name == "order.placed" or type_name in GUARDS
        refusal: ParcelFsmError | None = None if direct else _machine_refusal(state, type_name)
        if type_name == "order.placed":
            refusal = _exists(state, at)  # the fold's own refusal, before any field is validated
        accepted: list[dict[str, Any]] = []
        if refusal is None:
            variants = _variants(state, type_name)
            if not variants:
                refusal = IllegalTransition(
                    f"parcel.scanned: no scan is accepted while the parcel is {state.parcel}"
                )
            for data in variants:
                try:
                    decide(state, state.order_id, type_name, data, at=at, now=at, policy=state.policy)
                except ParcelFsmError as exc:
                    refusal = refusal or exc
                    continue
                accepted.append(data)
        if accepted:
            out.append(
                Allowed(
                    type_name,
                    True,
                    by=tuple(d["by"] for d in accepted if "by" in d),
                    statuses=tuple(d["status"] for d in accepted if "status" in d),
                )
            )
        else:
            assert refusal is not None
            out.append(Allowed(type_name, False, refusal.message, refusal.type))
    return out
