"""The order / escrow / buyer-protection rules (docs/rules.md, docs/events.md deadline table).

Each timed rule is checked at its boundary: one second before the due time nothing
fires and the state is unchanged; at the due time (inclusive) it fires.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from freezegun import freeze_time

import parcelfsm
from parcelfsm import ManualClock, Policy, SystemClock
from parcelfsm.errors import (
    IllegalTransition,
    NotFound,
    OutOfOrder,
    ValidationError,
    WindowClosed,
)
from parcelfsm.testing import DEFAULTS, Scenario

UTC = dt.UTC
T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)
PAID = DEFAULTS["order.placed"]["amount"]
DELIVERED = ("parcel.scanned", {"status": "delivered"})
IN_TRANSIT = ("parcel.scanned", {"status": "in_transit"})


def money(s: Scenario, at: dt.datetime | None = None) -> dict[str, Any]:
    """The `money` object of `show`, after checking the escrow invariant."""
    m = s.view(at).to_json()["money"]
    assert m["paid"] == m["held"] + m["released_to_seller"] + m["refunded_to_buyer"], m
    return m


def deadline_json(s: Scenario, kind: str) -> dict[str, Any] | None:
    """The `show --json` entry of one open deadline, or None."""
    return next((d for d in s.view().to_json()["deadlines"] if d["kind"] == kind), None)


def advance_to(s: Scenario, when: dt.datetime) -> list[str]:
    """Set the clock to `when`, tick, and return the types that fired."""
    s.clock.set(when)
    s.last = s.orders.tick()
    return s.types()


def shipped_at(s: Scenario, *given: Any, after: dt.timedelta = DAY) -> dt.datetime:
    """Place the order now, ship it `after` later (plus `given` commands); the ship time."""
    s.given("order.placed")
    s.clock.advance(seconds=after.total_seconds())
    s.given("order.shipped", *given)
    return s.clock.now()


# --- ship_by -------------------------------------------------------------------------------


def test_unshipped_order_is_cancelled_and_refunded_at_ship_by_default_7_days(scenario):
    """Without stated processing days, ship_by is placed + 7 d (order.processing_days_default=7)."""
    scenario.given("order.placed")
    assert deadline_json(scenario, "ship_by") == {
        "order_id": "o-1",
        "kind": "ship_by",
        "due_at": "2026-03-08T10:00:00Z",
        "rule": "order.processing_days_default=7",
        "set_by_version": 1,
        "on_expiry": "order.auto_cancelled",
        "paused": False,
    }
    assert advance_to(scenario, T0 + 7 * DAY - SECOND) == []
    scenario.then(order="awaiting_shipment")
    assert money(scenario)["held"] == PAID

    assert advance_to(scenario, T0 + 7 * DAY) == ["order.auto_cancelled"]
    fired = scenario.last[0]
    assert fired.occurred_at == fired.due_at == T0 + 7 * DAY
    assert fired.data["deadline"] == "ship_by"
    assert fired.data["rule"] == "order.processing_days_default=7"
    scenario.then(order="cancelled", parcel="not_shipped", dispute=None)


@pytest.mark.parametrize("days", [1, 3, 8])
def test_unshipped_order_is_cancelled_at_the_stated_processing_days(scenario, days):
    """A stated processing_days (1 … 8) sets ship_by = placed + N d, rule order.processing_days=N."""
    scenario.given(("order.placed", {"processing_days": days}))
    ship_by = deadline_json(scenario, "ship_by")
    assert ship_by is not None
    assert ship_by["rule"] == f"order.processing_days={days}"
    assert ship_by["due_at"] == parcelfsm.clock.format_time(T0 + days * DAY)

    assert advance_to(scenario, T0 + days * DAY - SECOND) == []
    scenario.then(order="awaiting_shipment")
    assert advance_to(scenario, T0 + days * DAY) == ["order.auto_cancelled"]
    scenario.then(order="cancelled")


@pytest.mark.parametrize("days", [9, 30, 0, -1])
def test_processing_days_outside_1_to_8_is_rejected(scenario, days):
    """processing_days must be 1 … order.processing_days_max (8); nothing is stored."""
    with pytest.raises(ValidationError, match="processing_days"):
        scenario.when("order.placed", {"processing_days": days})
    with pytest.raises(NotFound):
        scenario.orders.history("o-1")


def test_auto_cancel_refunds_everything_paid_even_with_a_coupon(scenario):
    """order.auto_cancelled refunds `paid` in full; nothing stays held or goes to the seller."""
    scenario.given(("order.placed", {"amount": 2099, "coupon_discount": 500}))
    advance_to(scenario, T0 + 7 * DAY)
    assert money(scenario) == {
        "currency": "USD",
        "paid": 2099,
        "held": 0,
        "released_to_seller": 0,
        "refunded_to_buyer": 2099,
    }
    assert scenario.view().to_json()["deadlines"] == []


# --- cancellation ----------------------------------------------------------------------------


@pytest.mark.parametrize("by", ["buyer", "seller"])
def test_buyer_or_seller_may_cancel_before_shipment_with_a_full_refund(scenario, by):
    """order.cancelled before shipment: cancelled, paid refunded in full, ship_by gone."""
    scenario.given("order.placed")
    scenario.clock.advance(days=2)
    scenario.when("order.cancelled", {"by": by})
    scenario.then(order="cancelled")
    assert money(scenario)["refunded_to_buyer"] == PAID
    assert money(scenario)["held"] == 0
    assert scenario.view().to_json()["deadlines"] == []
    assert advance_to(scenario, T0 + 30 * DAY) == []


@pytest.mark.parametrize("by", ["buyer", "seller"])
def test_cancellation_after_shipment_is_illegal(scenario, by):
    """Once shipped, order.cancelled is an IllegalTransition and nothing is appended."""
    shipped_at(scenario)
    with pytest.raises(IllegalTransition):
        scenario.when("order.cancelled", {"by": by})
    assert scenario.history_types() == ["order.placed", "order.shipped"]
    scenario.then(order="awaiting_delivery")


def test_cancelling_twice_is_illegal(scenario):
    """A cancelled order is final."""
    scenario.given("order.placed", "order.cancelled")
    with pytest.raises(IllegalTransition):
        scenario.when("order.cancelled", {"by": "seller"})


# --- buyer protection ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("country", "days", "rule"),
    [
        ("US", 60, "protection.days_default=60"),
        ("DE", 60, "protection.days_default=60"),
        ("RU", 90, "protection.days_by_country.RU=90"),
        ("BR", 120, "protection.days_by_country.BR=120"),
    ],
)
def test_shipment_starts_protection_by_destination_country(scenario, country, days, rule):
    """protection_ends = shipped + 60 d (90 RU, 120 BR), set by the shipment's version."""
    scenario.given(("order.placed", {"destination_country": country}))
    scenario.clock.advance(days=1)
    shipped = scenario.clock.now()
    scenario.when("order.shipped")
    assert deadline_json(scenario, "protection_ends") == {
        "order_id": "o-1",
        "kind": "protection_ends",
        "due_at": parcelfsm.clock.format_time(shipped + days * DAY),
        "rule": rule,
        "set_by_version": 2,
        "on_expiry": "order.auto_completed",
        "paused": False,
    }
    reminder = deadline_json(scenario, "protection_reminder")
    assert reminder is not None
    assert reminder["due_at"] == parcelfsm.clock.format_time(shipped + (days - 5) * DAY)
    assert reminder["rule"] == "protection.reminder_days=5"
    assert reminder["set_by_version"] == 2
    assert deadline_json(scenario, "ship_by") is None


@pytest.mark.parametrize(("country", "days"), [("US", 60), ("RU", 90), ("BR", 120)])
def test_protection_end_completes_the_order_and_releases_escrow(scenario, country, days):
    """At protection end with no dispute: order.auto_completed, finished, all paid to the seller."""
    scenario.given(("order.placed", {"destination_country": country}))
    scenario.clock.advance(days=1)
    shipped = scenario.clock.now()
    scenario.given("order.shipped", DELIVERED)

    assert "order.auto_completed" not in advance_to(scenario, shipped + days * DAY - SECOND)
    scenario.then(order="awaiting_delivery")
    assert money(scenario)["held"] == PAID

    assert advance_to(scenario, shipped + days * DAY) == ["order.auto_completed"]
    fired = scenario.last[0]
    assert fired.occurred_at == shipped + days * DAY
    assert fired.data["deadline"] == "protection_ends"
    scenario.then(order="finished")
    assert money(scenario) == {
        "currency": "USD",
        "paid": PAID,
        "held": 0,
        "released_to_seller": PAID,
        "refunded_to_buyer": 0,
    }


def test_protection_reminder_fires_5_days_before_the_end_when_not_delivered(scenario):
    """protection_ends − 5 d, parcel not delivered → alert.raised {kind: protection_ending}."""
    shipped = shipped_at(scenario, IN_TRANSIT)
    due = shipped + 55 * DAY
    advance_to(scenario, due - SECOND)
    assert "protection_ending" not in [e.data.get("kind") for e in scenario.orders.history("o-1")]
    assert "protection_ending" not in scenario.view().alerts

    assert advance_to(scenario, due) == ["alert.raised"]
    alert = scenario.last[0]
    assert alert.data == {
        "deadline": "protection_reminder",
        "rule": "protection.reminder_days=5",
        "kind": "protection_ending",
    }
    assert alert.occurred_at == due
    assert "protection_ending" in scenario.view().alerts
    scenario.then(order="awaiting_delivery")


def test_protection_reminder_does_not_fire_once_the_parcel_is_delivered(scenario):
    """A `delivered` scan before the reminder disarms it; no protection_ending alert."""
    shipped = shipped_at(scenario)
    scenario.clock.advance(days=20)
    scenario.when("parcel.scanned", {"status": "delivered"})
    assert deadline_json(scenario, "protection_reminder") is None
    advance_to(scenario, shipped + 55 * DAY)
    advance_to(scenario, shipped + 59 * DAY)
    kinds = [e.data.get("kind") for e in scenario.orders.history("o-1")]
    assert "protection_ending" not in kinds
    assert "protection_ending" not in scenario.view().alerts
    assert deadline_json(scenario, "protection_ends") is not None


def test_delivery_after_the_reminder_clears_the_protection_ending_alert(scenario):
    """`alerts` lists only alerts whose condition still holds: delivery clears protection_ending."""
    shipped = shipped_at(scenario, IN_TRANSIT)
    advance_to(scenario, shipped + 55 * DAY)
    assert "protection_ending" in scenario.view().alerts
    scenario.when("parcel.scanned", {"status": "delivered"})
    assert "protection_ending" not in scenario.view().alerts
    assert "alert.raised" in scenario.history_types()


def test_show_lists_deadlines_sorted_by_due_time_then_kind(scenario):
    """`deadlines` in show are sorted by (due_at, kind)."""
    shipped_at(scenario)
    listed = [(d["due_at"], d["kind"]) for d in scenario.view().to_json()["deadlines"]]
    assert listed == sorted(listed)
    assert len(listed) == 5


@pytest.mark.parametrize("by", ["buyer", "seller"])
def test_extension_moves_protection_end_and_reminder_by_n_days(scenario, by):
    """protection.extended N days: protection_ends and the reminder move by N d, set by the extension."""
    shipped = shipped_at(scenario, IN_TRANSIT)
    scenario.clock.advance(days=20)
    extension = scenario.when("protection.extended", {"days": 10, "by": by})[-1]
    ends = deadline_json(scenario, "protection_ends")
    reminder = deadline_json(scenario, "protection_reminder")
    assert ends is not None and reminder is not None
    assert ends["due_at"] == parcelfsm.clock.format_time(shipped + 70 * DAY)
    assert ends["set_by_version"] == extension.version == 4
    assert ends["rule"].startswith("protection.days_default=60")
    assert reminder["due_at"] == parcelfsm.clock.format_time(shipped + 65 * DAY)
    assert reminder["set_by_version"] == extension.version

    # the original end passes quietly
    assert "order.auto_completed" not in advance_to(scenario, shipped + 70 * DAY - SECOND)
    scenario.then(order="awaiting_delivery")
    assert advance_to(scenario, shipped + 70 * DAY) == ["order.auto_completed"]
    scenario.then(order="finished")


def test_extensions_add_up(scenario):
    """Two extensions of 10 and 5 days push protection end by 15 days."""
    shipped = shipped_at(scenario)
    scenario.given(("protection.extended", {"days": 10, "by": "buyer"}))
    scenario.given(("protection.extended", {"days": 5, "by": "seller"}))
    ends = deadline_json(scenario, "protection_ends")
    assert ends is not None
    assert ends["due_at"] == parcelfsm.clock.format_time(shipped + 75 * DAY)
    assert ends["set_by_version"] == 4


def test_extension_after_the_reminder_fired_arms_it_again(scenario):
    """An extension after the reminder moves the reminder to the new end − 5 d, where it fires again."""
    shipped = shipped_at(scenario, IN_TRANSIT)
    advance_to(scenario, shipped + 56 * DAY)
    assert "protection_ending" in scenario.view().alerts
    scenario.when("protection.extended", {"days": 10, "by": "seller"})
    assert "protection_ending" not in scenario.view().alerts
    assert advance_to(scenario, shipped + 65 * DAY - SECOND) == []
    assert advance_to(scenario, shipped + 65 * DAY) == ["alert.raised"]
    assert scenario.last[0].data["kind"] == "protection_ending"


def test_extension_of_zero_days_is_rejected(scenario):
    """`days` must be > 0."""
    shipped_at(scenario)
    with pytest.raises(ValidationError, match="days"):
        scenario.when("protection.extended", {"days": 0, "by": "buyer"})
    assert scenario.history_types() == ["order.placed", "order.shipped"]


def test_extension_on_an_unshipped_order_is_illegal(scenario):
    """Protection has not started before shipment; extending it is an IllegalTransition."""
    scenario.given("order.placed")
    with pytest.raises(IllegalTransition):
        scenario.when("protection.extended", {"days": 10, "by": "seller"})
    assert scenario.history_types() == ["order.placed"]


def test_extension_after_the_order_finished_is_illegal(scenario):
    """Protection over (order finished): an extension is an IllegalTransition."""
    scenario.given("order.placed", "order.shipped", "order.receipt_confirmed")
    with pytest.raises(IllegalTransition):
        scenario.when("protection.extended", {"days": 10, "by": "buyer"})


# --- receipt ---------------------------------------------------------------------------------


def test_confirming_receipt_finishes_the_order_and_releases_escrow(scenario):
    """order.receipt_confirmed: finished, all paid released to the seller, protection deadlines gone."""
    shipped_at(scenario)
    scenario.clock.advance(days=12)
    scenario.when("order.receipt_confirmed")
    scenario.then(order="finished")
    assert money(scenario) == {
        "currency": "USD",
        "paid": PAID,
        "held": 0,
        "released_to_seller": PAID,
        "refunded_to_buyer": 0,
    }
    kinds = {d["kind"] for d in scenario.view().to_json()["deadlines"]}
    assert "protection_ends" not in kinds
    assert "protection_reminder" not in kinds


def test_confirming_receipt_twice_is_illegal(scenario):
    """A second order.receipt_confirmed is an IllegalTransition."""
    scenario.given("order.placed", "order.shipped", "order.receipt_confirmed")
    with pytest.raises(IllegalTransition):
        scenario.when("order.receipt_confirmed")
    assert scenario.history_types() == ["order.placed", "order.shipped", "order.receipt_confirmed"]


def test_confirming_receipt_of_an_unshipped_order_is_illegal(scenario):
    """Nothing was shipped: order.receipt_confirmed is an IllegalTransition."""
    scenario.given("order.placed")
    with pytest.raises(IllegalTransition):
        scenario.when("order.receipt_confirmed")
    scenario.then(order="awaiting_shipment")


# --- dispute window --------------------------------------------------------------------------


def test_dispute_window_closes_15_days_after_protection_end(scenario):
    """dispute_window = protection end + 15 d; order.dispute_window_closed fires at the boundary."""
    shipped = shipped_at(scenario, DELIVERED)
    end = shipped + 60 * DAY
    advance_to(scenario, end)
    window = deadline_json(scenario, "dispute_window")
    assert window is not None
    assert window["due_at"] == parcelfsm.clock.format_time(end + 15 * DAY)
    assert window["rule"] == "dispute.window_days=15"
    assert window["on_expiry"] == "order.dispute_window_closed"
    auto_completed = scenario.orders.history("o-1")[-1]
    assert auto_completed.type == "order.auto_completed"
    assert window["set_by_version"] == auto_completed.version

    assert "order.dispute_window_closed" not in advance_to(scenario, end + 15 * DAY - SECOND)
    assert scenario.view().final is False
    assert advance_to(scenario, end + 15 * DAY) == ["order.dispute_window_closed"]
    scenario.then(order="finished")
    assert scenario.view().final is True
    assert deadline_json(scenario, "dispute_window") is None


def test_dispute_window_closes_15_days_after_confirmed_receipt(scenario):
    """dispute_window = receipt + 15 d, set by the confirmation."""
    shipped_at(scenario, DELIVERED)
    scenario.clock.advance(days=10)
    confirmed = scenario.clock.now()
    [receipt] = scenario.when("order.receipt_confirmed")
    window = deadline_json(scenario, "dispute_window")
    assert window is not None
    assert window["due_at"] == parcelfsm.clock.format_time(confirmed + 15 * DAY)
    assert window["set_by_version"] == receipt.version

    assert advance_to(scenario, confirmed + 15 * DAY - SECOND) == []
    assert advance_to(scenario, confirmed + 15 * DAY) == ["order.dispute_window_closed"]


def test_dispute_may_still_be_opened_one_second_before_the_window_closes(scenario):
    """Inside the window a finished order accepts dispute.opened (and freezes)."""
    shipped_at(scenario, DELIVERED)
    confirmed = scenario.clock.advance(days=10)
    scenario.when("order.receipt_confirmed")
    advance_to(scenario, confirmed + 15 * DAY - SECOND)
    scenario.when("dispute.opened", {"reason": "not_as_described", "goods_received": True})
    scenario.then(order="frozen", dispute="awaiting_seller")
    money(scenario)


def test_after_the_dispute_window_a_dispute_is_window_closed_and_a_complaint_is_accepted(scenario):
    """Window closed: dispute.opened → WindowClosed; complaint.filed is accepted and moves no money."""
    shipped_at(scenario, DELIVERED)
    confirmed = scenario.clock.advance(days=10)
    scenario.when("order.receipt_confirmed")
    advance_to(scenario, confirmed + 15 * DAY)
    with pytest.raises(WindowClosed):
        scenario.when("dispute.opened")
    before = money(scenario)
    scenario.when("complaint.filed")
    assert scenario.history_types()[-1] == "complaint.filed"
    assert money(scenario) == before
    scenario.then(order="finished", dispute=None)


def test_dispute_after_the_window_without_a_tick_is_judged_on_the_caught_up_state(scenario):
    """No tick ran: catch-up closes the window first, so dispute.opened is WindowClosed, nothing stored."""
    shipped_at(scenario, DELIVERED)
    confirmed = scenario.clock.advance(days=10)
    scenario.when("order.receipt_confirmed")
    scenario.clock.set(confirmed + 16 * DAY)
    with pytest.raises(WindowClosed):
        scenario.when("dispute.opened")
    assert scenario.history_types()[-1] == "order.receipt_confirmed"
    assert scenario.types(scenario.orders.tick()) == ["order.dispute_window_closed"]


@pytest.mark.parametrize("stage", ["awaiting_shipment", "awaiting_delivery", "finished_in_window"])
def test_complaint_is_illegal_while_a_dispute_can_still_be_opened(scenario, stage):
    """complaint.filed is only for when no dispute can be opened any more."""
    scenario.given("order.placed")
    if stage != "awaiting_shipment":
        scenario.given("order.shipped")
    if stage == "finished_in_window":
        scenario.given("order.receipt_confirmed")
    with pytest.raises(IllegalTransition):
        scenario.when("complaint.filed")


# --- catch-up --------------------------------------------------------------------------------


def test_shipping_after_ship_by_finds_the_order_cancelled_and_stores_nothing(scenario):
    """order.shipped on day 8 of a 7-day order: catch-up cancels first → IllegalTransition, db unchanged."""
    scenario.given("order.placed")
    scenario.clock.set(T0 + 8 * DAY)
    with pytest.raises(IllegalTransition):
        scenario.when("order.shipped")
    assert scenario.history_types() == ["order.placed"]
    # the overdue event is written by the next tick, at its own due time
    fired = scenario.orders.tick()
    assert scenario.types(fired) == ["order.auto_cancelled"]
    assert fired[0].occurred_at == T0 + 7 * DAY
    assert fired[0].recorded_at == T0 + 8 * DAY
    scenario.then(order="cancelled")


def test_shipping_exactly_at_ship_by_is_too_late(scenario):
    """A deadline is due when the clock is ≥ due_at: shipping at the due instant finds it cancelled."""
    scenario.given("order.placed")
    scenario.clock.set(T0 + 7 * DAY)
    with pytest.raises(IllegalTransition):
        scenario.when("order.shipped")


def test_shipping_one_second_before_ship_by_is_in_time(scenario):
    """One second before ship_by the shipment is accepted and ship_by disarmed."""
    scenario.given("order.placed")
    scenario.clock.set(T0 + 7 * DAY - SECOND)
    scenario.when("order.shipped")
    assert advance_to(scenario, T0 + 8 * DAY) == []
    scenario.then(order="awaiting_delivery")


def test_command_after_a_due_time_first_appends_the_overdue_timed_event(scenario):
    """A scan on day 11 with no tick since shipment appends the first_info alert first, then the scan."""
    shipped = shipped_at(scenario)
    scenario.clock.set(shipped + 11 * DAY)
    events = scenario.when("parcel.scanned", {"status": "in_transit"})
    assert [e.type for e in events] == ["alert.raised", "parcel.scanned"]
    alert, scan = events
    assert alert.data["kind"] == "no_first_info"
    assert alert.occurred_at == alert.due_at == shipped + 10 * DAY
    assert alert.recorded_at == scan.recorded_at == shipped + 11 * DAY
    assert [e.version for e in events] == [3, 4]
    assert scenario.orders.tick() == []


def test_backdated_shipment_before_ship_by_is_accepted_even_when_recorded_after_it(scenario):
    """Catch-up fires only deadlines due ≤ the command's occurred_at: shipped at day 6, recorded day 8."""
    scenario.given("order.placed")
    scenario.clock.set(T0 + 8 * DAY)
    [shipped] = scenario.when("order.shipped", at=T0 + 6 * DAY)
    assert shipped.occurred_at == T0 + 6 * DAY
    assert shipped.recorded_at == T0 + 8 * DAY
    assert scenario.orders.tick() == []
    scenario.then(order="awaiting_delivery")


# --- firing order ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "day", "expected"),
    [
        # protection_ends (row 2) before first_info (row 5)
        (
            {"protection.days_default": 10, "protection.reminder_days": 0},
            10,
            [("order.auto_completed", None), ("alert.raised", "no_first_info")],
        ),
        # first_info (row 5) before no_news (row 6)
        (
            {"parcel.first_info_days": 15},
            15,
            [("alert.raised", "no_first_info"), ("alert.raised", "no_news")],
        ),
        # protection_reminder (row 3) before presumed_lost (row 7)
        (
            {"protection.days_default": 35},
            30,
            [("alert.raised", "protection_ending"), ("parcel.presumed_lost", None)],
        ),
    ],
)
def test_equal_due_times_fire_in_deadline_table_order(overrides, day, expected):
    """Deadlines due at the same instant fire in the row order of docs/events.md's table."""
    s = Scenario(policy=Policy.from_dict(overrides))
    try:
        shipped = shipped_at(s)
        advance_to(s, shipped + day * DAY - SECOND)
        fired = s.orders.advance(shipped + day * DAY)
        assert [(e.type, e.data.get("kind")) for e in fired] == expected
        assert [e.version for e in fired] == sorted(e.version for e in fired)
        assert all(e.occurred_at == shipped + day * DAY for e in fired)
    finally:
        s.close()


def test_protection_end_drops_a_reminder_due_at_the_same_instant():
    """reminder_days=0: both due together; protection_ends fires first and the reminder no longer holds."""
    s = Scenario(policy=Policy.from_dict({"protection.reminder_days": 0}))
    try:
        shipped = shipped_at(s, IN_TRANSIT)
        assert "order.auto_completed" not in advance_to(s, shipped + 60 * DAY - SECOND)
        assert advance_to(s, shipped + 60 * DAY) == ["order.auto_completed"]
        assert "protection_ending" not in [e.data.get("kind") for e in s.orders.history("o-1")]
    finally:
        s.close()


def test_a_long_tick_fires_everything_in_due_order(scenario):
    """One tick across the whole protection period fires each deadline once, in due order."""
    shipped = shipped_at(scenario)
    fired = scenario.orders.advance(shipped + 76 * DAY)
    assert [(e.type, e.data.get("kind")) for e in fired] == [
        ("alert.raised", "no_first_info"),
        ("alert.raised", "no_news"),
        ("parcel.presumed_lost", None),
        ("alert.raised", "protection_ending"),
        ("order.auto_completed", None),
        ("order.dispute_window_closed", None),
    ]
    assert [e.occurred_at for e in fired] == sorted(e.occurred_at for e in fired)
    assert all(e.recorded_at == shipped + 76 * DAY for e in fired)
    assert scenario.orders.advance(shipped + 76 * DAY) == []


# --- ordering of `at` ------------------------------------------------------------------------


def test_command_earlier_than_the_streams_last_event_is_out_of_order(scenario):
    """occurred_at < the last event's → OutOfOrder; nothing appended."""
    shipped = shipped_at(scenario, after=2 * DAY)
    scenario.clock.advance(days=3)
    with pytest.raises(OutOfOrder):
        scenario.when("order.receipt_confirmed", at=shipped - SECOND)
    assert scenario.history_types() == ["order.placed", "order.shipped"]


def test_command_at_the_same_instant_as_the_last_event_is_accepted(scenario):
    """Equal occurred_at is allowed."""
    shipped = shipped_at(scenario, after=2 * DAY)
    scenario.clock.advance(days=3)
    [event] = scenario.when("order.receipt_confirmed", at=shipped)
    assert event.occurred_at == shipped


def test_command_earlier_than_a_fired_timed_event_is_out_of_order(scenario):
    """Timed events count as the stream's last event too."""
    shipped = shipped_at(scenario)
    advance_to(scenario, shipped + 10 * DAY)
    with pytest.raises(OutOfOrder):
        scenario.when("protection.extended", at=shipped + 9 * DAY)


def test_command_later_than_now_is_out_of_order(scenario):
    """occurred_at > now → OutOfOrder."""
    scenario.given("order.placed")
    with pytest.raises(OutOfOrder):
        scenario.when("order.shipped", at=T0 + SECOND)
    assert scenario.history_types() == ["order.placed"]


def test_placing_an_order_in_the_future_is_out_of_order(scenario):
    """Even the first event may not be later than now."""
    with pytest.raises(OutOfOrder):
        scenario.when("order.placed", at=T0 + DAY)
    with pytest.raises(NotFound):
        scenario.orders.history("o-1")


def test_unknown_order_is_not_found(scenario):
    """record (other than order.placed), show and history of an unknown order → NotFound."""
    with pytest.raises(NotFound):
        scenario.when("order.shipped")
    with pytest.raises(NotFound):
        scenario.orders.show("o-1")
    with pytest.raises(NotFound):
        scenario.orders.history("o-1")


def test_placing_an_existing_order_again_is_illegal(scenario):
    """One stream per order: a second order.placed is an IllegalTransition."""
    scenario.given("order.placed")
    with pytest.raises(IllegalTransition):
        scenario.when("order.placed")
    assert scenario.history_types() == ["order.placed"]


@pytest.mark.parametrize("order_id", ["", "o 1", "o/1", "x" * 129, "заказ"])
def test_malformed_order_id_is_a_validation_error(scenario, order_id):
    """Order ids are 1-128 chars of [A-Za-z0-9._:-]."""
    with pytest.raises(ValidationError, match="order"):
        scenario.orders.record(order_id, "order.placed", DEFAULTS["order.placed"])


def test_naive_datetime_for_at_is_a_validation_error(scenario):
    """`at` must carry a timezone; a naive datetime is a ValidationError for record and show."""
    scenario.given("order.placed")
    naive = dt.datetime(2026, 3, 1, 10, 0)
    with pytest.raises(ValidationError, match="at"):
        scenario.when("order.shipped", at=naive)
    with pytest.raises(ValidationError, match="at"):
        scenario.orders.show("o-1", at=naive)
    assert scenario.history_types() == ["order.placed"]


def test_at_given_as_an_iso_string_with_offset_is_accepted(scenario):
    """`at` may be an ISO string with an offset; it is stored in UTC."""
    scenario.given("order.placed")
    scenario.clock.advance(days=1)
    [event] = scenario.when("order.shipped", at="2026-03-01T14:00:00+02:00")
    assert event.occurred_at == T0 + dt.timedelta(hours=2)


# --- reading at an instant -------------------------------------------------------------------


def test_show_at_an_earlier_instant_shows_the_earlier_state(scenario):
    """show(at=T) folds only the events that had occurred by T."""
    scenario.given("order.placed")
    scenario.clock.advance(days=1)
    scenario.given("order.shipped")
    scenario.clock.advance(days=2)
    scenario.given("order.receipt_confirmed")
    scenario.then(order="finished")

    before_ship = scenario.view(T0 + dt.timedelta(hours=12)).to_json()
    assert before_ship["states"]["order"] == "awaiting_shipment"
    assert before_ship["as_of"] == "2026-03-01T22:00:00Z"
    between = scenario.view(T0 + 2 * DAY)
    assert between.states["order"] == "awaiting_delivery"
    assert between.money.held == PAID
    assert money(scenario, T0 + 2 * DAY)["released_to_seller"] == 0
    assert scenario.view(T0 + 3 * DAY).states["order"] == "finished"


def test_show_applies_due_deadlines_no_tick_wrote_and_lists_them_unfired(scenario):
    """A deadline due by T but not yet written is applied virtually and listed under `unfired`."""
    scenario.given("order.placed")
    scenario.clock.set(T0 + 8 * DAY)
    view = scenario.view().to_json()
    assert view["states"]["order"] == "cancelled"
    assert view["money"]["refunded_to_buyer"] == PAID
    assert view["version"] == 1
    assert view["unfired"] == [
        {
            "type": "order.auto_cancelled",
            "deadline": "ship_by",
            "due_at": "2026-03-08T10:00:00Z",
            "rule": "order.processing_days_default=7",
        }
    ]
    assert scenario.history_types() == ["order.placed"]
    scenario.orders.tick()
    assert scenario.view().to_json()["unfired"] == []


def test_show_at_an_earlier_instant_lists_deadlines_due_by_then_as_unfired(scenario):
    """show(at=T) after T has passed, no tick: the deadline due by T is unfired; one after T is not."""
    scenario.given("order.placed")
    scenario.clock.set(T0 + 20 * DAY)
    early = scenario.view(T0 + 7 * DAY - SECOND).to_json()
    assert early["unfired"] == []
    assert early["states"]["order"] == "awaiting_shipment"
    late = scenario.view(T0 + 7 * DAY).to_json()
    assert [u["type"] for u in late["unfired"]] == ["order.auto_cancelled"]
    assert late["states"]["order"] == "cancelled"


def test_deadline_set_by_an_unfired_event_has_null_set_by_version(scenario):
    """The dispute window set by a virtual auto-completion shows set_by_version null."""
    shipped = shipped_at(scenario, DELIVERED)
    scenario.clock.set(shipped + 61 * DAY)
    view = scenario.view().to_json()
    assert view["states"]["order"] == "finished"
    assert "order.auto_completed" in [u["type"] for u in view["unfired"]]
    window = next(d for d in view["deadlines"] if d["kind"] == "dispute_window")
    assert window["set_by_version"] is None
    assert window["due_at"] == parcelfsm.clock.format_time(shipped + 75 * DAY)
    assert view["version"] == 3
    # once a tick writes it, the deadline points at the stored event
    scenario.orders.tick()
    window = deadline_json(scenario, "dispute_window")
    assert window is not None
    assert window["set_by_version"] == 4


def test_show_as_recorded_shows_only_what_was_written_by_t(scenario):
    """as_recorded folds stored events with recorded_at ≤ T and applies nothing virtually."""
    scenario.given("order.placed")
    scenario.clock.set(T0 + 10 * DAY)
    scenario.orders.tick()  # auto_cancelled: occurred day 7, recorded day 10

    world = scenario.orders.show("o-1", at=T0 + 8 * DAY).to_json()
    assert world["states"]["order"] == "cancelled"
    assert world["unfired"] == []

    audit = scenario.orders.show("o-1", at=T0 + 8 * DAY, as_recorded=True).to_json()
    assert audit["states"]["order"] == "awaiting_shipment"
    assert audit["unfired"] == []
    assert audit["version"] == 1
    assert audit["money"]["held"] == PAID

    after = scenario.orders.show("o-1", at=T0 + 10 * DAY, as_recorded=True).to_json()
    assert after["states"]["order"] == "cancelled"


def test_show_as_recorded_ignores_a_backdated_command_recorded_later(scenario):
    """A shipment recorded on day 5 with at=day 2 is in the world view of day 3, not the audit view."""
    scenario.given("order.placed")
    scenario.clock.set(T0 + 5 * DAY)
    scenario.when("order.shipped", at=T0 + 2 * DAY)
    assert scenario.orders.show("o-1", at=T0 + 3 * DAY).states["order"] == "awaiting_delivery"
    assert scenario.orders.show("o-1", at=T0 + 3 * DAY, as_recorded=True).states["order"] == (
        "awaiting_shipment"
    )


def test_show_before_the_order_existed_is_not_found(scenario):
    """An instant before order.placed has no order."""
    scenario.clock.advance(days=1)
    scenario.given("order.placed")
    with pytest.raises(NotFound):
        scenario.orders.show("o-1", at=T0)


# --- the money invariant ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "steps",
    [
        ["order.cancelled"],
        [7],
        ["order.shipped", ("protection.extended", {"days": 3, "by": "buyer"}), 70, 20],
        ["order.shipped", 30, "order.receipt_confirmed", 16, "complaint.filed"],
        [
            "order.shipped",
            5,
            "dispute.opened",
            2,
            ("dispute.offer_made", {"by": "seller", "amount": 1000}),
            "dispute.offer_accepted",
        ],
        ["order.shipped", "order.receipt_confirmed", 3, "dispute.opened", 6],
    ],
    ids=["cancel", "auto-cancel", "auto-complete", "receipt", "agreement", "seller-timeout-clawback"],
)
def test_paid_equals_held_plus_released_plus_refunded_after_every_step(scenario, steps):
    """The escrow identity holds after every command and every tick (with a coupon in play)."""
    scenario.given(("order.placed", {"amount": 2099, "coupon_discount": 500}))
    money(scenario)
    for step in steps:
        if isinstance(step, int):
            scenario.advance(days=step)
        else:
            scenario.given(step)
        m = money(scenario)
        assert m["paid"] == 2099
        assert min(m["held"], m["released_to_seller"], m["refunded_to_buyer"]) >= 0
    for event in scenario.orders.history("o-1"):  # and at every past instant
        money(scenario, event.occurred_at)


# --- SystemClock under freezegun -------------------------------------------------------------


def test_ship_by_fires_at_its_boundary_on_a_frozen_system_clock():
    """freezegun drives SystemClock: nothing at placed + 7 d − 1 s, auto-cancel at placed + 7 d."""
    with (
        freeze_time("2026-03-01T10:00:00Z") as frozen,
        parcelfsm.open(":memory:", clock=SystemClock()) as orders,
    ):
        [placed] = orders.record("o-1", "order.placed", DEFAULTS["order.placed"])
        assert placed.recorded_at == T0
        frozen.tick(dt.timedelta(days=7) - dt.timedelta(seconds=1))
        assert orders.tick() == []
        assert orders.show("o-1").states["order"] == "awaiting_shipment"
        frozen.tick(dt.timedelta(seconds=1))
        fired = orders.tick()
        assert [e.type for e in fired] == ["order.auto_cancelled"]
        assert fired[0].recorded_at == T0 + 7 * DAY
        view = orders.show("o-1")
        assert view.states["order"] == "cancelled"
        assert view.money.refunded_to_buyer == PAID


def test_dispute_window_closes_at_its_boundary_on_a_frozen_system_clock():
    """freezegun move_to: dispute still possible at receipt + 15 d − 1 s, WindowClosed at receipt + 15 d."""
    with (
        freeze_time("2026-03-01T10:00:00Z") as frozen,
        parcelfsm.open(":memory:", clock=SystemClock()) as orders,
    ):
        orders.record("o-1", "order.placed", DEFAULTS["order.placed"])
        frozen.move_to("2026-03-02T10:00:00Z")
        orders.record("o-1", "order.shipped", DEFAULTS["order.shipped"])
        orders.record("o-1", "parcel.scanned", {"status": "delivered"})
        frozen.move_to("2026-03-10T10:00:00Z")
        orders.record("o-1", "order.receipt_confirmed")
        frozen.move_to("2026-03-25T09:59:59Z")
        assert orders.tick() == []
        assert orders.show("o-1").to_json()["deadlines"][0]["kind"] == "dispute_window"
        frozen.move_to("2026-03-25T10:00:00Z")
        with pytest.raises(WindowClosed):
            orders.record("o-1", "dispute.opened", DEFAULTS["dispute.opened"])
        assert [e.type for e in orders.tick()] == ["order.dispute_window_closed"]
        orders.record("o-1", "complaint.filed", DEFAULTS["complaint.filed"])
        assert orders.history("o-1")[-1].recorded_at == dt.datetime(2026, 3, 25, 10, tzinfo=UTC)


def test_manual_clock_and_open_accept_a_file_database(tmp_path):
    """parcelfsm.open on a file with a ManualClock persists across reopen."""
    path = str(tmp_path / "orders.db")
    clock = ManualClock(T0)
    with parcelfsm.open(path, clock=clock) as orders:
        orders.record("o-1", "order.placed", DEFAULTS["order.placed"])
    clock.set(T0 + 7 * DAY)
    with parcelfsm.open(path, clock=clock) as orders:
        assert [e.type for e in orders.tick()] == ["order.auto_cancelled"]
        assert orders.show("o-1").states["order"] == "cancelled"
