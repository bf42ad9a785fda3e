"""Random histories over 1–3 orders: legal and illegal commands of every docs/events.md type mixed
with clock advances and ticks, and after every step the invariants that must always hold:

- money: `paid == held + released_to_seller + refunded_to_buyer`, all ≥ 0, and consistent with
  the states (nothing moves before a resolution, completion or cancellation);
- each stream is numbered 1..n without gaps, hash-chained, timed events dated at their due time;
- the stored projections (`orders`, `deadlines`) equal a from-scratch fold of `history()`, and
  `show()` agrees with that fold and with `advance(dry_run=True)`;
- a refused command (any `ParcelFsmError`) appended nothing and changed no projection;
- a keyed retry appends nothing and returns the events it first returned;
- a command legal by construction in the caught-up state is accepted (not merely a
  refusal tolerated), and scripted timer paths on a fresh order reach the long
  deadlines: `dispute.auto_escalated`, `dispute.customs_document_missed`,
  `parcel.return_started`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from strategies import ORDER_IDS, Data, broken_command, command, likely, placed, spans

import parcelfsm
from parcelfsm.clock import ManualClock
from parcelfsm.deadlines import open_deadlines
from parcelfsm.errors import IdempotencyConflict, OutOfOrder, ParcelFsmError, ValidationError
from parcelfsm.events import COMMAND_TYPES, TIMED_TYPES
from parcelfsm.fold import fold
from parcelfsm.machines.dispute import OPEN
from parcelfsm.money import refund_for
from parcelfsm.records import StoredEvent
from parcelfsm.state import OrderState
from parcelfsm.store.mapping import order_row
from parcelfsm.testing import DEFAULTS, START, Scenario

HOWS: Final = {"seller_timeout", "seller_accepted", "agreement", "mediation", "customs_document_missed"}
FAULTS: Final = {"seller", "buyer", "none", None}
ALL_COMMANDS: Final = sorted(COMMAND_TYPES)
MOVING: Final = frozenset(
    {
        "shipped",
        "in_transit",
        "at_customs",
        "held_at_customs",
        "at_pickup_point",
        "out_for_delivery",
        "returning",
    }
)
#: scripted timer paths: the commands after placing and shipping, the days to wait, what must fire
TIMER_PATHS: Final[dict[str, tuple[tuple[tuple[str, Data], ...], int, str]]] = {
    "pickup": (
        (("parcel.scanned", {"status": "in_transit"}), ("parcel.scanned", {"status": "at_pickup_point"})),
        30,
        "parcel.return_started",
    ),
    "mediation": (
        (
            ("dispute.opened", DEFAULTS["dispute.opened"]),
            ("dispute.offer_made", {"by": "seller", "amount": 1000}),
        ),
        15,
        "dispute.auto_escalated",
    ),
    "customs_document": (
        (
            (
                "dispute.opened",
                {**DEFAULTS["dispute.opened"], "reason": "customs_problem", "cause": "no_invoice"},
            ),
            ("dispute.offer_made", {"by": "seller", "amount": 1000}),
            ("dispute.escalated", {"by": "buyer"}),
        ),
        7,
        "dispute.customs_document_missed",
    ),
}


def _deadline_rows(deadlines: Any) -> list[tuple[Any, ...]]:
    return sorted((d.kind, d.due_at, d.rule, d.set_by_version, d.on_expiry) for d in deadlines)


class OrderBook(RuleBasedStateMachine):
    """Up to three orders on one in-memory store, driven by a manual clock."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(START)
        self.orders = parcelfsm.open(":memory:", clock=self.clock)
        self.keyed: list[tuple[str, str, Data, str, list[StoredEvent]]] = []
        self.keys = 0

    def teardown(self) -> None:
        self.orders.close()

    # -- helpers ---------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        return self.clock.now()

    def history(self, order_id: str) -> list[StoredEvent]:
        """The stream (empty when the order does not exist)."""
        try:
            return self.orders.history(order_id)
        except ParcelFsmError:
            return []

    def snapshot(self, order_id: str) -> tuple[Any, ...]:
        """Everything a refused command must leave alone: log head and projections."""
        events = self.history(order_id)
        row = self.orders.store.order_row(order_id)
        deadlines = self.orders.store.deadlines_of(order_id)
        return (len(events), events[-1].hash if events else "", row, _deadline_rows(deadlines))

    def state(self, order_id: str) -> OrderState | None:
        events = self.history(order_id)
        return fold(events) if events else None

    def send(
        self,
        order_id: str,
        type_name: str,
        data: Data,
        *,
        at: dt.datetime | None = None,
        key: str | None = None,
    ) -> list[StoredEvent] | None:
        """Record a command; on refusal check that nothing changed. Returns the appended events."""
        before = self.snapshot(order_id)
        try:
            events = self.orders.record(order_id, type_name, dict(data), at=at, key=key)
        except ParcelFsmError as error:
            assert self.snapshot(order_id) == before, f"refused {type_name} changed the store"
            event(f"refused {type_name}: {error.type}")
            return None
        event(f"accepted {type_name}")
        for fired in events[:-1]:
            event(f"fired {fired.type}")
        state = self.state(order_id)
        if state is not None and state.dispute is not None and state.dispute.outcome is not None:
            event(f"resolved by {state.dispute.outcome.how}")
        length = before[0]
        assert [e.version for e in events] == list(range(length + 1, length + 1 + len(events)))
        assert events[-1].type == type_name
        assert events[-1].key == key
        assert all(e.type in TIMED_TYPES and e.due_at is not None for e in events[:-1])
        assert len(self.history(order_id)) == length + len(events)
        if key is not None:
            self.keyed.append((order_id, type_name, dict(data), key, events))
        return events

    # -- rules -----------------------------------------------------------------------------

    @initialize(data=placed(), ship=st.booleans())
    def first_order(self, data: Data, ship: bool) -> None:
        """Every history starts with one placed order, often already shipped."""
        assert self.send("o-1", "order.placed", data) is not None
        if ship:
            assert self.send("o-1", "order.shipped", {}) is not None

    @rule(data=st.data())
    def send_command(self, data: st.DataObject) -> None:
        """~30 %: a command broken by construction, always refused; otherwise a plausible command
        (mostly one that fits the order's states, sometimes back-dated or keyed), or a keyed retry."""
        flavour = data.draw(st.integers(0, 9), label="flavour")
        if flavour < 3:
            self.send_broken(data)
            return
        if flavour == 9 and self.keyed:
            self.retry_keyed(data)
            return
        placed_ids = [o for o in ORDER_IDS if self.history(o)]
        pick = st.sampled_from(placed_ids) if data.draw(st.integers(0, 7)) else st.sampled_from(ORDER_IDS)
        order_id = data.draw(pick, label="order")
        state = self.state(order_id)
        if flavour < 8:
            states = (state.order, state.dispute_state) if state else ("none", "none")
            type_name = data.draw(st.sampled_from(likely(*states)), label="type")
        else:
            type_name = data.draw(st.sampled_from(ALL_COMMANDS), label="type")
        item_value = state.item_value if state else None
        asked = state.dispute.amount if state and state.dispute else None
        payload = data.draw(command(type_name, item_value=item_value, asked=asked), label="data")
        back = data.draw(st.sampled_from([None] * 14 + [60, 86_400 * 2]), label="back_s")
        at = self.now() - dt.timedelta(seconds=back) if back is not None else None
        key = None
        if data.draw(st.integers(0, 3), label="keyed") == 0:
            self.keys += 1
            key = f"k-{self.keys}"
        self.send(order_id, type_name, payload, at=at, key=key)

    @rule(data=st.data())
    def send_another_command(self, data: st.DataObject) -> None:
        """Same as `send_command` (commands outnumber clock moves two to one)."""
        self.send_command(data)

    def send_broken(self, data: st.DataObject) -> None:
        """A command refused in any state: ValidationError, or OutOfOrder when dated after now."""
        order_id, type_name, payload, ahead = data.draw(broken_command(), label="broken")
        before = self.snapshot(order_id)
        expected = OutOfOrder if ahead is not None else ValidationError
        at = self.now() + ahead if ahead is not None else None
        with pytest.raises(expected):
            self.orders.record(order_id, type_name, payload, at=at)
        assert self.snapshot(order_id) == before
        event("refused by construction")

    def retry_keyed(self, data: st.DataObject) -> None:
        """A keyed command sent again appends nothing and returns the events it first returned;
        the same key on another order is IdempotencyConflict."""
        order_id, type_name, payload, key, original = data.draw(st.sampled_from(self.keyed), label="keyed")
        before = self.snapshot(order_id)
        again = self.orders.record(order_id, type_name, payload, key=key)
        assert again == original
        assert self.snapshot(order_id) == before
        other = data.draw(st.sampled_from([o for o in ORDER_IDS if o != order_id]), label="other")
        before_other = self.snapshot(other)
        with pytest.raises(IdempotencyConflict):
            self.orders.record(other, type_name, payload, key=key)
        assert self.snapshot(other) == before_other
        event("keyed retry")

    def send_legal(self, order_id: str, type_name: str, data: Data) -> list[StoredEvent]:
        """A command legal by construction: a refusal fails the test."""
        before = self.snapshot(order_id)
        try:
            events = self.orders.record(order_id, type_name, dict(data))
        except ParcelFsmError as error:
            raise AssertionError(
                f"legal {type_name} on {order_id} refused: {error.type}: {error.message}"
            ) from None
        assert len(self.history(order_id)) == before[0] + len(events)
        event(f"legal {type_name} accepted")
        return events

    @rule(data=st.data())
    def legal_command(self, data: st.DataObject) -> None:
        """In the state `show` reports now (deadlines caught up), a command the rules allow:
        cancel before shipment, a scan of a moving parcel, a seller's offer while the
        dispute awaits the seller. It must be accepted."""
        placed_ids = [o for o in ORDER_IDS if self.history(o)]
        order_id = data.draw(st.sampled_from(placed_ids), label="legal order")
        view = self.orders.show(order_id)
        states = view.states
        if states["order"] == "awaiting_shipment":
            self.send_legal(
                order_id, "order.cancelled", {"by": data.draw(st.sampled_from(["buyer", "seller"]))}
            )
        elif states["dispute"] == "awaiting_seller" and view.state is not None and view.state.dispute:
            asked = view.state.dispute.amount
            offer = data.draw(st.integers(0, asked), label="offer")
            self.send_legal(order_id, "dispute.offer_made", {"by": "seller", "amount": offer})
        elif states["order"] in ("awaiting_delivery", "frozen") and states["parcel"] in MOVING:
            self.send_legal(order_id, "parcel.scanned", {"status": "in_transit"})
        else:
            event("no legal command picked")

    @precondition(lambda self: any(not self.history(o) for o in ORDER_IDS))
    @rule(path=st.sampled_from(sorted(TIMER_PATHS)), early=st.integers(1, 3600))
    def timer_path(self, path: str, early: int) -> None:
        """On a fresh order, a scripted path to a long deadline: every command is accepted,
        the deadline's event has not fired `early` seconds before it is due, and fires
        when the clock reaches it."""
        order_id = next(o for o in ORDER_IDS if not self.history(o))
        steps, days, fires = TIMER_PATHS[path]
        self.send_legal(order_id, "order.placed", DEFAULTS["order.placed"])
        self.send_legal(order_id, "order.shipped", {})
        for type_name, payload in steps:
            self.send_legal(order_id, type_name, payload)
        self.clock.advance(days=days, seconds=-early)
        assert fires not in [e.type for e in self.orders.tick() if e.stream_id == order_id]
        self.clock.advance(seconds=early)
        fired = [e.type for e in self.orders.tick() if e.stream_id == order_id]
        assert fires in fired, (path, fired)
        event(f"timer path reached {fires}")

    @rule(span=spans(), tick=st.booleans())
    def advance(self, span: dt.timedelta, tick: bool) -> None:
        """Move the clock forwards (minutes to 40 days), and maybe tick."""
        self.clock.advance(seconds=span.total_seconds())
        if tick:
            self.tick()

    @rule()
    def tick(self) -> None:
        """Fire everything due: afterwards nothing is due and `show` has nothing unfired."""
        fired = self.orders.tick()
        for e in fired:
            event(f"fired {e.type}")
            if e.type.startswith("dispute."):
                event(f"resolved or moved by tick: {e.type}")
        now = self.now()
        assert all(e.due_at is not None and e.due_at <= now and e.recorded_at == now for e in fired)
        assert self.orders.due(before=now) == []
        for order_id in ORDER_IDS:
            if self.history(order_id):
                assert self.orders.show(order_id).unfired == ()

    # -- invariants ------------------------------------------------------------------------

    @invariant()
    def streams_are_gapless_and_chained(self) -> None:
        """Versions 1..n, hash chain per stream, timed events at their due time, no future."""
        now = self.now()
        for order_id in ORDER_IDS:
            events = self.history(order_id)
            assert [e.version for e in events] == list(range(1, len(events) + 1))
            positions = [e.position for e in events]
            assert positions == sorted(set(positions))
            previous = ""
            for e in events:
                assert e.stream_id == order_id
                assert e.prev_hash == previous
                previous = e.hash
                assert e.recorded_at <= now
                assert e.occurred_at <= e.recorded_at
                if e.type in TIMED_TYPES:
                    assert e.due_at == e.occurred_at
                    assert e.key is None
                else:
                    assert e.due_at is None
            recorded = [e.recorded_at for e in events]
            assert recorded == sorted(recorded)

    @invariant()
    def projections_and_show_equal_a_fold_of_history(self) -> None:
        """For every order: the stored `orders` / `deadlines` rows equal a fresh fold of the
        history; the money adds up and matches the states, in the fold and in `show()`;
        `show()` agrees with the fold and with `advance(dry_run=True)`."""
        now = self.now()
        planned = self.orders.advance(now, dry_run=True)
        for order_id in ORDER_IDS:
            events = self.history(order_id)
            if not events:
                assert self.orders.store.order_row(order_id) is None
                continue
            state = fold(events)
            assert state is not None
            assert self.orders.store.order_row(order_id) == order_row(state)
            expected = [d for d in open_deadlines(state) if d.due_at is not None]
            assert _deadline_rows(self.orders.store.deadlines_of(order_id)) == _deadline_rows(expected)
            check_state(state)

            view = self.orders.show(order_id)
            assert view.state is not None
            check_state(view.state)
            assert view.version == len(events)
            if not view.unfired:
                assert view.states["order"] == state.order
                assert view.states["parcel"] == state.parcel
                assert (view.states["dispute"] or "none") == state.dispute_state
                assert view.money == state.escrow
            mine = [(e.type, e.due_at) for e in planned if e.stream_id == order_id]
            assert mine == [(e.type, e.due_at) for e in view.unfired]
            for d in view.deadlines:
                if d.paused:
                    assert view.states["order"] == "frozen"
                    assert d.remaining is not None and d.remaining >= dt.timedelta(0)
                else:
                    assert d.due_at is not None and d.due_at > now


def check_state(s: OrderState) -> None:
    """Invariants of one folded order."""
    m = s.escrow
    assert m.paid == s.amount
    assert m.paid == m.held + m.released_to_seller + m.refunded_to_buyer
    assert min(m.held, m.released_to_seller, m.refunded_to_buyer) >= 0
    assert (s.order == "frozen") == (s.dispute_state in OPEN)
    if s.order == "cancelled":
        assert (m.refunded_to_buyer, m.held) == (m.paid, 0)
        assert s.dispute_state == "none"
    if s.order in ("awaiting_shipment", "awaiting_delivery"):
        assert m.held == m.paid
    if s.order == "awaiting_shipment":
        assert s.parcel == "not_shipped"
    if s.order == "finished":
        assert m.held == 0
    if s.order == "frozen":
        assert m.held in (0, m.paid)
    d = s.dispute
    assert (d is None) == (s.dispute_state == "none")
    if d is not None:
        assert 0 < d.amount <= s.item_value
        assert (d.outcome is not None) == (s.dispute_state == "resolved")
    if d is not None and d.outcome is not None:
        o = d.outcome
        assert o.how in HOWS
        assert o.fault in FAULTS
        assert 0 <= o.refund <= refund_for(d.amount, amount=s.amount, item_value=s.item_value)
        assert m.refunded_to_buyer == o.refund
        assert m.held == 0
        assert s.order == "finished"
        assert s.protection_end is None and s.protection_remaining is None


OrderBook.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestOrderBook = OrderBook.TestCase


def test_keyed_retry_after_a_tick_returns_only_the_original_events() -> None:
    """A keyed command retried returns exactly what it first returned, not a tick's events
    recorded at the same instant (docs/rules.md "Idempotency": the original events)."""
    scenario = Scenario()
    try:
        scenario.given("order.placed", "order.shipped")
        scenario.clock.advance(days=10)
        assert [e.type for e in scenario.orders.tick()] == ["alert.raised"]
        first = scenario.orders.record("o-1", "protection.extended", {"days": 3, "by": "buyer"}, key="k1")
        again = scenario.orders.record("o-1", "protection.extended", {"days": 3, "by": "buyer"}, key="k1")
        assert again == first
    finally:
        scenario.close()
