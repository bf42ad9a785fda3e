"""The service: decide → catch up → append → evolve, one transaction per batch.

`Orders` is what `parcelfsm.open()` returns and what the CLI drives. It composes the
pure core (fold, decide, deadlines) with an `EventLog` and holds the clock and the
policy for new orders; it contains no SQL, no formatting and no click. Maintenance
(replay, import, export, tracking ingestion) is in `parcelfsm.maintenance`.

`Orders` is generic in its clock: `open(…, clock=ManualClock(…))` is an
`Orders[ManualClock]`, so `orders.clock.advance(…)` type-checks; without a clock it is
an `Orders[SystemClock]` (docs/api.md).
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, Generic, TypeVar, cast, overload

from typing_extensions import TypeVar as DefaultTypeVar

from parcelfsm.clock import Clock, SystemClock, to_utc
from parcelfsm.commands import Command, Recorded, check_key
from parcelfsm.decide import Decision, check_order_id, decide, same_command
from parcelfsm.errors import ConcurrencyConflict, IdempotencyConflict, ParcelFsmError, ValidationError, quote
from parcelfsm.firing import DeadlineFiring
from parcelfsm.fold import fold
from parcelfsm.maintenance import Maintenance
from parcelfsm.policy import Policy
from parcelfsm.reads import OrderReads, folded
from parcelfsm.records import StoredEvent, fingerprint
from parcelfsm.state import OrderState
from parcelfsm.store import EventLog, open_backend
from parcelfsm.store.mapping import TimeCache, fold_events

RETRIES: Final = 8
#: seconds a command keeps retrying a busy database before `ConcurrencyConflict` (exit 4)
RETRY_BUDGET_S: Final = 60.0
STATE_CACHE: Final = 10_000


#: the clock type of an order book (`Orders[ManualClock]`); bare `Orders` is `Orders[Clock]`
C = DefaultTypeVar("C", bound=Clock, default=Clock, covariant=True)
K = TypeVar("K", bound=Clock)
T = TypeVar("T")


class Orders(OrderReads, DeadlineFiring, Maintenance, Generic[C]):
    """An order book on one event log (see docs/api.md for the calls).

    `clock` is the clock it was opened with, typed as such (`Orders[ManualClock]`);
    the default is a `SystemClock`, which reads the wall clock at every call.
    """

    @overload
    def __init__(
        self: Orders[SystemClock], log: EventLog, *, clock: None = None, policy: Policy | None = None
    ) -> None: ...
    @overload
    def __init__(self, log: EventLog, *, clock: C, policy: Policy | None = None) -> None: ...

    def __init__(self, log: EventLog, *, clock: C | None = None, policy: Policy | None = None) -> None:
        self.log = log
        self.clock: C = cast(C, clock if clock is not None else SystemClock())
        self.policy = policy or Policy.default()
        self._states: OrderedDict[str, tuple[int, str, OrderState]] = OrderedDict()
        #: inside `record_many`: the (state before, state after) of each command written
        self._pending: list[tuple[OrderState | None, OrderState]] | None = None

    @property
    def store(self) -> EventLog:
        """The event log (an alias of `log`)."""
        return self.log

    def _load(self, order_id: str) -> tuple[OrderState | None, tuple[int, str]]:
        """The order's folded state and stream head, from a small cache while the head
        (version, hash) is unchanged (read in the caller's transaction, so a write by
        another process forces a fresh fold; cached states are never mutated). An order
        not in the cache is read whole at once: its last row is the head."""
        hit = self._states.get(order_id)
        if hit is None:
            events = self.log.read_stream(order_id)
            if not events:
                return None, (0, "")
            state = folded(order_id, fold, events)
            if state is not None:
                self._remember(order_id, events[-1].version, events[-1].hash, state)
            return state, (events[-1].version, events[-1].hash)
        head = self.log.head(order_id)
        if head[0] == 0:
            return None, head
        if (hit[0], hit[1]) == head:
            self._states.move_to_end(order_id)
            return hit[2], head
        state = folded(order_id, fold, self.log.read_stream(order_id))
        if state is not None:
            self._remember(order_id, head[0], head[1], state)
        return state, head

    def _load_many(self, order_ids: Sequence[str]) -> dict[str, tuple[OrderState | None, tuple[int, str]]]:
        """`_load` of several orders: those not in the cache read in one query and folded
        with the light read-side fold a rebuild uses (`fold_events`), chain checked."""
        out: dict[str, tuple[OrderState | None, tuple[int, str]]] = {}
        cold = [i for i in order_ids if i not in self._states]
        if cold:
            times = TimeCache()
            streams = self.log.read_stream_rows(cold)
            for order_id in cold:
                rows = streams.get(order_id)
                if not rows:
                    out[order_id] = (None, (0, ""))
                    continue
                state = folded(order_id, fold, fold_events(rows, times))
                head = (rows[-1].version, rows[-1].hash)
                if state is not None:
                    self._remember(order_id, head[0], head[1], state)
                out[order_id] = (state, head)
        for order_id in order_ids:
            if order_id not in out:
                out[order_id] = self._load(order_id)
        return out

    def _remember(self, order_id: str, version: int, head_hash: str, state: OrderState) -> None:
        self._states[order_id] = (version, head_hash, state)
        self._states.move_to_end(order_id)
        if len(self._states) > STATE_CACHE:
            self._states.popitem(last=False)

    def close(self) -> None:
        """Close the database."""
        self.log.close()

    def __enter__(self) -> Orders[C]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- commands -------------------------------------------------------------------

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
            IdempotencyConflict, ConcurrencyConflict (with `expect_version`, or when the
            database stays busy past the retry budget).
        """
        command = Command(order_id, type, data, key, at, expect_version)
        return self._transact(lambda now: self._record_one(command, now), retry=expect_version is None)

    def record_many(
        self, commands: Iterable[Command | Mapping[str, Any] | tuple[Any, ...]], *, atomic: bool = False
    ) -> list[Recorded]:
        """Append many commands (any orders) in one transaction: one commit, one fsync.

        Returns one `Recorded` per command, in order: its events, or the typed error
        that refused it (a refused command appends nothing; the others land). With
        `atomic`, the first refusal is raised and nothing of the batch is appended. A
        failure of the database itself while writing (not a refusal) is raised and
        nothing of the batch is appended either.
        """
        if not isinstance(commands, Iterable) or isinstance(commands, str | bytes | Mapping):
            raise ValidationError("commands: expected an iterable of commands")
        batch = [Command.of(c) for c in commands]
        return self._transact(
            lambda now: self._batch(batch, now, atomic), retry=all(c.expect_version is None for c in batch)
        )

    def _batch(self, batch: list[Command], now: dt.datetime, atomic: bool) -> list[Recorded]:
        """The batch's commands, then the projections of every order they moved, written
        together (one statement per table for the batch, not per command)."""
        self._pending = []
        try:
            out = [self._record_in_batch(c, now, atomic) for c in batch]
            self.log.save_changes(self._pending)
        finally:
            self._pending = None
        return out

    def _transact(self, work: Callable[[dt.datetime], T], *, retry: bool) -> T:
        """`work(now)` in one write transaction; on `ConcurrencyConflict` (busy, or a
        writer elsewhere moved a stream) decided again on the new state after a
        jittered backoff, while the command's time budget lasts (never with
        `expect_version`: the caller asked for that exact version)."""
        now = to_utc(self.now(), "now")
        budget_ends = time.monotonic() + RETRY_BUDGET_S
        for attempt in itertools.count():
            try:
                with self.log.transaction():
                    return work(now)
            except ConcurrencyConflict:
                if not retry or attempt >= RETRIES - 1 or time.monotonic() >= budget_ends:
                    raise
                time.sleep(random.uniform(0, 0.01 * 2**attempt))
        raise AssertionError("unreachable")

    def _record_in_batch(self, command: Command, now: dt.datetime, atomic: bool) -> Recorded:
        if atomic:  # a refusal rolls the whole transaction back
            return Recorded(command, tuple(self._record_one(command, now)))
        if command.key is not None:
            # a savepoint: a key another command took meanwhile is found by the insert,
            # after this command's catch-up rows — they must go with it
            try:
                with self.log.transaction():
                    return Recorded(command, tuple(self._record_one(command, now)))
            except ConcurrencyConflict:
                raise
            except ParcelFsmError as exc:
                return Recorded(command, error=exc)
        # no savepoint (two statements per command): every refusal is raised before the
        # first write, and an error while writing aborts the whole batch
        try:
            decided = self._decide_one(command, now)
        except ConcurrencyConflict:
            raise
        except ParcelFsmError as exc:
            return Recorded(command, error=exc)
        if isinstance(decided, list):
            return Recorded(command, tuple(decided))
        return Recorded(command, tuple(self._write_one(command, *decided, now)))

    def _record_one(self, c: Command, now: dt.datetime) -> list[StoredEvent]:
        decided = self._decide_one(c, now)
        if isinstance(decided, list):
            return decided
        return self._write_one(c, *decided, now)

    def _decide_one(
        self, c: Command, now: dt.datetime
    ) -> list[StoredEvent] | tuple[OrderState | None, tuple[int, str], Decision]:
        """Everything before the first write: the checks, a retried key's original
        events (a list), or the state, stream head and decision to write."""
        when = to_utc(c.at, "at") if c.at is not None else now
        check_order_id(c.order_id)
        check_key(c.key)
        if c.expect_version is not None and (
            isinstance(c.expect_version, bool)
            or not isinstance(c.expect_version, int)
            or c.expect_version < 0
        ):
            raise ValidationError("expect_version: a whole number ≥ 0 (the order's current version)")
        if c.key is not None:
            hit = self.log.find_key(c.key)
            if hit is not None:
                return self._replayed(c, *hit)
        state, head = self._load(c.order_id)
        current = state.version if state else 0
        if c.expect_version is not None and c.expect_version != current:
            raise ConcurrencyConflict(f"order {c.order_id!r} is at version {current}, not {c.expect_version}")
        fp = fingerprint(c.order_id, c.type, c.data if c.data is not None else {}) if c.key else None
        decision = decide(
            state, c.order_id, c.type, c.data, at=when, now=now, policy=self.policy, key=c.key, fingerprint=fp
        )
        return state, head, decision

    def _write_one(
        self,
        c: Command,
        state: OrderState | None,
        head: tuple[int, str],
        decision: Decision,
        now: dt.datetime,
    ) -> list[StoredEvent]:
        """Append a decided command, write its projections, cache its state."""
        stored = self.log.append(decision.events, now, head)
        if self._pending is not None:  # a batch writes its projections at its end
            self._pending.append((state, decision.state))
        else:
            self.log.save_changes([(state, decision.state)])
        self._remember(c.order_id, stored[-1].version, stored[-1].hash, decision.state)
        return stored

    def _replayed(self, c: Command, fp: str | None, events: list[StoredEvent]) -> list[StoredEvent]:
        """A retried keyed command: its original events, or `IdempotencyConflict`."""
        original = events[-1]
        same = (original.stream_id, original.type) == (c.order_id, c.type)
        if same and fp is None:  # a key that arrived by import
            same = same_command(c.type, c.data, original.data, self.policy)
        elif same:
            same = fp == fingerprint(c.order_id, c.type, c.data if c.data is not None else {})
        if not same:
            raise IdempotencyConflict(
                f"key {quote(c.key)} was used for another command (stream, type or data differ)"
            )
        return events


@overload
def open(
    target: str = "parcelfsm.db",
    *,
    clock: None = None,
    policy: Policy | None = None,
    synchronous: str = "FULL",
    read_only: bool = False,
    create: bool = True,
    secret: bytes | None = None,
) -> Orders[SystemClock]: ...
@overload
def open(
    target: str = "parcelfsm.db",
    *,
    clock: K,
    policy: Policy | None = None,
    synchronous: str = "FULL",
    read_only: bool = False,
    create: bool = True,
    secret: bytes | None = None,
) -> Orders[K]: ...


def open(
    target: str = "parcelfsm.db",
    *,
    clock: Clock | None = None,
    policy: Policy | None = None,
    synchronous: str = "FULL",
    read_only: bool = False,
    create: bool = True,
    secret: bytes | None = None,
) -> Orders[Any]:
    """Open an order book on the database `target` names.

    Args:
        target: a file path or `sqlite:///PATH` (SQLite, the default), `memory:` (in
            memory, for tests), or `postgresql://…` (needs the `postgres` extra).
        clock: where every time comes from; default `SystemClock()` (the wall clock,
            read at every call, which freezegun also freezes). Pass a `ManualClock`
            in tests: the book is then typed `Orders[ManualClock]` and
            `orders.clock.advance(...)` type-checks.
        policy: the rules new orders are placed under; default `Policy.default()`.
        synchronous: SQLite's durability (`FULL` default, or `NORMAL`).
        read_only: serve reads only (also chosen for a file the process cannot write).
        create: create the database when missing (reads pass False: a missing file is
            `NotFound`, never created by a read).
        secret: makes each stream's hash chain an HMAC-SHA256 under this key.
    """
    backend = open_backend(target, read_only=read_only, create=create, synchronous=synchronous)
    log = EventLog(backend, secret=secret)
    if clock is None:
        return Orders(log, policy=policy)
    return Orders(log, clock=clock, policy=policy)
