"""User-style code that must type-check under `mypy --strict` (run by tests/test_typing.py).

It is never executed by pytest; it states what an embedding app may rely on.
"""

from __future__ import annotations

import datetime as dt
from typing import assert_type

import parcelfsm
from parcelfsm import Allowed, Deadline, ManualClock, OrderView, StoredEvent, SystemClock
from parcelfsm.testing import Scenario, assert_deadline


def manual_clock_stays_manual() -> None:
    """`open(…, clock=ManualClock(…))` keeps the clock's type: `advance` type-checks."""
    orders = parcelfsm.open("memory:", clock=ManualClock("2026-03-01T10:00:00Z"))
    assert_type(orders, parcelfsm.Orders[ManualClock])
    assert_type(orders.clock, ManualClock)
    moved: dt.datetime = orders.clock.advance(days=1)
    del moved
    orders.close()


def default_clock_is_the_system_clock() -> None:
    """Without a clock, the book is on a `SystemClock`."""
    with parcelfsm.open("memory:") as orders:
        assert_type(orders.clock, SystemClock)


def reads_are_typed() -> None:
    """The calls return the documented types; `order_id` is on every public type."""
    orders = parcelfsm.open("memory:", clock=ManualClock("2026-03-01T10:00:00Z"))
    events: list[StoredEvent] = orders.record("o-1", "order.placed", {})
    view: OrderView = orders.show("o-1")
    allowed: list[Allowed] = orders.allowed("o-1")
    deadlines: list[Deadline] = orders.due()
    ids: list[str] = [e.order_id for e in events] + [d.order_id for d in deadlines] + [view.order_id]
    names: list[str] = [a.type for a in allowed if a.allowed]
    schema: dict[str, object] = parcelfsm.schema_of("order.placed")
    del ids, names, schema


def scenario_and_assertions() -> None:
    """`Scenario` exposes the manual clock and book; assertions return what they found."""
    scenario = Scenario()
    assert_type(scenario.clock, ManualClock)
    other: Scenario = scenario.on("o-2")
    found: Deadline = assert_deadline(scenario.orders, "o-1", "ship_by")
    del other, found
