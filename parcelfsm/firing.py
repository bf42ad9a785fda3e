"""Firing due deadlines across orders: `advance`, `tick`, and the timer loop's unit,
`fire_batch` (a part of `Orders`).

Orders are claimed and fired `batch` per transaction, so a crash between batches loses
nothing and duplicates nothing (the rest fire next time); on PostgreSQL the claim is
`FOR UPDATE SKIP LOCKED`, so workers on many hosts never fire one order twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final, Literal, overload

from parcelfsm.clock import to_utc
from parcelfsm.collector import collector_paused
from parcelfsm.decide import fire_due
from parcelfsm.errors import ValidationError
from parcelfsm.records import NewEvent, StoredEvent
from parcelfsm.state import OrderState
from parcelfsm.store import EventLog

#: orders fired per transaction by `tick`/`advance` (a crash loses nothing: the rest fire next time)
CHUNK: Final = 1000


class DeadlineFiring:
    """Deadline firing over an `EventLog`, for `Orders`."""

    log: EventLog

    def now(self) -> dt.datetime:
        raise NotImplementedError

    def _load(self, order_id: str) -> tuple[OrderState | None, tuple[int, str]]:
        raise NotImplementedError

    def _load_many(self, order_ids: Sequence[str]) -> dict[str, tuple[OrderState | None, tuple[int, str]]]:
        raise NotImplementedError

    def _remember(self, order_id: str, version: int, head_hash: str, state: OrderState) -> None:
        raise NotImplementedError

    @overload
    def advance(
        self, to: dt.datetime | str, dry_run: Literal[False] = False, *, batch: int = CHUNK
    ) -> list[StoredEvent]: ...
    @overload
    def advance(
        self, to: dt.datetime | str, dry_run: Literal[True], *, batch: int = CHUNK
    ) -> list[NewEvent]: ...
    @overload
    def advance(
        self, to: dt.datetime | str, dry_run: bool, *, batch: int = CHUNK
    ) -> list[StoredEvent] | list[NewEvent]: ...

    def advance(
        self, to: dt.datetime | str, dry_run: bool = False, *, batch: int = CHUNK
    ) -> list[StoredEvent] | list[NewEvent]:
        """Fire every deadline due at or before `to`, across all orders, in due order.

        Fired events get `recorded_at = to`. Orders are fired `batch` per transaction
        (default `CHUNK`); a crash between batches loses nothing (the rest fire next time).
        With `dry_run`, returns what would fire and writes nothing.
        """
        target = to_utc(to, "to", bounded=False)
        if isinstance(batch, bool) or not isinstance(batch, int) or not 1 <= batch <= 1_000_000:
            raise ValidationError("batch: a whole number from 1 to 1000000")
        if dry_run:
            planned: list[NewEvent] = []
            with self.log.snapshot():
                for order_id in self.log.streams_due(target):
                    state, _ = self._load(order_id)
                    if state is not None:
                        planned.extend(fire_due(state, target)[1])
            return sorted(planned, key=lambda e: (e.occurred_at, e.stream_id, e.version or 0))
        stored: list[StoredEvent] = []
        seen: set[str] = set()
        while True:
            fired, claimed = self.fire_batch(target, batch, seen)
            stored.extend(fired)
            if claimed < batch:
                break
        return sorted(stored, key=lambda e: (e.occurred_at, e.position))

    def fire_batch(
        self, target: dt.datetime, limit: int, seen: set[str] | None = None
    ) -> tuple[list[StoredEvent], int]:
        """Claim up to `limit` orders with deadlines due by `target` and fire them, in one
        transaction; return the fired events and how many orders were claimed (the timer
        loop's unit of work; orders in `seen` were already fired this run)."""
        seen = seen if seen is not None else set()
        stored: list[StoredEvent] = []
        with collector_paused():  # a chunk's states and rows all live until it ends
            return self._fire_chunk(target, limit, seen, stored)

    def _fire_chunk(
        self, target: dt.datetime, limit: int, seen: set[str], stored: list[StoredEvent]
    ) -> tuple[list[StoredEvent], int]:
        with self.log.transaction():
            ids = [i for i in self.log.streams_due(target, limit) if i not in seen]
            seen.update(ids)
            loaded = self._load_many(ids)
            states: list[tuple[OrderState | None, OrderState]] = []
            writes: list[tuple[list[NewEvent], tuple[int, str]]] = []
            for order_id in ids:
                state, head = loaded[order_id]
                if state is None:
                    continue
                after, fired = fire_due(state, target)
                if fired:
                    writes.append((fired, head))
                states.append((state, after))
            appended = self.log.append_streams(writes, target)
            for events in appended:
                stored.extend(events)
            afters = {after.order_id: after for _, after in states}
            for events in appended:
                if events:
                    last = events[-1]
                    self._remember(last.stream_id, last.version, last.hash, afters[last.stream_id])
            self.log.save_changes(states)
        return stored, len(ids)

    def tick(self, *, batch: int = CHUNK) -> list[StoredEvent]:
        """`advance` to now."""
        return self.advance(self.now(), batch=batch)
