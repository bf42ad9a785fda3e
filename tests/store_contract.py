"""The store contract: what every backend guarantees, as one abstract test suite.

A backend's test module subclasses `StoreContract` and implements `target` (the
`parcelfsm.open` target of a fresh, empty database); every test here then runs on it.
The suite drives the public API (`parcelfsm.open`), so it proves the whole stack on
that backend: ordering, optimistic concurrency, idempotency, atomic batches, reads
after a position, projections equal to a fold, and byte-identical hashes to the
in-memory reference for the same history.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from projection_contract import ProjectionChangeContract
from row_strategies import HAND_PICKED, chain_rows, hostile_chains

import parcelfsm
from parcelfsm import ManualClock, Orders
from parcelfsm.commands import Command
from parcelfsm.errors import (
    ConcurrencyConflict,
    IdempotencyConflict,
    IllegalTransition,
    NotFound,
    ValidationError,
)
from parcelfsm.fold import fold
from parcelfsm.store import open_backend
from parcelfsm.store.mapping import order_row, projected
from parcelfsm.store.recorder import KeyRow
from parcelfsm.testing import DEFAULTS

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
PLACED = DEFAULTS["order.placed"]
SHIPPED = DEFAULTS["order.shipped"]
OPENED = DEFAULTS["dispute.opened"]


def story(orders: Orders, clock: ManualClock, prefix: str = "o") -> None:
    """A fixed history over three orders: keys, catch-up, timed events, a dispute."""
    orders.record(f"{prefix}-1", "order.placed", PLACED, key=f"{prefix}-place-1")
    orders.record(f"{prefix}-2", "order.placed", {**PLACED, "destination_country": "RU"})
    orders.record(f"{prefix}-3", "order.placed", PLACED)
    clock.advance(days=1)
    orders.record(f"{prefix}-1", "order.shipped", SHIPPED)
    orders.record(f"{prefix}-3", "order.shipped", SHIPPED)
    clock.advance(days=12)
    orders.tick()  # o-2 auto-cancelled, first_info alerts
    orders.record(f"{prefix}-1", "parcel.scanned", {"text": "Held At Customs"}, key=f"{prefix}-scan")
    orders.record(f"{prefix}-3", "dispute.opened", OPENED)
    clock.advance(days=6)
    orders.record(f"{prefix}-1", "parcel.scanned", {"status": "customs_cleared"})  # catch-up first


def _plain_fields(key: str | None) -> dict[str, Any]:
    """`chain_rows` fields of an ordinary row (hex hash, chained, recorded when it occurred)."""
    return {
        "type": "order.placed",
        "schema_version": 1,
        "occurred_at": "2026-03-01T10:00:00Z",
        "recorded": "same",
        "due_at": None,
        "key": key,
        "data": '{"n":1}',
        "hash": "hex",
        "link": "chain",
        "gap": 1,
    }


def hashes(orders: Orders) -> list[tuple[str, int, str, str]]:
    """(stream, version, prev_hash, hash) of every event in log order."""
    return [(e.stream_id, e.version, e.prev_hash, e.hash) for e in orders.export_events()]


class StoreContract(ProjectionChangeContract):
    """Every backend passes these; subclass and implement `target`."""

    def target(self, tmp_path: Path) -> str:
        """The `parcelfsm.open` target of a fresh, empty database."""
        raise NotImplementedError

    @pytest.fixture
    def clock(self) -> ManualClock:
        """A manual clock at 2026-03-01T10:00Z."""
        return ManualClock(T0)

    @pytest.fixture
    def orders(self, tmp_path: Path, clock: ManualClock) -> Iterator[Orders]:
        """An order book on a fresh database of this backend."""
        with parcelfsm.open(self.target(tmp_path), clock=clock) as orders:
            yield orders

    def test_a_sound_store_reports_no_damaged_pages(self, orders: Orders, clock: ManualClock) -> None:
        """`check_storage` (the backend's page check) is empty on a store in good order,
        before and after writes, and `replay --verify` stays clean."""
        assert orders.check_storage() == []
        story(orders, clock)
        assert orders.check_storage() == []
        assert orders.replay(verify=True).problems == ()

    # -- ordering and versions ----------------------------------------------------------

    def test_versions_are_gapless_and_positions_increase(self, orders: Orders, clock: ManualClock) -> None:
        """Each stream is numbered 1..n; the global position increases in append order."""
        story(orders, clock)
        events = list(orders.export_events())
        positions = [e.position for e in events]
        assert positions == sorted(positions) and len(set(positions)) == len(positions)
        for stream in {e.stream_id for e in events}:
            assert [e.version for e in orders.history(stream)] == list(
                range(1, len(orders.history(stream)) + 1)
            )

    def test_read_after_a_position_pages_through_the_log_in_order(
        self, orders: Orders, clock: ManualClock
    ) -> None:
        """`read(after, limit)` returns the next events in position order, nothing skipped."""
        story(orders, clock)
        everything = list(orders.export_events())
        seen, last = [], 0
        while page := orders.read(after=last, limit=3):
            assert len(page) <= 3
            seen.extend(page)
            last = page[-1].position
        assert seen == everything
        assert orders.read(after=everything[-1].position) == []

    def test_history_reads_back_exactly_what_was_appended(self, orders: Orders, clock: ManualClock) -> None:
        """Appended events come back equal, field for field (times, data, keys, hashes)."""
        appended = orders.record("o-1", "order.placed", PLACED, key="k-1")
        clock.advance(days=1)
        appended += orders.record("o-1", "order.shipped", SHIPPED)
        assert orders.history("o-1") == appended

    # -- optimistic concurrency -----------------------------------------------------------

    def test_expect_version_refuses_a_stream_that_moved_on(self, orders: Orders, clock: ManualClock) -> None:
        """`expect_version` is checked against the stored head; nothing is appended."""
        orders.record("o-1", "order.placed", PLACED)
        with pytest.raises(ConcurrencyConflict):
            orders.record("o-1", "order.shipped", SHIPPED, expect_version=0)
        assert len(orders.history("o-1")) == 1
        assert orders.record("o-1", "order.shipped", SHIPPED, expect_version=1)[-1].version == 2

    def test_an_append_at_a_taken_version_is_a_conflict(self, orders: Orders) -> None:
        """The log refuses a second event at an existing (stream, version)."""
        [placed] = orders.record("o-1", "order.placed", PLACED)
        with pytest.raises(ConcurrencyConflict), orders.log.transaction():
            orders.log.append([_as_new(placed)], T0, head=(0, ""))
        assert orders.history("o-1") == [placed]

    # -- idempotency ----------------------------------------------------------------------

    def test_a_retried_key_returns_the_original_events_and_appends_nothing(self, orders: Orders) -> None:
        """Keys are global; the same command again is answered from the log."""
        first = orders.record("o-1", "order.placed", PLACED, key="k")
        again = orders.record("o-1", "order.placed", PLACED, key="k")
        assert again == first
        assert orders.log.count_events() == 1

    def test_a_key_reused_for_another_command_or_stream_is_a_conflict(self, orders: Orders) -> None:
        """Same key, different stream or data: `IdempotencyConflict`, nothing appended."""
        orders.record("o-1", "order.placed", PLACED, key="k")
        with pytest.raises(IdempotencyConflict):
            orders.record("o-2", "order.placed", PLACED, key="k")
        with pytest.raises(IdempotencyConflict):
            orders.record("o-1", "order.placed", {**PLACED, "amount": 1}, key="k")
        assert orders.log.count_events() == 1

    # -- batches ----------------------------------------------------------------------------

    def test_record_many_lands_the_good_commands_and_reports_the_bad(
        self, orders: Orders, clock: ManualClock
    ) -> None:
        """A refused command appends nothing; the others of the batch land."""
        results = orders.record_many(
            [
                ("o-1", "order.placed", PLACED),
                ("o-2", "order.shipped", SHIPPED),  # no such order
                Command("o-1", "order.shipped", SHIPPED, key="ship"),
                {"order_id": "o-1", "type": "order.cancelled", "data": {"by": "buyer"}},  # after shipment
            ]
        )
        assert [r.ok for r in results] == [True, False, True, False]
        assert isinstance(results[1].error, NotFound)
        assert isinstance(results[3].error, IllegalTransition)
        assert [e.type for e in orders.history("o-1")] == ["order.placed", "order.shipped"]
        assert orders.log.find_key("ship") is not None

    def test_an_atomic_batch_is_all_or_nothing(self, orders: Orders) -> None:
        """With `atomic=True` one refusal raises and nothing of the batch is appended."""
        orders.record("o-0", "order.placed", PLACED)
        batch = [("o-1", "order.placed", PLACED), ("o-1", "order.placed", PLACED)]
        with pytest.raises(IllegalTransition):
            orders.record_many(batch, atomic=True)
        assert orders.log.count_events() == 1
        assert orders.log.order_row("o-1") is None
        assert [r.ok for r in orders.record_many(batch[:1], atomic=True)] == [True]

    def test_a_batch_of_a_thousand_commands_appends_every_one(self, orders: Orders) -> None:
        """`record_many` of 1,000 commands over 1,000 orders: all appended, all projected."""
        batch = [(f"b-{i:04d}", "order.placed", PLACED) for i in range(1000)]
        assert all(r.ok for r in orders.record_many(batch))
        assert orders.log.count_events() == 1000
        assert len(orders.list(state="awaiting_shipment")) == 1000

    def test_a_failed_transaction_leaves_log_and_projections_unchanged(
        self, orders: Orders, clock: ManualClock
    ) -> None:
        """An exception inside a write transaction rolls back events, keys and projections."""
        story(orders, clock)
        before = (hashes(orders), orders.log.order_rows(), orders.log.deadline_rows())
        with pytest.raises(RuntimeError), orders.log.transaction():
            orders.record("o-9", "order.placed", PLACED, key="inside")
            raise RuntimeError("boom")
        assert (hashes(orders), orders.log.order_rows(), orders.log.deadline_rows()) == before
        assert orders.log.find_key("inside") is None

    # -- projections -----------------------------------------------------------------------

    def test_projections_equal_a_fold_of_every_stream(self, orders: Orders, clock: ManualClock) -> None:
        """The `orders` row and due index of each order are what a fold of its log gives."""
        story(orders, clock)
        for order_id in orders.log.order_rows():
            state = fold(orders.history(order_id))
            assert state is not None
            assert orders.log.order_row(order_id) == order_row(state)
            assert orders.log.deadlines_of(order_id) == sorted(
                projected(state), key=lambda d: (d.due_at, d.rank)
            )

    def test_a_rebuild_rewrites_the_same_projections_and_verify_is_clean(
        self, orders: Orders, clock: ManualClock
    ) -> None:
        """`replay` rebuilds byte-equal projections; `replay(verify=True)` finds nothing."""
        story(orders, clock)
        before = (orders.log.order_rows(), orders.log.deadline_rows())
        assert orders.replay().problems == ()
        assert (orders.log.order_rows(), orders.log.deadline_rows()) == before
        assert orders.replay(verify=True).problems == ()

    def test_due_lists_deadlines_soonest_first_and_counts_them(
        self, orders: Orders, clock: ManualClock
    ) -> None:
        """`due` is ordered by due time; `count_due` agrees with it."""
        story(orders, clock)
        due = orders.due(limit=1000)
        assert [d.due_at for d in due] == sorted(d.due_at for d in due)
        assert orders.count_due() == len(due)
        cut = due[len(due) // 2].due_at
        assert orders.count_due(cut) == sum(1 for d in due if d.due_at <= cut)

    def test_list_filters_by_state_alert_and_due_time(self, orders: Orders, clock: ManualClock) -> None:
        """`list` finds orders by any lifecycle's state, an active alert, a due time."""
        story(orders, clock)
        assert [r.stream_id for r in orders.list(state="cancelled")] == ["o-2"]
        assert [r.stream_id for r in orders.list(state="awaiting_seller")] == ["o-3"]
        assert [r.stream_id for r in orders.list(state="in_transit")] == ["o-1"]
        assert [r.stream_id for r in orders.list()] == ["o-1", "o-2", "o-3"]
        soon = orders.due(limit=1)[0]
        assert soon.order_id in [r.stream_id for r in orders.list(due_before=soon.due_at)]
        with pytest.raises(ValidationError):
            orders.list(state="teleported")

    def test_tick_fires_each_due_deadline_once(self, orders: Orders, clock: ManualClock) -> None:
        """A second tick at the same instant fires nothing; versions stay gapless."""
        story(orders, clock)
        clock.advance(days=40)
        fired = orders.tick()
        assert fired and orders.tick() == []
        assert orders.due(before=clock.now()) == []
        assert orders.replay(verify=True).problems == ()

    # -- portability ---------------------------------------------------------------------

    def test_the_same_history_hashes_byte_identically_to_the_in_memory_reference(
        self, orders: Orders, clock: ManualClock
    ) -> None:
        """Event semantics live above the backends: same commands → same rows and hashes."""
        story(orders, clock)
        reference_clock = ManualClock(T0)
        with parcelfsm.open("memory:", clock=reference_clock) as reference:
            story(reference, reference_clock)
            assert hashes(orders) == hashes(reference)
            ours = [e.to_json() | {"position": 0} for e in orders.export_events()]
            theirs = [e.to_json() | {"position": 0} for e in reference.export_events()]
            assert ours == theirs

    def test_several_streams_read_at_once_give_each_stream_whole_and_in_version_order(
        self, orders: Orders, clock: ManualClock
    ) -> None:
        """`select_stream_rows` (what `tick` reads a chunk with) returns, for ids given in
        any order and repeated, exactly each stream's rows as `select_stream` reads them:
        together, in version order, once; an unknown id adds nothing."""
        story(orders, clock)
        story(orders, clock, prefix="p")
        backend = orders.log.backend
        asked = ["p-3", "o-1", "nobody", "o-1", "p-1"]
        rows = backend.select_stream_rows(asked)
        by_stream: dict[str, list[Any]] = {}
        for name, group in itertools.groupby(rows, key=lambda r: r.stream_id):
            assert name not in by_stream, f"{name}'s rows are not together"
            by_stream[name] = list(group)
        assert set(by_stream) == {"p-3", "o-1", "p-1"}
        for name, got in by_stream.items():
            assert len(got) > 1
            assert got == backend.select_stream(name)
        assert backend.select_stream_rows([]) == []
        assert backend.select_stream_rows(["nobody"]) == []
        many = [f"x-{i}" for i in range(1200)] + ["o-2"]  # more ids than one query may take
        assert backend.select_stream_rows(many) == backend.select_stream("o-2")

    # -- lossless rows (a backend may store them compactly, never differently) ------------

    def test_a_bulk_insert_stores_interleaved_streams_exactly_as_row_by_row_inserts(
        self, tmp_path: Path
    ) -> None:
        """`insert_many` (an import's batch) of hostile rows — two streams interleaved, one
        continuing rows stored before — reads back exactly as the in-memory reference
        stores the same rows one call at a time."""
        backend = open_backend(self.target(tmp_path))
        reference = open_backend("memory:")
        streams = itertools.count()

        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
        @given(first=hostile_chains(), second=hostile_chains(), split=st.integers(0, 4))
        def round_trip(first: list[dict[str, Any]], second: list[dict[str, Any]], split: int) -> None:
            n = next(streams)
            a, b = chain_rows(f"a{n}", first), chain_rows(f"b{n}", second)
            before, after = a[:split], a[split:]
            bulk = [r for pair in itertools.zip_longest(after, b) for r in pair if r is not None]
            for store in (backend, reference):
                with store.transaction():
                    if before:
                        store.insert_events(before)
                    store.insert_many(bulk)
            for name in (f"a{n}", f"b{n}"):
                ours, theirs = backend.select_stream(name), reference.select_stream(name)
                assert [attrs.evolve(r, position=0) for r in ours] == [
                    attrs.evolve(r, position=0) for r in theirs
                ]
                assert [attrs.evolve(r, position=0) for r in ours] == [
                    r for r in a + b if r.stream_id == name
                ]

        try:
            round_trip()
        finally:
            backend.close()
            reference.close()

    def test_a_bulk_insert_meeting_a_taken_version_or_key_raises_and_writes_nothing(
        self, tmp_path: Path
    ) -> None:
        """`insert_many` keeps `insert_events`' rules: a taken (stream, version) is a
        `ConcurrencyConflict`, a taken key an `IdempotencyConflict`, and none of the
        call's rows or keys is left behind."""
        backend = open_backend(self.target(tmp_path))
        try:
            stored = chain_rows("s", [_plain_fields("k1")])
            with backend.transaction():
                backend.insert_events(stored)
            fresh = chain_rows("t", [_plain_fields(None), _plain_fields(None)])
            for rows, error in (
                ([*fresh, attrs.evolve(stored[0], key=None)], ConcurrencyConflict),
                ([*fresh, attrs.evolve(stored[0], stream_id="u")], IdempotencyConflict),
            ):
                with pytest.raises(error), backend.transaction():
                    backend.insert_many(rows, [KeyRow("k-t", "t", 1, 1, None)])
                assert backend.select_stream("t") == [] and backend.select_stream("u") == []
                assert backend.select_key("k-t") is None
                assert backend.counts() == (1, 1)
        finally:
            backend.close()

    def test_hostile_rows_come_back_byte_exact_like_the_in_memory_reference(self, tmp_path: Path) -> None:
        """Rows of unicode, huge integers, policy-like substrings, NULLs, hashes that are
        not lowercase hex and broken chains: every read gives back exactly the rows given,
        as the in-memory reference does (a compact format must be lossless)."""
        backend = open_backend(self.target(tmp_path))
        reference = open_backend("memory:")
        streams = itertools.count()

        @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
        @given(chain=hostile_chains())
        def round_trip(chain: list[dict[str, Any]]) -> None:
            name = f"s{next(streams)}-{chain[0]['stream_suffix']}"
            rows = chain_rows(name, chain)
            for store in (backend, reference):
                with store.transaction():
                    positions = store.insert_events(rows)
                given_back = [attrs.evolve(r, position=p) for r, p in zip(rows, positions, strict=True)]
                assert store.select_stream(name) == given_back
                assert store.select_after(positions[0] - 1, len(rows)) == given_back
                assert store.select_streams((name, 0), len(rows)) == given_back
                assert store.head(name) == (rows[-1].version, rows[-1].hash)

        try:
            round_trip()
            for name in ("hand-picked", "policy-twice"):
                rows = chain_rows(name, HAND_PICKED[name])
                with backend.transaction():
                    positions = backend.insert_events(rows)
                assert backend.select_stream(name) == [
                    attrs.evolve(r, position=p) for r, p in zip(rows, positions, strict=True)
                ]
        finally:
            backend.close()
            reference.close()


def _as_new(event: Any) -> Any:
    from parcelfsm.records import NewEvent

    return NewEvent(event.stream_id, event.version, event.type, event.data, event.occurred_at)
