"""The store contract, projections written as changes (`update_projections`).

`StoreContract` inherits these, so they run on every backend (memory, SQLite,
PostgreSQL). The service writes only the deadline rows a command changed; these tests
hold every backend to the same result as rewriting all of them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import parcelfsm
from parcelfsm import ManualClock, Orders
from parcelfsm.commands import Command
from parcelfsm.errors import IllegalTransition
from parcelfsm.fold import fold
from parcelfsm.store.mapping import order_row, projected
from parcelfsm.store.projections import DeadlineRow, OrderRow, ProjectionChange
from parcelfsm.testing import DEFAULTS

PLACED = DEFAULTS["order.placed"]
SHIPPED = DEFAULTS["order.shipped"]


def row(stream: str, version: int = 1) -> OrderRow:
    """An `orders` row at `version`."""
    return OrderRow(stream, version, "awaiting_seller", "none", "none", "USD", 100, 100, 0, 0, "p", "")


def deadline(stream: str, kind: str, due_us: int, rank: int = 1) -> DeadlineRow:
    """A due-index row of `kind` due at `due_us`."""
    return DeadlineRow(stream, kind, f"t{due_us}", due_us, rank, "r", 1, "order.auto_cancelled", None)


def assert_projections_are_a_fold(orders: Orders) -> None:
    """Every order's row and deadlines equal what a fold of its stream gives."""
    ids = orders.log.order_rows()
    assert ids
    for order_id in ids:
        state = fold(orders.history(order_id))
        assert state is not None
        assert orders.log.order_row(order_id) == order_row(state)
        assert orders.log.deadlines_of(order_id) == sorted(projected(state), key=lambda d: (d.due_at, d.rank))


class ProjectionChangeContract:
    """Diff-shaped projection writes, on every backend."""

    def target(self, tmp_path: Path) -> str:
        """The `parcelfsm.open` target of a fresh, empty database."""
        raise NotImplementedError

    def test_a_change_deletes_the_removed_kinds_writes_the_upserted_and_keeps_the_rest(
        self, orders: Orders
    ) -> None:
        """`update_projections` replaces the order row, drops the removed kinds, writes
        the upserted rows over their kinds, and leaves other kinds and orders alone."""
        backend = orders.log.backend
        with orders.log.transaction():
            backend.save_projections(
                [
                    (row("a"), [deadline("a", "ship_by", 10), deadline("a", "pay_by", 20, 2)]),
                    (row("b"), [deadline("b", "ship_by", 15)]),
                ]
            )
            backend.update_projections(
                [
                    ProjectionChange(
                        row("a", 2),
                        removed=("ship_by",),
                        upserted=(deadline("a", "pay_by", 5, 2), deadline("a", "no_news", 30, 3)),
                    )
                ]
            )
        assert backend.order_row("a") == row("a", 2)
        assert backend.deadline_rows("a") == [deadline("a", "pay_by", 5, 2), deadline("a", "no_news", 30, 3)]
        assert backend.deadline_rows("b") == [deadline("b", "ship_by", 15)]
        assert backend.count_due(10**6) == 3

    def test_changes_naming_one_order_twice_apply_in_turn(self, orders: Orders) -> None:
        """A kind upserted by one change and removed by the next is gone; removed and
        then upserted, it is there."""
        backend = orders.log.backend
        with orders.log.transaction():
            backend.save_projections([(row("a"), [deadline("a", "ship_by", 10)])])
            backend.update_projections(
                [
                    ProjectionChange(row("a", 2), upserted=(deadline("a", "pay_by", 20, 2),)),
                    ProjectionChange(row("a", 3), removed=("pay_by", "ship_by")),
                    ProjectionChange(row("a", 4), upserted=(deadline("a", "ship_by", 40),)),
                ]
            )
        assert backend.order_row("a") == row("a", 4)
        assert backend.deadline_rows("a") == [deadline("a", "ship_by", 40)]

    def test_a_rolled_back_change_leaves_the_projections_as_they_were(self, orders: Orders) -> None:
        """A change inside a transaction that fails is undone with it."""
        backend = orders.log.backend
        with orders.log.transaction():
            backend.save_projections([(row("a"), [deadline("a", "ship_by", 10)])])
        with pytest.raises(RuntimeError), orders.log.transaction():
            backend.update_projections([ProjectionChange(row("a", 2), removed=("ship_by",))])
            raise RuntimeError("boom")
        assert backend.order_row("a") == row("a")
        assert backend.deadline_rows("a") == [deadline("a", "ship_by", 10)]

    def test_projections_stay_a_fold_through_batches_refusals_and_ticks(
        self, orders: Orders, clock: ManualClock
    ) -> None:
        """Commands written as changes — several on one order in a batch, refusals in
        an atomic and a partial batch, catch-up and tick firings — leave every order's
        projections equal to a fold of its stream."""
        at = clock.now()
        orders.record_many([("a", "order.placed", PLACED), ("b", "order.placed", PLACED)])
        clock.advance(hours=1)
        orders.record_many(
            [
                ("a", "order.shipped", SHIPPED),
                ("a", "parcel.scanned", {"status": "info_received"}),
                ("a", "parcel.scanned", {"status": "in_transit"}),
            ]
        )
        with pytest.raises(IllegalTransition):
            orders.record_many(
                [
                    Command("a", "parcel.scanned", {"status": "customs_cleared"}),
                    Command("b", "order.receipt_confirmed"),
                ],
                atomic=True,
            )
        clock.advance(hours=1)
        outcomes = orders.record_many(
            [
                ("b", "order.shipped", SHIPPED, "ship-b"),
                ("b", "parcel.scanned", {"status": "info_received"}),
                ("b", "order.placed", PLACED),  # refused: placed already
                ("a", "parcel.scanned", {"status": "in_transit"}, "ship-b"),  # refused: b's key
                ("b", "parcel.scanned", {"status": "in_transit"}, "scan-b"),
            ]
        )
        assert [o.ok for o in outcomes] == [True, True, False, False, True]
        orders.record("a", "parcel.scanned", {"status": "arrived_at_customs"})
        clock.set(at + dt.timedelta(days=20))
        assert orders.tick()  # alerts and deadlines of both orders fire
        orders.record("a", "parcel.scanned", {"status": "customs_cleared"})
        assert_projections_are_a_fold(orders)

    def test_a_book_whose_order_another_book_moved_rewrites_its_rows_whole(
        self, tmp_path: Path, orders: Orders, clock: ManualClock
    ) -> None:
        """When another writer appended to an order since this book last wrote it, the
        book folds the order again and its next command leaves projections equal to a
        fold (never a change against rows it did not write)."""
        target = self.target(tmp_path)
        if target == "memory:":
            pytest.skip("an in-memory database has one writer")
        orders.record("a", "order.placed", PLACED)
        clock.advance(hours=1)
        with parcelfsm.open(target, clock=clock) as other:
            other.record("a", "order.shipped", SHIPPED)
        clock.advance(hours=1)
        orders.record("a", "parcel.scanned", {"status": "info_received"})
        assert_projections_are_a_fold(orders)
