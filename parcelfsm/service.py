"""The service: decide → catch up → append → evolve, in one transaction per command.

`Orders` is what `parcelfsm.open()` returns and what the CLI drives (docs/api.md).
It holds the clock and the policy for new orders; it contains no SQL, no formatting
and no click. `Orders` is generic in its clock: `open(…, clock=ManualClock(…))` is an
`Orders[ManualClock]`, so `orders.clock.advance(…)` type-checks; without a clock it
is an `Orders[SystemClock]`.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, Literal, cast, overload

import attrs
from typing_extensions import TypeVar

from parcelfsm.advice import Advice
from parcelfsm.allowed import Allowed
from parcelfsm.clock import Clock, SystemClock, to_utc
from parcelfsm.deadlines import Deadline
from parcelfsm.decide import check_order_id, decide, fire_due, stored_data
from parcelfsm.errors import (
    ConcurrencyConflict,
    IdempotencyConflict,
    NotFound,
    ParcelFsmError,
    ValidationError,
)
from parcelfsm.events import from_data
from parcelfsm.fold import evolve, fold
from parcelfsm.ingest import IngestReport, ingest
from parcelfsm.policy import Policy
from parcelfsm.records import NewEvent, StoredEvent, fingerprint
from parcelfsm.replay import ReplayReport, deadline_tuple, projected, verify_chain, what_if
from parcelfsm.state import OrderState
from parcelfsm.store import EventStore, OrderRow, SQLiteStore
from parcelfsm.transfer import ImportReport, import_lines
from parcelfsm.views import OrderView, build_view

RETRIES = 5
STATE_CACHE = 10_000
Progress = Callable[[int, str], Any]
#: the clock type of an order book (`Orders[ManualClock]`); bare `Orders` is `Orders[Clock]`
C = TypeVar("C", bound=Clock, default=Clock, covariant=True)
K = TypeVar("K", bound=Clock)


class NoProgress:
    """Stands in for a progress bar when none is wanted."""

    def __enter__(self) -> NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        return None


def _surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _same_command(
    type_name: str, data: dict[str, Any] | None, stored: dict[str, Any], policy: Policy
) -> bool:
    """Whether `data` would be stored as `stored` (the recorded policy aside)."""
    try:
        candidate = stored_data(type_name, from_data(type_name, data).to_data(), policy)
    except ParcelFsmError:
        return False
    return {k: v for k, v in candidate.items() if k != "policy"} == {
        k: v for k, v in stored.items() if k != "policy"
    }


def _compare(store: EventStore, order_id: str, state: OrderState) -> list[str]:
    problems: list[str] = []
    stored = store.order_row(order_id)
    rebuilt = order_row(state)
    if stored is None:
        problems.append(f"{order_id}: missing from the orders projection")
    elif stored != rebuilt:
        for field in attrs.fields(OrderRow):
            a, b = getattr(stored, field.name), getattr(rebuilt, field.name)
            if a != b:
                problems.append(f"{order_id}: projection {field.name} is {a!r}, the log says {b!r}")
    have = [deadline_tuple(d) for d in store.deadlines_of(order_id)]
    want = [deadline_tuple(d) for d in projected(state)]
    if sorted(have, key=repr) != sorted(want, key=repr):
        problems.append(f"{order_id}: projected deadlines {have} differ from the log's {want}")
    return problems


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
    """Fold the events that had occurred by `at` (docs/rules.md, "Reading at an instant").

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


class Orders(Generic[C]):
    """An order book on one event store (docs/api.md lists the calls).

    `clock` is the clock it was opened with, typed as such (`Orders[ManualClock]`);
    the default is a `SystemClock`, which reads the wall clock at every call.
    """

    @overload
    def __init__(
        self: Orders[SystemClock], store: EventStore, *, clock: None = None, policy: Policy | None = None
    ) -> None: ...
    @overload
    def __init__(self, store: EventStore, *, clock: C, policy: Policy | None = None) -> None: ...

    def __init__(
        self,
        store: EventStore,
        *,
        clock: C | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.store = store
        self.clock: C = cast(C, clock if clock is not None else SystemClock())
        self.policy = policy or Policy.default()
        self._states: OrderedDict[str, tuple[int, str, OrderState]] = OrderedDict()

    def _load(self, order_id: str) -> tuple[OrderState | None, tuple[int, str]]:
        """The order's folded state and stream head; the state comes from a small cache
        while the head (version, hash) is unchanged.

        The head is read inside the caller's transaction, so a write by another process
        always forces a fresh fold. Cached states are never mutated (fold and evolve copy).
        """
        head = self.store.head(order_id)
        if head[0] == 0:
            return None, head
        hit = self._states.get(order_id)
        if hit is not None and (hit[0], hit[1]) == head:
            self._states.move_to_end(order_id)
            return hit[2], head
        state = fold(self.store.read_stream(order_id))
        if state is not None:
            self._remember(order_id, head[0], head[1], state)
        return state, head

    def _remember(self, order_id: str, version: int, head_hash: str, state: OrderState) -> None:
        self._states[order_id] = (version, head_hash, state)
        self._states.move_to_end(order_id)
        if len(self._states) > STATE_CACHE:
            self._states.popitem(last=False)

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Close the database."""
        self.store.close()

    def __enter__(self) -> Orders[C]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def now(self) -> dt.datetime:
        """The injected clock's current instant."""
        return to_utc(self.clock.now(), "clock", bounded=False)

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
        now = to_utc(self.now(), "now")  # events are dated 1970 … 9000 (see clock.to_utc)
        when = to_utc(at, "at") if at is not None else now
        check_order_id(order_id)
        if key is not None and (
            not isinstance(key, str) or not 1 <= len(key) <= 256 or not key.isprintable() or _surrogate(key)
        ):
            raise ValidationError("key: an idempotency key is 1 to 256 printable characters")
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
                    original = hit[1][-1]
                    same = (original.stream_id, original.type) == (order_id, type_name)
                    if same and hit[0] is None:  # a key that arrived by import
                        same = _same_command(type_name, data, original.data, self.policy)
                    elif same:
                        same = hit[0] == fp
                    if not same:
                        raise IdempotencyConflict(
                            f"key {key!r} was used for another command (stream, type or data differ)"
                        )
                    return hit[1]
            state, head = self._load(order_id)
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
            stored = self.store.append(decision.events, now, head)
            self.store.save_projection(order_row(decision.state), projected(decision.state))
            self._remember(order_id, stored[-1].version, stored[-1].hash, decision.state)
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
        target = to_utc(to, "to", bounded=False)
        stored: list[StoredEvent] = []
        planned: list[NewEvent] = []
        for order_id in self.store.streams_due(target):
            with self.store.transaction():
                state, head = self._load(order_id)
                if state is None:
                    continue
                after, fired = fire_due(state, target)
                if dry_run or not fired:
                    planned.extend(fired)
                    continue
                appended = self.store.append(fired, target, head)
                self.store.save_projection(order_row(after), projected(after))
                self._remember(order_id, appended[-1].version, appended[-1].hash, after)
                stored.extend(appended)
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
        """The order as of `at` (default now): docs/rules.md, "Reading at an instant".

        Folds the events that had occurred by `at` and applies, without writing, every
        deadline due by then (listed under `unfired`). With `as_recorded`, folds only
        what had been written by `at` and applies nothing (the audit view).
        """
        when = to_utc(at, "at", bounded=False) if at is not None else self.now()
        events = self.history(order_id)
        unfired: list[NewEvent] = []
        if as_recorded:
            # the prefix written by `when` (a clock set backwards must not leave gaps)
            written = itertools.takewhile(lambda e: e.recorded_at <= when, events)
            state = fold(written)
        else:
            state = fold_at(events, when)
            if state is not None:
                state, unfired = fire_due(state, when, virtual=True)
        if state is None:
            raise NotFound(f"order {order_id!r} did not exist at {at}")
        return build_view(state, when, unfired)

    def allowed(self, order_id: str, at: dt.datetime | str | None = None) -> list[Allowed]:
        """Every command type with whether it is legal now (or at `at`), and why not.

        Judged on the state `show` reads, by the machine tables and a dry decide
        (`parcelfsm.allowed`); the same list is `allowed` in `show --json`.
        """
        return self.show(order_id, at=at).allowed

    def advise(self, order_id: str, at: dt.datetime | str | None = None) -> list[Advice]:
        """What the buyer should do now and by when (the advice of `show`)."""
        return list(self.show(order_id, at=at).advice)

    def due(self, before: dt.datetime | str | None = None, limit: int = 100) -> list[Deadline]:
        """Open deadlines across all orders, soonest first (paused ones excluded)."""
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 1_000_000:
            raise ValidationError("limit: a whole number from 1 to 1000000")
        until = to_utc(before, "before", bounded=False) if before is not None else None
        until = until or dt.datetime.max.replace(tzinfo=dt.UTC)
        return self.store.due(until, limit)

    def count_due(self, before: dt.datetime | str | None = None) -> int:
        """How many open deadlines `due(before=…)` would list without a limit."""
        until = to_utc(before, "before", bounded=False) if before is not None else None
        until = until or dt.datetime.max.replace(tzinfo=dt.UTC)
        # TODO(lead): use the store's count_due (SELECT count(*) on the due index) once
        # the store seam has it; until then count the rows `due` would return.
        return len(self.store.due(until, 1_000_000))

    # -- replay, import, ingestion ----------------------------------------------------------

    def replay(
        self,
        verify: bool = False,
        policy: Policy | None = None,
        progress: Progress | None = None,
    ) -> ReplayReport:
        """Rebuild every projection from the log; or verify it; or what-if a policy.

        - plain: clear and rewrite `orders` and `deadlines` from a fold of each stream.
        - `verify`: write nothing; check every stream's versions and hash chain and
          that the stored projections equal the rebuilt ones; `problems` lists each.
        - `policy`: write nothing; replay every order's commands under `policy` and
          report, per order, the states, money and deadlines that would differ now.
        """
        total = self.store.count_streams()
        bar = progress(total, "replay") if progress else NoProgress()
        events = 0
        if policy is not None:
            now = self.now()
            differences: dict[str, list[str]] = {}
            with bar:
                for order_id, stream in self.store.iter_streams():
                    events += len(stream)
                    actual = fold_at(stream, now)
                    if actual is not None:
                        actual, _ = fire_due(actual, now, virtual=True)
                        diffs = what_if(stream, policy, now, actual)
                        if diffs:
                            differences[order_id] = diffs
                    bar.update(1)
            return ReplayReport("what-if", total, events, (), differences)
        problems: list[str] = verify_chain(self.store.raw_event_rows()) if verify else []
        seen: set[str] = set()
        with bar, self.store.transaction():
            if not verify:
                self.store.clear_projections()
            for order_id, stream in self.store.iter_streams():
                events += len(stream)
                seen.add(order_id)
                bar.update(1)
                try:
                    state = fold(stream, strict=verify)
                except ParcelFsmError as exc:
                    problems.append(f"{order_id}: the log does not fold: {exc.type}: {exc.message}")
                    continue
                assert state is not None
                if verify:
                    problems += _compare(self.store, order_id, state)
                else:
                    self.store.save_projection(order_row(state), projected(state))
            if verify:
                for extra in sorted(self.store.projected_ids() - seen):
                    problems.append(f"{extra}: projected but has no events in the log")
        return ReplayReport("verify" if verify else "rebuild", total, events, tuple(problems))

    def import_lines(self, lines: Iterable[str], progress: Progress | None = None) -> ImportReport:
        """Import JSON lines of stored events (see `parcelfsm.transfer`)."""
        items = list(lines)
        bar = progress(len(items), "import") if progress else NoProgress()
        with bar:
            return import_lines(self.store, items, self.now(), order_row, progress=bar.update)

    def import_events(self, events: Iterable[dict[str, Any]]) -> ImportReport:
        """Import stored events given as dicts (the `export` / `history --json` form)."""
        return self.import_lines(json.dumps(e) for e in events)

    def ingest_tracking(self, order_id: str, payload: Any, format: str = "auto") -> IngestReport:
        """Append the scans of a carrier / aggregator payload (see `parcelfsm.ingest`)."""
        return ingest(self, order_id, payload, format)

    def export_events(self, order_id: str | None = None) -> Iterator[StoredEvent]:
        """Every stored event (or one order's), in log order."""
        if order_id is not None:
            yield from self.history(order_id)
            return
        yield from self.store.iter_events()


@overload
def open(
    path: str = "parcelfsm.db",
    *,
    clock: None = None,
    policy: Policy | None = None,
    synchronous: str = "FULL",
) -> Orders[SystemClock]: ...
@overload
def open(
    path: str = "parcelfsm.db",
    *,
    clock: K,
    policy: Policy | None = None,
    synchronous: str = "FULL",
) -> Orders[K]: ...


def open(
    path: str = "parcelfsm.db",
    *,
    clock: Clock | None = None,
    policy: Policy | None = None,
    synchronous: str = "FULL",
) -> Orders[Any]:
    """Open (creating if needed) an order book stored in the SQLite file at `path`.

    Args:
        path: the SQLite file (`":memory:"` for a throwaway in-memory book).
        clock: where time comes from; default `SystemClock()` (the wall clock, read at
            every call, so freezegun freezes it). Pass a `ManualClock` in tests: the
            book is then typed `Orders[ManualClock]` and `orders.clock.advance(...)`
            type-checks.
        policy: the rules new orders are placed under (default `Policy.default()`).
        synchronous: SQLite's `synchronous` pragma (`FULL` by default).
    """
    store = SQLiteStore(path, synchronous=synchronous)
    if clock is None:
        return Orders(store, policy=policy)
    return Orders(store, clock=clock, policy=policy)
