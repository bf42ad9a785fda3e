"""Given/when/then and rule-like assertions for apps that embed parcelfsm.

    scenario = Scenario()
    scenario.given("order.placed", "order.shipped", "dispute.opened", "dispute.withdrawn")
    scenario.clock.advance(days=16)
    with pytest.raises(WindowClosed):
        scenario.when("dispute.reopened")

Commands given by type alone use `DEFAULTS` (a plausible order: 25.99 USD, 3.00
shipping, to the US); pass `(type, {fields})` to override fields. Time only moves
when you move it (`advance`, which also ticks, or `clock.advance`, which does not).
Several orders share one store and clock: `scenario.on("o-2")` is a scenario of
order `o-2` on the same book.

`assert_state`, `assert_deadline`, `assert_money` and `assert_alert` read like the
rules (`assert_deadline(orders, "o-1", "protection_ends", due="2026-05-01T10:00:00Z")`)
and say what was there instead when they fail. The pytest plugin
(`parcelfsm.pytest_plugin`, loaded automatically once parcelfsm is installed) offers
the fixtures `clock`, `orders` and `scenario`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

from parcelfsm.clock import ManualClock, format_time, to_utc
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
    """Orders on one in-memory store with a manual clock; `order_id` is the default order.

    Pass `orders` (an order book on a `ManualClock`) to drive an existing book; the
    scenario then uses that book's clock, and closing stays with its owner.
    """

    def __init__(
        self,
        *,
        start: dt.datetime | str = START,
        policy: Policy | None = None,
        order_id: str = "o-1",
        path: str = "memory:",
        orders: Orders[ManualClock] | None = None,
    ) -> None:
        if orders is None:
            self.clock = ManualClock(start)
            self.orders: Orders[ManualClock] = open_orders(path, clock=self.clock, policy=policy)
            self._owner = True
        else:
            self.orders, self.clock, self._owner = orders, orders.clock, False
        self.order_id = order_id
        self.last: list[StoredEvent] = []

    def on(self, order_id: str) -> Scenario:
        """A scenario of another order on the same store and clock."""
        other = Scenario(orders=self.orders, order_id=order_id)
        return other

    def close(self) -> None:
        """Close the store (when this scenario opened it)."""
        if self._owner:
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
        """Move the clock forwards, then tick (every order); returns what fired."""
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
        assert_state(self.orders, self.order_id, **states)


_ANY: Final = object()


def assert_state(
    orders: Orders[Any],
    order_id: str,
    *,
    order: Any = _ANY,
    parcel: Any = _ANY,
    dispute: Any = _ANY,
    at: dt.datetime | str | None = None,
) -> None:
    """Assert the order's states now (or at `at`); `dispute=None` means no dispute."""
    actual = orders.show(order_id, at=at).states
    expected = {
        k: v for k, v in (("order", order), ("parcel", parcel), ("dispute", dispute)) if v is not _ANY
    }
    got = {k: actual[k] for k in expected}
    assert got == expected, f"{order_id}: expected states {expected}, got {got}"


def assert_deadline(
    orders: Orders[Any],
    order_id: str,
    kind: str,
    *,
    due: dt.datetime | str | None = None,
    rule: str | None = None,
    paused: bool | None = None,
    at: dt.datetime | str | None = None,
) -> Deadline:
    """Assert the order has an open deadline `kind` (due at `due`, under `rule`) and return it."""
    deadlines = orders.show(order_id, at=at).deadlines
    found = next((d for d in deadlines if d.kind == kind), None)
    listed = ", ".join(f"{d.kind}@{format_time(d.due_at) if d.due_at else 'paused'}" for d in deadlines)
    assert found is not None, f"{order_id}: no open {kind} deadline (open: {listed or 'none'})"
    if due is not None:
        want = to_utc(due, "due", bounded=False)
        got = format_time(found.due_at) if found.due_at else "paused"
        assert found.due_at == want, f"{order_id}: {kind} is due {got}, expected {format_time(want)}"
    if rule is not None:
        assert found.rule == rule, f"{order_id}: {kind} cites {found.rule!r}, expected {rule!r}"
    if paused is not None:
        assert found.paused == paused, f"{order_id}: {kind} paused is {found.paused}, expected {paused}"
    return found


def assert_no_deadline(
    orders: Orders[Any], order_id: str, kind: str, *, at: dt.datetime | str | None = None
) -> None:
    """Assert the order has no open deadline `kind`."""
    found = next((d for d in orders.show(order_id, at=at).deadlines if d.kind == kind), None)
    assert found is None, f"{order_id}: {kind} is open (due {found and found.due_at})"


def assert_money(
    orders: Orders[Any],
    order_id: str,
    *,
    at: dt.datetime | str | None = None,
    **amounts: int | str,
) -> None:
    """Assert money fields in minor units (`held=0, refunded_to_buyer=2599`; `currency="USD"`)."""
    money = orders.show(order_id, at=at).money.to_json()
    unknown = sorted(set(amounts) - set(money))
    assert not unknown, f"unknown money field(s) {unknown}; known: {sorted(money)}"
    got = {k: money[k] for k in amounts}
    assert got == amounts, f"{order_id}: expected money {amounts}, got {got}"


def assert_alert(
    orders: Orders[Any], order_id: str, kind: str, *, at: dt.datetime | str | None = None
) -> None:
    """Assert the alert `kind` is active on the order."""
    alerts = orders.show(order_id, at=at).alerts
    assert kind in alerts, f"{order_id}: alert {kind} is not active (active: {list(alerts) or 'none'})"
