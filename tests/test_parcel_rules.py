"""The parcel lifecycle and its deadlines, rule by rule (docs/events.md, §4 "Parcel"; docs/rules.md).

Every test runs on the scenario's manual clock. The order is placed and shipped at
`T0` (2026-03-01T10:00Z) to the US (60 days of buyer protection); deadlines are checked
at their boundary: one second before the due time nothing fires, at the due time it does.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest

from parcelfsm.errors import IllegalTransition, ValidationError
from parcelfsm.records import StoredEvent
from parcelfsm.testing import Scenario

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
PAID = 2599


def day(n: float) -> dt.datetime:
    """The instant `n` days after T0."""
    return T0 + dt.timedelta(days=n)


def ship(scenario: Scenario, **placed: Any) -> None:
    """Place the order (with `placed` overrides) and ship it, both at T0."""
    scenario.given(("order.placed", placed), "order.shipped")


def scan(scenario: Scenario, status: str, at: dt.datetime, **extra: Any) -> list[StoredEvent]:
    """Record a scan with carrier time `at`, moving the clock up to `at` first if needed."""
    if scenario.clock.now() < at:
        scenario.clock.set(at)
    return scenario.when("parcel.scanned", {"status": status, **extra}, at=at)


def scan_text(scenario: Scenario, text: str, at: dt.datetime) -> list[StoredEvent]:
    """Record a scan given as raw carrier text."""
    if scenario.clock.now() < at:
        scenario.clock.set(at)
    return scenario.when("parcel.scanned", {"text": text}, at=at)


def due(scenario: Scenario, kind: str) -> dt.datetime | None:
    """The due time of the open deadline `kind`, or None when it is not open."""
    deadline = scenario.deadline(kind)
    return None if deadline is None else deadline.due_at


def tick_at(scenario: Scenario, when: dt.datetime) -> list[StoredEvent]:
    """Set the clock to `when` and tick; returns what fired."""
    scenario.clock.set(when)
    return scenario.orders.tick()


def matching(
    events: Sequence[StoredEvent], type_name: str, due_at: dt.datetime, alert: str | None
) -> list[StoredEvent]:
    """The fired events of one deadline: its expiry type, due time and alert kind."""
    return [
        e
        for e in events
        if e.type == type_name and e.due_at == due_at and (alert is None or e.data.get("kind") == alert)
    ]


def assert_fires_at(
    scenario: Scenario, kind: str, due_at: dt.datetime, expiry: str, alert: str | None = None
) -> StoredEvent:
    """`kind` is open with `due_at`; it has not fired 1 s before and fires at `due_at`."""
    assert due(scenario, kind) == due_at
    early = tick_at(scenario, due_at - SECOND)
    assert matching(early, expiry, due_at, alert) == []
    assert due(scenario, kind) == due_at
    fired = matching(tick_at(scenario, due_at), expiry, due_at, alert)
    assert len(fired) == 1, f"{kind} did not fire at {due_at}"
    assert fired[0].occurred_at == due_at
    assert scenario.deadline(kind) is None or due(scenario, kind) != due_at
    return fired[0]


def history_length(scenario: Scenario) -> int:
    """How many events the order's stream holds."""
    return len(scenario.orders.history(scenario.order_id))


def advice_text(scenario: Scenario) -> str:
    """Every advice line of `show`, joined."""
    return " | ".join(a["text"] for a in scenario.view().to_json()["advice"])


# --- states ------------------------------------------------------------------------------


def test_shipment_moves_parcel_from_not_shipped_to_shipped(scenario: Scenario) -> None:
    """order.shipped takes the parcel from not_shipped to shipped."""
    scenario.given("order.placed")
    scenario.then(parcel="not_shipped")
    scenario.when("order.shipped")
    scenario.then(order="awaiting_delivery", parcel="shipped")


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("info_received", "shipped"),
        ("in_transit", "in_transit"),
        ("arrived_at_customs", "at_customs"),
        ("customs_held", "held_at_customs"),
        ("customs_cleared", "in_transit"),
        ("customs_failed", "returning"),
        ("seized", "seized"),
        ("at_pickup_point", "at_pickup_point"),
        ("out_for_delivery", "out_for_delivery"),
        ("attempt_failed", "in_transit"),
        ("delivered", "delivered"),
        ("returning", "returning"),
        ("returned", "returned"),
        ("delivery_canceled", "in_transit"),
        ("unknown", "in_transit"),
        ("no_info", "in_transit"),
    ],
)
def test_each_scan_status_leads_to_its_parcel_state(scenario: Scenario, status: str, state: str) -> None:
    """A scan on a parcel in transit moves it to the state of its status (docs/events.md table)."""
    ship(scenario)
    scan(scenario, "in_transit", day(1))
    scan(scenario, status, day(2))
    scenario.then(parcel=state)


def test_customs_path_in_and_out_of_customs(scenario: Scenario) -> None:
    """in_transit ⇄ at_customs → held_at_customs → cleared back to in_transit."""
    ship(scenario)
    steps = [
        ("in_transit", "in_transit"),
        ("arrived_at_customs", "at_customs"),
        ("customs_cleared", "in_transit"),
        ("arrived_at_customs", "at_customs"),
        ("customs_held", "held_at_customs"),
        ("customs_cleared", "in_transit"),
        ("at_pickup_point", "at_pickup_point"),
        ("delivered", "delivered"),
    ]
    for n, (status, state) in enumerate(steps, start=1):
        scan(scenario, status, day(n))
        scenario.then(parcel=state)


def test_failed_customs_clearance_goes_back_to_the_sender(scenario: Scenario) -> None:
    """customs_failed → returning, then returned is final."""
    ship(scenario)
    scan(scenario, "arrived_at_customs", day(1))
    scan(scenario, "customs_failed", day(2))
    scenario.then(parcel="returning")
    scan(scenario, "returned", day(3))
    scenario.then(parcel="returned")
    with pytest.raises(IllegalTransition):
        scan(scenario, "in_transit", day(4))


def test_customs_can_seize_a_held_parcel(scenario: Scenario) -> None:
    """seized from held_at_customs is final."""
    ship(scenario)
    scan(scenario, "customs_held", day(1))
    scan(scenario, "seized", day(2))
    scenario.then(parcel="seized")
    with pytest.raises(IllegalTransition):
        scan(scenario, "customs_cleared", day(3))


def test_scan_accepts_raw_text_and_stores_its_normalized_status(scenario: Scenario) -> None:
    """parcel.scanned with `text` only is normalized by the library ("Clearing Customs")."""
    ship(scenario)
    events = scan_text(scenario, "Clearing Customs", day(1))
    scenario.then(parcel="at_customs")
    assert events[-1].data["status"] == "arrived_at_customs"
    assert events[-1].data["text"] == "Clearing Customs"


def test_repeated_final_scan_is_recorded_without_change(scenario: Scenario) -> None:
    """A scan whose state equals the current (final) one is accepted and changes nothing."""
    ship(scenario)
    scan(scenario, "delivered", day(1))
    before = history_length(scenario)
    scan(scenario, "delivered", day(2))
    scenario.then(parcel="delivered")
    assert history_length(scenario) == before + 1


# --- illegal scans -----------------------------------------------------------------------


def test_scan_on_a_not_shipped_order_is_rejected_and_nothing_appended(scenario: Scenario) -> None:
    """parcel.scanned before order.shipped is IllegalTransition; the stream is unchanged."""
    scenario.given("order.placed")
    before = history_length(scenario)
    with pytest.raises(IllegalTransition):
        scan(scenario, "in_transit", day(1))
    assert history_length(scenario) == before
    scenario.then(parcel="not_shipped")


def test_in_transit_scan_on_a_delivered_parcel_is_illegal(scenario: Scenario) -> None:
    """delivered is final: a later in_transit scan is IllegalTransition, nothing appended."""
    ship(scenario)
    scan(scenario, "delivered", day(1))
    before = history_length(scenario)
    with pytest.raises(IllegalTransition):
        scan(scenario, "in_transit", day(2))
    assert history_length(scenario) == before
    scenario.then(parcel="delivered")


def test_delivered_parcel_cannot_be_seized(scenario: Scenario) -> None:
    """A seized scan on a delivered parcel is IllegalTransition, nothing appended."""
    ship(scenario)
    scan(scenario, "delivered", day(1))
    before = history_length(scenario)
    with pytest.raises(IllegalTransition):
        scan(scenario, "seized", day(2))
    assert history_length(scenario) == before
    scenario.then(parcel="delivered")


def test_rejected_scan_also_rolls_back_its_catch_up(scenario: Scenario) -> None:
    """An illegal scan after protection ended appends nothing, not even the overdue auto-completion."""
    ship(scenario)
    scan(scenario, "delivered", day(1))
    before = history_length(scenario)
    scenario.clock.set(day(65))
    with pytest.raises(IllegalTransition):
        scan(scenario, "seized", day(65))
    assert history_length(scenario) == before
    assert scenario.types(scenario.orders.tick()) == ["order.auto_completed"]


# --- deadlines at their boundary ---------------------------------------------------------


def test_no_scan_10_days_after_shipment_raises_no_first_info(scenario: Scenario) -> None:
    """first_info: tracked, no scan → alert no_first_info at shipment + 10 d, not 1 s before."""
    ship(scenario)
    event = assert_fires_at(scenario, "first_info", day(10), "alert.raised", "no_first_info")
    assert event.data["kind"] == "no_first_info"
    assert "no_first_info" in scenario.view().to_json()["alerts"]


def test_no_scan_15_days_after_shipment_raises_no_news(scenario: Scenario) -> None:
    """no_news: tracked, no scan → alert no_news at shipment + 15 d, not 1 s before."""
    ship(scenario)
    assert_fires_at(scenario, "no_news", day(15), "alert.raised", "no_news")
    assert "no_news" in scenario.view().to_json()["alerts"]


def test_tracked_parcel_silent_30_days_after_last_scan_is_presumed_lost(scenario: Scenario) -> None:
    """presumed_lost (tracked): latest scan + 30 d → parcel.presumed_lost, parcel lost."""
    ship(scenario)
    scan(scenario, "in_transit", day(3))
    assert_fires_at(scenario, "presumed_lost", day(33), "parcel.presumed_lost")
    scenario.then(parcel="lost")


def test_tracked_parcel_never_scanned_is_presumed_lost_30_days_after_shipment(scenario: Scenario) -> None:
    """presumed_lost (tracked, no scan yet): shipment + 30 d."""
    ship(scenario)
    assert_fires_at(scenario, "presumed_lost", day(30), "parcel.presumed_lost")
    scenario.then(parcel="lost")


def test_untracked_parcel_is_presumed_lost_90_days_after_shipment(scenario: Scenario) -> None:
    """presumed_lost (untracked): shipment + 90 d, not 30 d."""
    ship(scenario, tracked=False)
    assert_fires_at(scenario, "presumed_lost", day(90), "parcel.presumed_lost")
    scenario.then(parcel="lost")


def test_customs_without_update_for_5_days_raises_customs_stalled(scenario: Scenario) -> None:
    """customs_stall: latest scan at customs + 5 d → alert customs_stalled."""
    ship(scenario)
    scan(scenario, "arrived_at_customs", day(2))
    assert_fires_at(scenario, "customs_stall", day(7), "alert.raised", "customs_stalled")
    assert "customs_stalled" in scenario.view().to_json()["alerts"]
    scenario.then(parcel="at_customs")


def test_parcel_left_30_days_at_pickup_point_starts_its_return(scenario: Scenario) -> None:
    """pickup_expires: first at_pickup_point scan + 30 d → parcel.return_started, returning."""
    ship(scenario)
    scan(scenario, "at_pickup_point", day(5))
    assert_fires_at(scenario, "pickup_expires", day(35), "parcel.return_started")
    scenario.then(parcel="returning")


def test_return_started_restarts_presumed_lost_from_its_own_time(scenario: Scenario) -> None:
    """After parcel.return_started, presumed_lost counts 30 d from the return."""
    ship(scenario)
    scan(scenario, "at_pickup_point", day(5))
    assert due(scenario, "presumed_lost") is None  # not armed at a pickup point
    tick_at(scenario, day(35))
    assert due(scenario, "presumed_lost") == day(65)


@pytest.mark.parametrize(
    ("status", "armed"),
    [
        ("info_received", True),
        ("in_transit", True),
        ("arrived_at_customs", False),
        ("customs_held", False),
        ("out_for_delivery", True),
        ("returning", True),
        ("at_pickup_point", False),
        ("delivered", False),
        ("returned", False),
        ("seized", False),
    ],
)
def test_presumed_lost_is_armed_only_while_the_parcel_moves(
    scenario: Scenario, status: str, armed: bool
) -> None:
    """presumed_lost is open in shipped, in_transit, out_for_delivery, returning.

    Never at customs, at a pickup point or in a final state.
    """
    ship(scenario)
    scan(scenario, status, day(2))
    assert due(scenario, "presumed_lost") == (day(32) if armed else None)


def test_overdue_first_info_fires_before_a_later_scan_is_applied(scenario: Scenario) -> None:
    """Catch-up: a scan on day 12 finds the day-10 no_first_info alert written first."""
    ship(scenario)
    events = scan(scenario, "in_transit", day(12))
    assert [(e.type, e.due_at) for e in events] == [("alert.raised", day(10)), ("parcel.scanned", None)]
    assert events[0].data["kind"] == "no_first_info"
    assert "no_first_info" not in scenario.view().to_json()["alerts"]


def test_late_reported_scan_before_first_info_due_prevents_the_alert(scenario: Scenario) -> None:
    """A scan reported on day 12 with carrier time day 5 was first info: no no_first_info alert."""
    ship(scenario)
    scenario.clock.set(day(12))
    events = scan(scenario, "in_transit", day(5))
    assert scenario.types(events) == ["parcel.scanned"]
    assert due(scenario, "first_info") is None
    assert due(scenario, "presumed_lost") == day(35)
    assert [e for e in scenario.orders.tick() if e.type == "alert.raised"] == []


# --- which scans restart which deadlines -------------------------------------------------


def test_first_scan_ends_first_info_and_no_news_and_restarts_presumed_lost_only(
    scenario: Scenario,
) -> None:
    """A scan disarms first_info/no_news, moves presumed_lost; protection deadlines stay put."""
    ship(scenario)
    ends, reminder = due(scenario, "protection_ends"), due(scenario, "protection_reminder")
    assert due(scenario, "first_info") == day(10)
    assert due(scenario, "no_news") == day(15)
    assert due(scenario, "presumed_lost") == day(30)
    scan(scenario, "in_transit", day(4))
    assert due(scenario, "first_info") is None
    assert due(scenario, "no_news") is None
    assert due(scenario, "presumed_lost") == day(34)
    assert due(scenario, "protection_ends") == ends == day(60)
    assert due(scenario, "protection_reminder") == reminder == day(55)
    assert tick_at(scenario, day(10)) == []


def test_each_new_scan_restarts_presumed_lost(scenario: Scenario) -> None:
    """Every scan (except no_info) restarts presumed_lost from its carrier time."""
    ship(scenario)
    scan(scenario, "info_received", day(1))
    assert due(scenario, "presumed_lost") == day(31)
    scan(scenario, "in_transit", day(20))
    assert due(scenario, "presumed_lost") == day(50)
    scan(scenario, "in_transit", day(45))
    assert_fires_at(scenario, "presumed_lost", day(75), "parcel.presumed_lost")


@pytest.mark.parametrize("late", ["delivered", "customs_held", "in_transit", "arrived_at_customs"])
def test_late_scan_is_recorded_but_changes_no_state_and_moves_no_deadline(
    scenario: Scenario, late: str
) -> None:
    """A scan with carrier time before the latest known scan is stored and otherwise ignored."""
    ship(scenario)
    scan(scenario, "arrived_at_customs", day(5))
    scenario.clock.set(day(6))
    before_deadlines = scenario.view().to_json()["deadlines"]
    assert due(scenario, "customs_stall") == day(10)
    events = scan(scenario, late, day(3))
    assert events[-1].type == "parcel.scanned"
    assert events[-1].occurred_at == day(3)
    stored = scenario.orders.history(scenario.order_id)[-1]
    assert (stored.type, stored.data["status"], stored.occurred_at) == ("parcel.scanned", late, day(3))
    scenario.then(parcel="at_customs")
    assert scenario.view().to_json()["deadlines"] == before_deadlines
    assert due(scenario, "customs_stall") == day(10)
    assert due(scenario, "presumed_lost") is None  # at customs: not lost


def test_genuine_scan_finds_a_lost_parcel_and_rearms_presumed_lost(scenario: Scenario) -> None:
    """A scan on a lost parcel moves it to the scan's state and re-arms presumed_lost."""
    ship(scenario)
    scan(scenario, "in_transit", day(1))
    tick_at(scenario, day(31))
    scenario.then(parcel="lost")
    assert due(scenario, "presumed_lost") is None
    scan(scenario, "in_transit", day(40))
    scenario.then(parcel="in_transit")
    assert_fires_at(scenario, "presumed_lost", day(70), "parcel.presumed_lost")


def test_scan_arriving_after_presumed_lost_but_carrier_time_before_it_is_genuine_news(
    scenario: Scenario,
) -> None:
    """A scan later than the latest known one finds a parcel declared lost too early."""
    ship(scenario)
    scan(scenario, "in_transit", day(1))
    tick_at(scenario, day(32))
    scenario.then(parcel="lost")
    scan(scenario, "arrived_at_customs", day(29))
    scenario.then(parcel="at_customs")
    assert due(scenario, "presumed_lost") is None  # at customs: not lost
    assert due(scenario, "customs_stall") == day(34)


def test_parcel_found_by_a_scan_at_the_latest_carrier_time_has_presumed_lost_armed_again(
    scenario: Scenario,
) -> None:
    """A scan at the latest carrier time finds a lost parcel and re-arms presumed_lost.

    The re-armed deadline counts from that scan (day 1), so by day 35 it is due again:
    the stored state is found, the view at day 35 is lost again (unfired), and the
    next tick writes a second `parcel.presumed_lost`.
    """
    ship(scenario)
    scan(scenario, "in_transit", day(1))
    tick_at(scenario, day(35))
    scenario.then(parcel="lost")
    scan(scenario, "out_for_delivery", day(1))  # same carrier time as the latest scan: not late
    assert scenario.view(at=day(2)).states["parcel"] == "out_for_delivery"
    again = scenario.view(at=day(2)).deadlines
    assert [d.due_at for d in again if d.kind == "presumed_lost"] == [day(31)]
    assert [e.type for e in scenario.view().unfired] == ["parcel.presumed_lost"]
    assert scenario.types(scenario.orders.tick()) == ["parcel.presumed_lost"]
    scenario.then(parcel="lost")


def test_repeated_pickup_notice_does_not_restart_pickup_expires(scenario: Scenario) -> None:
    """pickup_expires counts from the first at_pickup_point scan of the stay."""
    ship(scenario)
    scan(scenario, "at_pickup_point", day(5))
    scan(scenario, "at_pickup_point", day(15))
    scan(scenario, "at_pickup_point", day(25))
    scenario.then(parcel="at_pickup_point")
    assert_fires_at(scenario, "pickup_expires", day(35), "parcel.return_started")


def test_new_stay_at_pickup_point_restarts_pickup_expires(scenario: Scenario) -> None:
    """Leaving the pickup point and coming back starts a new 30-day stay."""
    ship(scenario)
    scan(scenario, "at_pickup_point", day(5))
    scan(scenario, "out_for_delivery", day(10))
    scan(scenario, "at_pickup_point", day(12))
    assert due(scenario, "pickup_expires") == day(42)


@pytest.mark.parametrize(
    "second",
    [
        {"status": "customs_held"},
        {"status": "arrived_at_customs", "text": "Import customs clearance started"},
        {"status": "attempt_failed"},
        {"text": "Frobnicated by the gnomes of Zurich"},
    ],
)
def test_every_scan_that_brings_news_at_customs_restarts_customs_stall(
    scenario: Scenario, second: dict[str, str]
) -> None:
    """customs_stall counts from the latest customs scan whose status or text is new."""
    ship(scenario)
    scan(scenario, "arrived_at_customs", day(2))
    assert due(scenario, "customs_stall") == day(7)
    scenario.clock.set(day(6))
    scenario.when("parcel.scanned", second, at=day(6))
    assert due(scenario, "customs_stall") == day(11)
    assert tick_at(scenario, day(7)) == []


def test_new_customs_scan_clears_the_customs_stalled_alert(scenario: Scenario) -> None:
    """After customs_stalled fired, a new customs scan clears it from `alerts` (history keeps it)."""
    ship(scenario)
    scan(scenario, "arrived_at_customs", day(2))
    tick_at(scenario, day(7))
    assert scenario.view().to_json()["alerts"] == ["customs_stalled"]
    scan(scenario, "customs_held", day(8))
    assert "customs_stalled" not in scenario.view().to_json()["alerts"]
    assert due(scenario, "customs_stall") == day(13)
    kinds = [e.data.get("kind") for e in scenario.orders.history(scenario.order_id)]
    assert "customs_stalled" in kinds


def test_leaving_customs_disarms_customs_stall(scenario: Scenario) -> None:
    """customs_stall is armed only while at_customs / held_at_customs."""
    ship(scenario)
    scan(scenario, "arrived_at_customs", day(2))
    scan(scenario, "customs_cleared", day(3))
    assert due(scenario, "customs_stall") is None
    assert tick_at(scenario, day(8)) == []


@pytest.mark.parametrize("payload", [{"status": "no_info"}, {"text": "Tracking number not available"}])
def test_no_info_scan_counts_for_nothing(scenario: Scenario, payload: dict[str, str]) -> None:
    """no_info is no first info and restarts nothing: first_info still fires at shipment + 10 d."""
    ship(scenario)
    scenario.clock.set(day(5))
    scenario.when("parcel.scanned", payload, at=day(5))
    scenario.then(parcel="shipped")
    assert due(scenario, "no_news") == day(15)
    assert due(scenario, "presumed_lost") == day(30)
    assert_fires_at(scenario, "first_info", day(10), "alert.raised", "no_first_info")


# --- untracked parcels and finished orders -----------------------------------------------


def test_untracked_parcel_gets_no_first_info_or_no_news(scenario: Scenario) -> None:
    """tracked: false → no first_info / no_news deadlines, no alerts on days 10 and 15."""
    ship(scenario, tracked=False)
    kinds = {d["kind"] for d in scenario.view().to_json()["deadlines"]}
    assert "first_info" not in kinds
    assert "no_news" not in kinds
    assert due(scenario, "presumed_lost") == day(90)
    assert [e for e in tick_at(scenario, day(16)) if e.type == "alert.raised"] == []
    assert scenario.view().to_json()["alerts"] == []


def test_untracked_parcel_is_lost_after_protection_ran_out_and_only_a_complaint_is_left(
    scenario: Scenario,
) -> None:
    """Parcel deadlines outlive the order: lost on day 90, advice says only a complaint is left."""
    ship(scenario, tracked=False)
    tick_at(scenario, day(76))  # protection ends day 60, dispute window closes day 75
    scenario.then(order="finished", parcel="shipped")
    assert due(scenario, "presumed_lost") == day(90)
    assert_fires_at(scenario, "presumed_lost", day(90), "parcel.presumed_lost")
    scenario.then(order="finished", parcel="lost")
    text = advice_text(scenario)
    assert "only a complaint" in text
    assert "open a dispute" not in text


def test_parcel_deadlines_stay_armed_after_receipt_confirmed(scenario: Scenario) -> None:
    """A finished order still tracks its parcel: presumed_lost fires after receipt is confirmed."""
    ship(scenario)
    scan(scenario, "in_transit", day(2))
    scenario.when("order.receipt_confirmed")
    scenario.then(order="finished", parcel="in_transit")
    assert_fires_at(scenario, "presumed_lost", day(32), "parcel.presumed_lost")
    scenario.then(parcel="lost")


# --- lost / returned / seized: money and advice ------------------------------------------


def _lose(scenario: Scenario) -> None:
    scan(scenario, "in_transit", day(1))
    tick_at(scenario, day(31))


def _return(scenario: Scenario) -> None:
    scan(scenario, "returning", day(1))
    scan(scenario, "returned", day(3))


def _seize(scenario: Scenario) -> None:
    scan(scenario, "arrived_at_customs", day(1))
    scan(scenario, "seized", day(3))


@pytest.mark.parametrize(
    ("make", "state", "reason"),
    [
        (_lose, "lost", "no_tracking_info"),
        (_return, "returned", "returned_by_carrier"),
        (_seize, "seized", "customs_problem"),
    ],
)
def test_lost_returned_or_seized_parcel_keeps_escrow_held_and_advice_points_to_a_dispute(
    scenario: Scenario, make: Any, state: str, reason: str
) -> None:
    """The money stays in escrow and advice urges a dispute with the matching reason."""
    ship(scenario)
    make(scenario)
    scenario.then(order="awaiting_delivery", parcel=state)
    money = scenario.view().to_json()["money"]
    assert money["held"] == PAID
    assert money["released_to_seller"] == 0
    assert money["refunded_to_buyer"] == 0
    text = advice_text(scenario)
    assert "dispute" in text
    assert f"reason {reason}" in text


def test_delivered_parcel_turns_off_the_protection_reminder(scenario: Scenario) -> None:
    """Once delivered there is no protection_reminder; protection_ends stays."""
    ship(scenario)
    assert due(scenario, "protection_reminder") == day(55)
    scan(scenario, "delivered", day(10))
    assert scenario.deadline("protection_reminder") is None
    assert due(scenario, "protection_ends") == day(60)
    fired = tick_at(scenario, day(56))
    assert [e for e in fired if e.data.get("kind") == "protection_ending"] == []


# --- track replacement -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "state"),
    [
        ("info_received", "shipped"),
        ("in_transit", "in_transit"),
        ("arrived_at_customs", "at_customs"),
        ("customs_held", "held_at_customs"),
        ("at_pickup_point", "at_pickup_point"),
        ("out_for_delivery", "out_for_delivery"),
        ("returning", "returning"),
    ],
)
def test_track_replacement_keeps_state_and_history_of_numbers(
    scenario: Scenario, status: str, state: str
) -> None:
    """parcel.track_replaced keeps the state, records the new number, keeps the old one."""
    ship(scenario)
    scan(scenario, status, day(2))
    scenario.clock.set(day(3))
    scenario.when("parcel.track_replaced", {"tracking_number": "LP00123456789012"})
    scenario.then(parcel=state)
    shown = scenario.view().to_json()
    assert shown["tracking_number"] == "LP00123456789012"
    assert shown["old_tracking_numbers"] == ["RB123456785CN"]


def test_track_replacement_on_a_lost_parcel_keeps_it_lost(scenario: Scenario) -> None:
    """A lost parcel can get a new number; it stays lost until a scan finds it."""
    ship(scenario)
    scan(scenario, "in_transit", day(1))
    tick_at(scenario, day(31))
    scenario.when("parcel.track_replaced", {"tracking_number": "LP00123456789012"})
    scenario.then(parcel="lost")
    assert scenario.view().to_json()["old_tracking_numbers"] == ["RB123456785CN"]


def test_track_replacement_rearms_first_info_and_no_news(scenario: Scenario) -> None:
    """A tracked replacement restarts first_info (+10 d) and no_news (+15 d) from itself."""
    ship(scenario)
    scan(scenario, "in_transit", day(2))
    scenario.clock.set(day(3))
    scenario.when("parcel.track_replaced", {"tracking_number": "LP00123456789012"})
    assert due(scenario, "no_news") == day(18)
    assert_fires_at(scenario, "first_info", day(13), "alert.raised", "no_first_info")


@pytest.mark.parametrize("text", ["Delivery canceled", "Shipment cancelled"])
def test_delivery_canceled_text_keeps_the_parcel_state(scenario: Scenario, text: str) -> None:
    """Raw "Delivery canceled" / "Shipment cancelled" is status delivery_canceled, no state change."""
    ship(scenario)
    scan(scenario, "in_transit", day(2))
    events = scan_text(scenario, text, day(3))
    assert events[-1].data["status"] == "delivery_canceled"
    scenario.then(parcel="in_transit")
    assert scenario.view().to_json()["tracking_number"] == "RB123456785CN"


def test_wrong_s10_check_digit_on_shipment_is_a_validation_error(scenario: Scenario) -> None:
    """order.shipped with RB123456784CN (check digit 5 expected) → ValidationError, nothing appended."""
    scenario.given("order.placed")
    before = history_length(scenario)
    with pytest.raises(ValidationError):
        scenario.when("order.shipped", {"tracking_number": "RB123456784CN"})
    assert history_length(scenario) == before
    scenario.then(parcel="not_shipped")


def test_wrong_s10_check_digit_on_track_replacement_is_a_validation_error(scenario: Scenario) -> None:
    """parcel.track_replaced with a bad S10 check digit → ValidationError, nothing appended."""
    ship(scenario)
    before = history_length(scenario)
    with pytest.raises(ValidationError):
        scenario.when("parcel.track_replaced", {"tracking_number": "RR123456784RU"})
    assert history_length(scenario) == before
    assert scenario.view().to_json()["tracking_number"] == "RB123456785CN"


# --- unknown carrier text ----------------------------------------------------------------


def test_unknown_raw_text_is_recorded_as_unknown_and_changes_no_state(scenario: Scenario) -> None:
    """Text the normalizer does not know: status unknown, raw text kept, state unchanged."""
    ship(scenario)
    scan(scenario, "in_transit", day(2))
    raw = "Frobnicated by the gnomes of Zurich"
    events = scan_text(scenario, raw, day(3))
    stored = scenario.orders.history(scenario.order_id)[-1]
    assert stored == events[-1]
    assert stored.type == "parcel.scanned"
    assert stored.data["status"] == "unknown"
    assert stored.data["text"] == raw
    scenario.then(parcel="in_transit")
