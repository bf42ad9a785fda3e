"""Given/when/then for apps that embed parcelfsm (and for parcelfsm's own tests).

    scenario = Scenario()
    scenario.given("order.placed", "order.shipped", "dispute.opened", "dispute.withdrawn")
    scenario.clock.advance(days=16)
    with pytest.raises(WindowClosed):
        scenario.when("dispute.reopened")

Commands given by type alone use `DEFAULTS` (a plausible order: 25.99 USD, 3.00
shipping, to the US); pass `(type, {fields})` to override fields. Time only moves
when you move it (`advance`, which also ticks, or `clock.advance`, which does not).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

from parcelfsm.clock import ManualClock
from parcelfsm.deadlines import Deadline
from parcelfsm.policy import Policy
from parcelfsm.records import StoredEvent
from parcelfsm.service import Orders
from parcelfsm.service import open as open_orders
from parcelfsm.views import OrderView

START: Final = "2026-03-01T10:00:00Z"
DEFAULTS: Final[dict[str, dict[str, Any]]] = {
    "order.placed": {
        "amount": 2599,
        "currency": "USD",
        "shipping_cost": 300,
        "destination_country": "US",
    },
    "order.cancelled": {"by": "buyer"},
    "order.shipped": {"tracking_number": "RB123456785CN", "carrier": "China Post"},
    "parcel.track_replaced": {"tracking_number": "LP00123456789012"},
    "protection.extended": {"days": 10, "by": "seller"},
    "dispute.opened": {
        "solution": "refund_only",
        "goods_received": False,
        "reason": "protection_expiring",
        "amount": 2599,
        "description": "The parcel has not arrived.",
    },
    "dispute.offer_made": {"by": "seller", "amount": 1000},
    "dispute.offer_accepted": {"by": "buyer"},
    "dispute.escalated": {"by": "buyer"},
    "dispute.customs_document_provided": {"document": "customs-letter.pdf"},
    "dispute.return_shipped": {"tracking_number": "RR123456785RU"},
    "complaint.filed": {"text": "The parcel never arrived."},
}
Given = str | tuple[str, dict[str, Any]]


class Scenario:
    """One order on an in-memory store with a manual clock."""

    def __init__(
        self,
        *,
        start: dt.datetime | str = START,
        policy: Policy | None = None,
        order_id: str = "o-1",
        path: str = "memory:",
    ) -> None:
        self.clock = ManualClock(start)
        self.orders: Orders = open_orders(path, clock=self.clock, policy=policy)
        self.order_id = order_id
        self.last: list[StoredEvent] = []

    def close(self) -> None:
        """Close the store."""
        self.orders.close()

    def given(self, *commands: Given) -> Scenario:
        """Record each command now (type alone: default data; or (type, overrides))."""
        for command in commands:
            type_name, data = (command, {}) if isinstance(command, str) else command
            self.when(type_name, data)
        return self

    def when(self, type_name: str, data: dict[str, Any] | None = None, **kwargs: Any) -> list[StoredEvent]:
        """Record one command (default data merged with `data`) and remember its events."""
        merged = {**DEFAULTS.get(type_name, {}), **(data or {})}
        self.last = self.orders.record(self.order_id, type_name, merged, **kwargs)
        return self.last

    def advance(
        self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> list[StoredEvent]:
        """Move the clock forwards, then tick; returns what fired."""
        self.clock.advance(days=days, hours=hours, minutes=minutes, seconds=seconds)
        self.last = self.orders.tick()
        return self.last

    def view(self, at: dt.datetime | str | None = None) -> OrderView:
        """`show` of the order (now, or at an instant)."""
        return self.orders.show(self.order_id, at=at)

    @property
    def states(self) -> dict[str, str | None]:
        """The order's three states now."""
        return self.view().states

    def deadline(self, kind: str) -> Deadline | None:
        """The open deadline of that kind now, if any."""
        return next((d for d in self.view().deadlines if d.kind == kind), None)

    def types(self, events: Sequence[StoredEvent] | None = None) -> list[str]:
        """Event types of `events` (default: those of the last `when`/`advance`)."""
        return [e.type for e in (self.last if events is None else events)]

    def history_types(self) -> list[str]:
        """Every event type of the stream, in version order."""
        return [e.type for e in self.orders.history(self.order_id)]

    def then(self, **states: str | None) -> None:
        """Assert the named states (`order=`, `parcel=`, `dispute=`)."""
        actual = self.states
        expected = {k: v for k, v in states.items()}
        got = {k: actual[k] for k in expected}
        assert got == expected, f"expected {expected}, got {got}"
