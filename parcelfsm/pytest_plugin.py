"""The parcelfsm pytest plugin: fixtures for testing an app that embeds parcelfsm.

Registered through the `pytest11` entry point, so installing parcelfsm is enough:

    def test_silence_is_consent(orders, clock):
        orders.record("o-1", "order.placed", {...})
        clock.advance(days=1)
        orders.record("o-1", "order.shipped", {})
        assert_deadline(orders, "o-1", "protection_ends", due="2026-05-01T10:00:00Z")

Fixtures (each test gets fresh ones):

- `clock`: a `ManualClock` at 2026-03-01T10:00:00Z (`parcelfsm.testing.START`);
- `orders`: an in-memory order book on that clock (`Orders[ManualClock]`), closed
  after the test;
- `scenario`: a `parcelfsm.testing.Scenario` for order `o-1` on that book.

The assertions (`assert_state`, `assert_deadline`, `assert_no_deadline`,
`assert_money`, `assert_alert`) live in `parcelfsm.testing`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from parcelfsm.clock import ManualClock
from parcelfsm.service import Orders
from parcelfsm.service import open as open_orders
from parcelfsm.testing import START, Scenario


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock at 2026-03-01T10:00:00Z; time moves only when the test moves it."""
    return ManualClock(START)


@pytest.fixture
def orders(clock: ManualClock) -> Iterator[Orders[ManualClock]]:
    """An in-memory order book on the `clock` fixture, closed after the test."""
    book = open_orders("memory:", clock=clock)
    yield book
    book.close()


@pytest.fixture
def scenario(orders: Orders[ManualClock]) -> Scenario:
    """Given/when/then for order `o-1` on the `orders` book (`scenario.on("o-2")` for more)."""
    return Scenario(orders=orders)
