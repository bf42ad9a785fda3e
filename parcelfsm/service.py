"""The service: decide → catch up → append → evolve, in one transaction per command.

`Orders` is what `parcelfsm.open()` returns and what the CLI drives (CONTRACT §5).
It holds the clock and the policy for new orders; it contains no SQL, no formatting
and no click.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from typing import Any, Literal, overload

from parcelfsm.advice import Advice
from parcelfsm.clock import Clock, SystemClock, to_utc
from parcelfsm.deadlines import Deadline, open_deadlines
from parcelfsm.decide import check_order_id, decide, fire_due
from parcelfsm.errors import ConcurrencyConflict, IdempotencyConflict, NotFound, ParcelFsmError
from parcelfsm.fold import evolve, fold
from parcelfsm.policy import Policy
from parcelfsm.records import NewEvent, StoredEvent, fingerprint
from parcelfsm.state import OrderState
from parcelfsm.store import EventStore, OrderRow, SQLiteStore
from parcelfsm.views import OrderView, build_view

RETRIES = 5


def order_row(state: OrderState) -> OrderRow:
    """The `orders` projection row of a state."""
    m = state.escrow
    return OrderRow(
        state.order_id,
        state.version,
        state.order,
        state.parcel,
        state.dispute_state,
        m.currency,
        m.paid,
        m.held,
        m.released_to_seller,
        m.refunded_to_buyer,
        state.policy.version,
    )


def fold_at(events: Iterable[StoredEvent], at: dt.datetime) -> OrderState | None:
    """Fold the events that had occurred by `at` (CONTRACT §4 "Reading at an instant").

    A scan whose carrier time precedes the shipment it was recorded after cannot be
    applied before that shipment; it is left out of the earlier view.
    """
    state: OrderState | None = None
    for event in events:
        if event.occurred_at > at:
            continue
        try:
            state = evolve(state, event)
        except ParcelFsmError:
            if event.type != "parcel.scanned":
                raise
    return state


class Orders:
    """An order book on one event store (see CONTRACT §5 for the calls)."""

    def __init__(
        self,
        store: EventStore,
        *,
        clock: Clock | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.store = store
        self.clock: Clock = clock or SystemClock()
        self.policy = policy or Policy.default()

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the database."""
        self.store.close()

    def __enter__(self) -> Orders:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now(self) -> dt.datetime:
        """The injected clock's current instant."""
        return to_utc(self.clock.now(), "clock")

    # -- commands -------------------------------------------------------------------------

    def record(
        self,
        order_id: str,
        type: str,
        data: dict[str, Any] | None = None,
        *,
        key: str | None = None,
        at: dt.datetime | str | None = None,
        expect_version: int | None = None,
    ) -> list[StoredEvent]:
        """Validate a command and append it, after firing the stream's overdue deadlines.

        Returns the appended events (catch-up first, the command last); a repeated
        `key` with the same command returns the original events and appends nothing.

        Raises:
            ValidationError, IllegalTransition, WindowClosed, OutOfOrder, NotFound,
            IdempotencyConflict, ConcurrencyConflict (only with `expect_version`).
        """
        now = self.now()
        when = to_utc(at, "at") if at is not None else now
        check_order_id(order_id)
        fp = fingerprint(order_id, type, data if data is not None else {})
        for attempt in range(RETRIES):
            try:
                return self._record_once(order_id, type, data, key, fp, when, now, expect_version)
            except ConcurrencyConflict:
                if expect_version is not None or attempt == RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _record_once(
        self,
        order_id: str,
        type_name: str,
        data: dict[str, Any] | None,
        key: str | None,
        fp: str,
        at: dt.datetime,
        now: dt.datetime,
        expect_version: int | None,
    ) -> list[StoredEvent]:
        with self.store.transaction():
            if key is not None:
                hit = self.store.find_key(key)
                if hit is not None:
                    if hit[0] != fp:
                        raise IdempotencyConflict(
                            f"key {key!r} was used for another command (stream, type or data differ)"
                        )
                    return hit[1]
            events = self.store.read_stream(order_id)
            state = fold(events)
            current = state.version if state else 0
            if expect_version is not None and expect_version != current:
                raise ConcurrencyConflict(f"order {order_id!r} is at version {current}, not {expect_version}")
            decision = decide(
                state,
                order_id,
                type_name,
                data,
                at=at,
                now=now,
                policy=self.policy,
                key=key,
                fingerprint=fp,
            )
            stored = self.store.append(decision.events, now)
            self.store.save_projection(order_row(decision.state), open_deadlines(decision.state))
            return stored

    @overload
    def advance(self, to: dt.datetime | str, dry_run: Literal[False] = False) -> list[StoredEvent]: ...
    @overload
    def advance(self, to: dt.datetime | str, dry_run: Literal[True]) -> list[NewEvent]: ...
    @overload
    def advance(self, to: dt.datetime | str, dry_run: bool) -> list[StoredEvent] | list[NewEvent]: ...

    def advance(self, to: dt.datetime | str, dry_run: bool = False) -> list[StoredEvent] | list[NewEvent]:
        """Fire every deadline due at or before `to`, across all orders, in due order.

        Fired events get `recorded_at = to`. With `dry_run`, returns what would fire
        and writes nothing.
        """
        target = to_utc(to, "to")
        stored: list[StoredEvent] = []
        planned: list[NewEvent] = []
        for order_id in self.store.streams_due(target):
            with self.store.transaction():
                state = fold(self.store.read_stream(order_id))
                if state is None:
                    continue
                after, fired = fire_due(state, target)
                if dry_run or not fired:
                    planned.extend(fired)
                    continue
                stored.extend(self.store.append(fired, target))
                self.store.save_projection(order_row(after), open_deadlines(after))
        if dry_run:
            return sorted(planned, key=lambda e: (e.occurred_at, e.stream_id, e.version or 0))
        return sorted(stored, key=lambda e: (e.occurred_at, e.position))

    def tick(self) -> list[StoredEvent]:
        """`advance` to now."""
        return self.advance(self.now())

    # -- reads ----------------------------------------------------------------------------

    def history(self, order_id: str) -> list[StoredEvent]:
        """The stream's events in version order (NotFound when there are none)."""
        events = self.store.read_stream(check_order_id(order_id))
        if not events:
            raise NotFound(f"order {order_id!r} does not exist")
        return events

    def state(self, order_id: str, at: dt.datetime | str | None = None) -> OrderState:
        """The folded state at an instant (deadlines due by then applied)."""
        view = self.show(order_id, at=at)
        assert view.state is not None
        return view.state

    def show(
        self, order_id: str, at: dt.datetime | str | None = None, as_recorded: bool = False
    ) -> OrderView:
        """The order as of `at` (default now): CONTRACT §4 "Reading at an instant".

        Folds the events that had occurred by `at` and applies, without writing, every
        deadline due by then (listed under `unfired`). With `as_recorded`, folds only
        what had been written by `at` and applies nothing (the audit view).
        """
        when = to_utc(at, "at") if at is not None else self.now()
        events = self.history(order_id)
        unfired: list[NewEvent] = []
        if as_recorded:
            state = fold(e for e in events if e.recorded_at <= when)
        else:
            state = fold_at(events, when)
            if state is not None:
                state, unfired = fire_due(state, when, virtual=True)
        if state is None:
            raise NotFound(f"order {order_id!r} did not exist at {at}")
        return build_view(state, when, unfired)

    def advise(self, order_id: str, at: dt.datetime | str | None = None) -> list[Advice]:
        """What the buyer should do now and by when (the advice of `show`)."""
        return list(self.show(order_id, at=at).advice)

    def due(self, before: dt.datetime | str | None = None, limit: int = 100) -> list[Deadline]:
        """Open deadlines across all orders, soonest first (paused ones excluded)."""
        until = to_utc(before, "before") if before is not None else dt.datetime.max.replace(tzinfo=dt.UTC)
        return self.store.due(until, limit)

    def export_events(self, order_id: str | None = None) -> Iterator[StoredEvent]:
        """Every stored event (or one order's), in log order."""
        if order_id is not None:
            yield from self.history(order_id)
            return
        yield from self.store.iter_events()


def open(
    path: str = "parcelfsm.db",
    *,
    clock: Clock | None = None,
    policy: Policy | None = None,
    synchronous: str = "FULL",
) -> Orders:
    """Open (creating if needed) an order book stored in the SQLite file at `path`."""
    return Orders(SQLiteStore(path, synchronous=synchronous), clock=clock, policy=policy)
