"""The pytest plugin (entry point `pytest11`): fixtures and rule-like assertions, run with pytester."""

from __future__ import annotations

import importlib.metadata

import pytest

pytest_plugins = ["pytester"]

PLACED = '{"amount": 2599, "currency": "USD", "shipping_cost": 300, "destination_country": "US"}'


def test_the_plugin_is_registered_as_a_pytest11_entry_point() -> None:
    """Installing parcelfsm is enough: pytest finds `parcelfsm.pytest_plugin` by its entry point."""
    points = [ep for ep in importlib.metadata.entry_points(group="pytest11") if ep.name == "parcelfsm"]
    assert [ep.value for ep in points] == ["parcelfsm.pytest_plugin"]


def test_fixtures_give_a_manual_clock_an_in_memory_book_and_a_scenario(pytester: pytest.Pytester) -> None:
    """`clock`, `orders` and `scenario` share one manual clock and one in-memory book."""
    pytester.makepyfile(
        f"""
        from parcelfsm import ManualClock
        from parcelfsm.testing import assert_deadline, assert_money, assert_state

        PLACED = {PLACED}

        def test_fixtures(clock, orders, scenario):
            assert isinstance(clock, ManualClock)
            assert orders.clock is clock and scenario.orders is orders
            assert clock.now().isoformat() == "2026-03-01T10:00:00+00:00"
            orders.record("o-1", "order.placed", PLACED)
            clock.advance(days=1)
            orders.record("o-1", "order.shipped", {{}})
            assert_deadline(orders, "o-1", "protection_ends", due="2026-05-01T10:00:00Z",
                            rule="protection.days_default=60")
            clock.advance(days=60)
            orders.tick()
            assert_state(orders, "o-1", order="finished", dispute=None)
            assert_money(orders, "o-1", held=0, released_to_seller=2599, currency="USD")

        def test_each_test_gets_a_fresh_book(orders):
            assert orders.store.count_events() == 0
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_failed_assertions_say_what_was_there_instead(pytester: pytest.Pytester) -> None:
    """A wrong due time, state or amount fails with the actual value in the message."""
    pytester.makepyfile(
        f"""
        from parcelfsm.testing import assert_deadline, assert_money, assert_state

        def test_wrong_due(orders):
            orders.record("o-1", "order.placed", {PLACED})
            assert_deadline(orders, "o-1", "ship_by", due="2026-03-09T10:00:00Z")

        def test_missing_deadline(orders):
            orders.record("o-1", "order.placed", {PLACED})
            assert_deadline(orders, "o-1", "protection_ends")

        def test_wrong_state(orders):
            orders.record("o-1", "order.placed", {PLACED})
            assert_state(orders, "o-1", order="finished")

        def test_wrong_money(orders):
            orders.record("o-1", "order.placed", {PLACED})
            assert_money(orders, "o-1", held=0)
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines(
        [
            "*o-1: ship_by is due 2026-03-08T10:00:00Z, expected 2026-03-09T10:00:00Z*",
            "*o-1: no open protection_ends deadline (open: ship_by@2026-03-08T10:00:00Z)*",
            "*o-1: expected states {'order': 'finished'}, got {'order': 'awaiting_shipment'}*",
            "*o-1: expected money {'held': 0}, got {'held': 2599}*",
        ],
        consecutive=False,
    )


def test_scenario_fixture_drives_several_orders_on_one_clock(pytester: pytest.Pytester) -> None:
    """`scenario.on("o-2")` records on the same book; `advance` ticks every order."""
    pytester.makepyfile(
        """
        def test_two_orders(scenario, orders):
            scenario.given("order.placed", "order.shipped")
            other = scenario.on("o-2").given("order.placed")
            assert other.clock is scenario.clock
            fired = scenario.advance(days=7)
            assert [(e.order_id, e.type) for e in fired] == [("o-2", "order.auto_cancelled")]
            other.then(order="cancelled")
            scenario.then(order="awaiting_delivery", parcel="shipped")
            assert sorted(d.order_id for d in orders.due()) == ["o-1"] * len(orders.due())
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
