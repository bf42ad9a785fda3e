"""The timeline model (`parcelfsm.timeline`): segments, marks, deadline bars and money,
derived by replaying the stream, checked against `show` at the same instant.

Orders are built with `Scenario` (real in-memory SQLite, manual clock); the random
histories draw legal and illegal commands with the shared strategies.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stories import customs_story
from strategies import command, likely, spans

from parcelfsm.errors import NotFound, ParcelFsmError
from parcelfsm.testing import Scenario
from parcelfsm.timeline import LANES, Bar, Timeline, build_timeline, order_timeline

DAY = dt.timedelta(days=1)


def bars(tl: Timeline, kind: str) -> list[Bar]:
    """The armings of one deadline kind, in time order."""
    return [b for b in tl.bars if b.kind == kind]


def test_a_deadline_set_then_dropped_shows_as_dropped(scenario: Scenario) -> None:
    """ship_by is set by order.placed and dropped (not fired) by the shipment."""
    scenario.given(("order.placed", {"processing_days": 7}))
    placed = scenario.clock.now()
    scenario.advance(days=2)
    scenario.when("order.shipped")
    (ship_by,) = bars(order_timeline(scenario.orders, "o-1"), "ship_by")
    assert ship_by.status == "dropped"
    assert (ship_by.set_at, ship_by.set_by) == (placed, "order.placed v1")
    assert ship_by.due_at == placed + 7 * DAY
    assert (ship_by.ended_at, ship_by.ended_by) == (placed + 2 * DAY, "order.shipped v2")
    assert ship_by.end == ship_by.ended_at
    assert ship_by.rule == "order.processing_days=7"


def test_a_fired_deadline_ends_at_its_due_time(scenario: Scenario) -> None:
    """The seller's 5 days run out: the bar ends at its due time, ended by the timed event."""
    customs_story(scenario)
    tl = order_timeline(scenario.orders, "o-1")
    (response,) = bars(tl, "seller_response")
    assert response.status == "fired"
    assert response.rule == "dispute.seller_response_days=5"
    assert response.due_at == response.set_at + 5 * DAY
    assert response.end == response.ended_at == response.due_at
    assert response.ended_by is not None and response.ended_by.startswith("dispute.seller_timed_out v")
    timed = [m for m in tl.marks if m.type == "dispute.seller_timed_out"]
    assert [(m.at, m.timed, m.virtual, m.lane) for m in timed] == [(response.due_at, True, False, "dispute")]


def test_the_refund_drops_refund_overdue_and_the_money_moves_to_the_buyer(scenario: Scenario) -> None:
    """refund.received drops the refund_overdue deadline; the escrow ends refunded."""
    customs_story(scenario)
    tl = order_timeline(scenario.orders, "o-1")
    (overdue,) = bars(tl, "refund_overdue")
    assert (overdue.status, overdue.ended_by) == ("dropped", "refund.received v8")
    first, last = tl.money[0], tl.money[-1]
    assert (first.held, first.refunded) == (2599, 0)
    assert (last.held, last.released, last.refunded) == (0, 0, 2599)
    assert last.at == overdue.set_at  # the money moved when the seller timed out


def test_a_new_scan_rearms_presumed_lost_and_the_last_arming_stays_open(scenario: Scenario) -> None:
    """Each scan restarts presumed_lost: earlier armings end `rearmed` at the scan."""
    scenario.given("order.placed")
    scenario.advance(days=1)
    scenario.when("order.shipped")
    for _ in range(2):
        scenario.advance(days=3)
        scenario.when("parcel.scanned", {"status": "in_transit"})
    lost = bars(order_timeline(scenario.orders, "o-1"), "presumed_lost")
    assert [b.status for b in lost] == ["rearmed", "rearmed", "open"]
    for before, after in itertools.pairwise(lost):
        assert before.ended_at == after.set_at
        assert before.ended_by == after.set_by
    assert lost[-1].due_at == lost[-1].set_at + 30 * DAY


def test_presumed_lost_is_dropped_when_the_parcel_reaches_customs(scenario: Scenario) -> None:
    """A parcel at customs is not lost: its presumed_lost bar ends `dropped` at the scan."""
    customs_story(scenario)
    [lost] = bars(order_timeline(scenario.orders, "o-1"), "presumed_lost")
    assert lost.status == "dropped"
    assert lost.ended_by is not None and "parcel.scanned" in lost.ended_by


def test_a_dispute_pauses_protection_as_a_bar_without_due_time(scenario: Scenario) -> None:
    """Opening a dispute re-arms protection_ends as paused, with the time that was left."""
    scenario.given("order.placed")
    scenario.advance(days=1)
    scenario.when("order.shipped")
    scenario.advance(days=10)
    opened = scenario.when("dispute.opened")[-1]
    running, paused = bars(order_timeline(scenario.orders, "o-1"), "protection_ends")
    assert (running.status, running.ended_by) == ("rearmed", f"dispute.opened v{opened.version}")
    assert running.due_at is not None
    assert (paused.status, paused.paused, paused.due_at) == ("open", True, None)
    assert paused.remaining == running.due_at - paused.set_at


def test_deadlines_due_by_at_fire_virtually_and_are_marked_so(scenario: Scenario) -> None:
    """Read after ship_by passed (no tick): the auto-cancel is applied but not stored."""
    scenario.given(("order.placed", {"processing_days": 3}))
    scenario.clock.advance(days=4)
    tl = order_timeline(scenario.orders, "o-1")
    (ship_by,) = bars(tl, "ship_by")
    assert (ship_by.status, ship_by.virtual_end, ship_by.ended_by) == ("fired", True, "order.auto_cancelled")
    assert [(m.type, m.version, m.virtual) for m in tl.marks][-1] == ("order.auto_cancelled", None, True)
    assert tl.states["order"] == "cancelled"
    assert tl.money[-1].refunded == 2599
    assert scenario.history_types() == ["order.placed"]  # nothing was written


def test_reading_at_an_earlier_instant_leaves_later_events_out(scenario: Scenario) -> None:
    """`at` before the shipment: one mark, ship_by still open, the lanes end at `at`."""
    scenario.given(("order.placed", {"processing_days": 7}))
    start = scenario.clock.now()
    scenario.advance(days=2)
    scenario.when("order.shipped")
    tl = order_timeline(scenario.orders, "o-1", start + DAY)
    assert [m.type for m in tl.marks] == ["order.placed"]
    assert [(b.kind, b.status) for b in tl.bars] == [("ship_by", "open")]
    assert {s.end for s in tl.segments} == {start + DAY}
    with pytest.raises(NotFound):
        order_timeline(scenario.orders, "o-1", start - DAY)


def test_an_alert_is_drawn_on_the_lane_of_the_deadline_that_raised_it(scenario: Scenario) -> None:
    """customs_stall's alert belongs to the parcel lane."""
    customs_story(scenario)
    tl = order_timeline(scenario.orders, "o-1")
    alert = next(m for m in tl.marks if m.type == "alert.raised")
    assert (alert.lane, alert.data["deadline"]) == ("parcel", "customs_stall")
    # the recorded policy, by version
    assert f"policy: {scenario.orders.policy.version}" in tl.marks[0].details


def _walk(s: Scenario, steps: list[tuple[str, Any]], data: st.DataObject) -> None:
    for kind, value in steps:
        if kind == "wait":
            s.clock.advance(seconds=value.total_seconds())
            if data.draw(st.booleans()):
                s.orders.tick()
            continue
        view = s.orders.show("o-1")
        type_name = data.draw(st.sampled_from(likely(view.states["order"], view.states["dispute"] or "none")))
        with contextlib.suppress(ParcelFsmError):  # refused commands are part of the walk
            s.orders.record("o-1", type_name, data.draw(command(type_name, item_value=5000, asked=5000)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    steps=st.lists(
        st.one_of(st.tuples(st.just("wait"), spans()), st.tuples(st.just("cmd"), st.none())), max_size=14
    ),
    back=st.floats(0, 1),
    data=st.data(),
)
def test_the_timeline_agrees_with_show_at_every_instant(
    steps: list[tuple[str, Any]], back: float, data: st.DataObject
) -> None:
    """For random histories, read now and at an earlier instant: lanes are contiguous and end
    in `show`'s states, money keeps paid == held + released + refunded and ends as `show`'s,
    the open bars are `show`'s deadlines, every fired bar ends at its due time with its
    timed event there, and no bar ends before it was set."""
    s = Scenario()
    try:
        s.orders.record("o-1", "order.placed", data.draw(command("order.placed")))
        _walk(s, steps, data)
        start = s.orders.history("o-1")[0].occurred_at
        now = s.clock.now()
        for at in (now, start + (now - start) * back):
            tl = order_timeline(s.orders, "o-1", at)
            view = s.orders.show("o-1", at=at)
            assert tl.start == start and tl.now == at
            for lane in LANES:
                segments = tl.lane(lane)
                assert segments[0].start == tl.start and segments[-1].end == at
                for a, b in itertools.pairwise(segments):
                    assert a.end == b.start and a.state != b.state and a.start <= a.end
            assert {k: (v if v != "none" else None) for k, v in tl.states.items()} == view.states
            for p in tl.money:
                assert p.paid == p.held + p.released + p.refunded
            m = view.money
            assert (tl.money[-1].held, tl.money[-1].released, tl.money[-1].refunded) == (
                m.held,
                m.released_to_seller,
                m.refunded_to_buyer,
            )
            open_bars = sorted((b.kind, b.due_at, b.rule, b.paused) for b in tl.bars if b.status == "open")
            assert open_bars == sorted((d.kind, d.due_at, d.rule, d.paused) for d in view.deadlines)
            for b in tl.bars:
                assert b.ended_at is None or b.ended_at >= b.set_at
                if b.status == "fired":
                    assert b.end == b.due_at
                    assert any(
                        mk.at == b.due_at and mk.type == b.on_expiry and mk.data.get("deadline") == b.kind
                        for mk in tl.marks
                    )
            assert sum(mk.virtual for mk in tl.marks) == len(view.unfired)
            assert build_timeline(s.orders.history("o-1"), at) == tl
    finally:
        s.close()
