"""Public names: `order_id` on every public type, the documented default clock."""

from __future__ import annotations

import datetime as dt

from freezegun import freeze_time

import parcelfsm
from parcelfsm import ManualClock, SystemClock
from parcelfsm.testing import DEFAULTS


def test_stored_and_new_events_answer_to_order_id_as_deadlines_do() -> None:
    """`StoredEvent.order_id` is `stream_id`; JSON keeps the stored key `stream_id`."""
    with parcelfsm.open("memory:", clock=ManualClock("2026-03-01T10:00:00Z")) as orders:
        (placed,) = orders.record("o-7", "order.placed", DEFAULTS["order.placed"])
        assert placed.order_id == placed.stream_id == "o-7"
        assert "stream_id" in placed.to_json() and "order_id" not in placed.to_json()
        (deadline,) = orders.due()
        assert deadline.order_id == placed.order_id
        (planned,) = orders.advance("2026-04-01T00:00:00Z", dry_run=True)
        assert planned.order_id == "o-7"


def test_open_without_a_clock_uses_the_system_clock_which_freezegun_freezes() -> None:
    """The default clock of `open()` is `SystemClock()`, read at every call."""
    with parcelfsm.open("memory:") as orders:
        assert isinstance(orders.clock, SystemClock)
        with freeze_time("2031-05-06T07:08:09Z"):
            assert orders.now() == dt.datetime(2031, 5, 6, 7, 8, 9, tzinfo=dt.UTC)


def test_a_manual_clock_passed_in_is_the_book_s_clock() -> None:
    """`orders.clock` is the very ManualClock given, so a test can advance it through the book."""
    clock = ManualClock("2026-03-01T10:00:00Z")
    with parcelfsm.open("memory:", clock=clock) as orders:
        assert orders.clock is clock
        orders.clock.advance(days=2)
        assert orders.now() == dt.datetime(2026, 3, 3, 10, tzinfo=dt.UTC)
