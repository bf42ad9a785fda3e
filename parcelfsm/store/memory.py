"""`MemoryBackend`: the event log and its projections in plain Python structures.

For tests and `parcelfsm.testing` (`parcelfsm.open("memory:")`): no file, no driver,
the same semantics as every other backend (the store contract suite proves it).
Transactions keep an undo journal, so a rolled-back transaction or savepoint leaves
everything exactly as it was. One process, one thread: positions are handed out in
commit order trivially.
"""

from __future__ import annotations

import bisect
import contextlib
import functools
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

import attrs

from parcelfsm.errors import ConcurrencyConflict, IdempotencyConflict, ValidationError
from parcelfsm.store.projections import DeadlineRow, OrderFilter, OrderRow, ProjectionChange
from parcelfsm.store.recorder import EventRow, KeyRow


class MemoryBackend:
    """`Backend` in memory."""

    name = "memory"

    def __init__(self, *, read_only: bool = False) -> None:
        self.read_only = read_only
        self._events: list[EventRow] = []
        self._streams: dict[str, list[EventRow]] = {}
        self._keys: dict[str, KeyRow] = {}
        self._event_keys: set[str] = set()
        self._orders: dict[str, OrderRow] = {}
        self._deadlines: dict[str, list[DeadlineRow]] = {}
        self._undo: list[Callable[[], None]] | None = None

    # -- transactions -----------------------------------------------------------------

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """A write transaction; nested ones are savepoints (undo back to their mark)."""
        if self.read_only:
            raise ValidationError("the database is open read-only")
        outer = self._undo is None
        if outer:
            self._undo = []
        assert self._undo is not None
        mark = len(self._undo)
        try:
            yield
        except BaseException:
            while len(self._undo) > mark:
                self._undo.pop()()
            if outer:
                self._undo = None
            raise
        if outer:
            self._undo = None

    @contextlib.contextmanager
    def snapshot(self) -> Iterator[None]:
        """Reads in memory are always consistent (one thread)."""
        yield

    def _journal(self, undo: Callable[[], None]) -> None:
        assert self._undo is not None, "writes happen inside transaction()"
        self._undo.append(undo)

    # -- recorder ---------------------------------------------------------------------

    def insert_events(self, rows: Sequence[EventRow], keys: Sequence[KeyRow] = ()) -> list[int]:
        """Insert rows and keys atomically; duplicates raise the typed conflicts."""
        with self.transaction():
            positions: list[int] = []
            for row in rows:
                stream = self._streams.get(row.stream_id, [])
                if any(r.version == row.version for r in stream[-1:]) or row.version <= len(stream):
                    raise ConcurrencyConflict(f"order {row.stream_id!r} moved on concurrently")
                if row.key is not None and row.key in self._event_keys:
                    raise IdempotencyConflict(f"key {row.key!r} is already used by another event")
                stored = attrs.evolve(row, position=len(self._events) + 1)
                self._events.append(stored)
                self._streams.setdefault(row.stream_id, []).append(stored)
                if row.key is not None:
                    self._event_keys.add(row.key)
                self._journal(self._undo_event(stored))
                positions.append(stored.position)
            for key in keys:
                if key.key in self._keys:
                    raise IdempotencyConflict(f"key {key.key!r} was used by another command")
                self._keys[key.key] = key
                self._journal(self._undo_key(key.key))
            return positions

    def _undo_key(self, key: str) -> Callable[[], None]:
        def undo() -> None:
            del self._keys[key]

        return undo

    def _undo_event(self, row: EventRow) -> Callable[[], None]:
        def undo() -> None:
            self._events.pop()
            stream = self._streams[row.stream_id]
            stream.pop()
            if not stream:
                del self._streams[row.stream_id]
            if row.key is not None:
                self._event_keys.discard(row.key)

        return undo

    def insert_many(self, rows: Sequence[EventRow], keys: Sequence[KeyRow] = ()) -> None:
        """`insert_events` (nothing cheaper to do in memory)."""
        self.insert_events(rows, keys)

    def select_stream(self, stream_id: str, first: int = 1, last: int | None = None) -> list[EventRow]:
        """A stream's rows in a version range."""
        rows = self._streams.get(stream_id, [])
        return rows[max(first, 1) - 1 : last]

    def select_stream_rows(self, stream_ids: Sequence[str]) -> list[EventRow]:
        """Every row of these streams, stream by stream."""
        return [row for name in dict.fromkeys(stream_ids) for row in self._streams.get(name, ())]

    def select_after(self, position: int, limit: int) -> list[EventRow]:
        """Rows after a position (positions are 1..n, list index + 1)."""
        return self._events[max(position, 0) : max(position, 0) + limit]

    def select_streams(self, after: tuple[str, int], limit: int) -> list[EventRow]:
        """Rows after (stream_id, version), in that order."""
        out: list[EventRow] = []
        names = sorted(self._streams)
        start = bisect.bisect_left(names, after[0])
        for name in names[start:]:
            for row in self._streams[name]:
                if (name, row.version) > after:
                    out.append(row)
                    if len(out) >= limit:
                        return out
        return out

    def select_key(self, key: str) -> KeyRow | None:
        """A key's row."""
        return self._keys.get(key)

    def head(self, stream_id: str) -> tuple[int, str]:
        """(version, hash) of the last row of a stream."""
        rows = self._streams.get(stream_id)
        return (rows[-1].version, rows[-1].hash) if rows else (0, "")

    def counts(self) -> tuple[int, int]:
        """(streams, events)."""
        return len(self._streams), len(self._events)

    def check_pages(self) -> list[str]:
        """Nothing on disk to check."""
        return []

    def close(self) -> None:
        """Nothing to release."""

    def wait(self, seconds: float) -> None:
        """No other process writes to memory: nothing can wake us early, so just sleep."""
        time.sleep(max(0.0, seconds))

    # -- projections ------------------------------------------------------------------

    def save_projections(self, rows: Iterable[tuple[OrderRow, Sequence[DeadlineRow]]]) -> None:
        """Replace each order's row and deadlines."""
        with self.transaction():
            for order, deadlines in rows:
                sid = order.stream_id
                old = (self._orders.get(sid), self._deadlines.get(sid))
                self._orders[sid] = order
                self._deadlines[sid] = sorted(deadlines, key=lambda d: (d.due_us, d.rank))
                self._journal(functools.partial(self._restore, sid, *old))

    def update_projections(self, changes: Iterable[ProjectionChange]) -> None:
        """Write each order's row, drop the removed deadline kinds, write the upserted rows."""
        with self.transaction():
            for c in changes:
                sid = c.order.stream_id
                old = (self._orders.get(sid), self._deadlines.get(sid))
                drop = set(c.removed) | {d.kind for d in c.upserted}
                kept = [d for d in old[1] or () if d.kind not in drop]
                self._orders[sid] = c.order
                self._deadlines[sid] = sorted([*kept, *c.upserted], key=lambda d: (d.due_us, d.rank))
                self._journal(functools.partial(self._restore, sid, *old))

    def _restore(self, sid: str, order: OrderRow | None, deadlines: list[DeadlineRow] | None) -> None:
        if order is None:
            self._orders.pop(sid, None)
        else:
            self._orders[sid] = order
        if deadlines is None:
            self._deadlines.pop(sid, None)
        else:
            self._deadlines[sid] = deadlines

    def order_row(self, stream_id: str) -> OrderRow | None:
        """One order's row."""
        return self._orders.get(stream_id)

    def deadline_rows(self, stream_id: str) -> list[DeadlineRow]:
        """One order's deadlines."""
        return list(self._deadlines.get(stream_id, []))

    def _all_due(self, before_us: int) -> list[DeadlineRow]:
        rows = [d for ds in self._deadlines.values() for d in ds if d.due_us <= before_us]
        rows.sort(key=lambda d: (d.due_us, d.rank, d.set_by_version or 0, d.stream_id))
        return rows

    def select_due(self, before_us: int, limit: int) -> list[DeadlineRow]:
        """Deadlines due by `before_us`, soonest first."""
        return self._all_due(before_us)[:limit]

    def count_due(self, before_us: int) -> int:
        """How many deadlines are due by `before_us`."""
        return sum(1 for ds in self._deadlines.values() for d in ds if d.due_us <= before_us)

    def streams_due(self, before_us: int, limit: int) -> list[str]:
        """Orders with a deadline due by `before_us`, earliest first."""
        firsts = [
            (ds[0].due_us, sid) for sid, ds in self._deadlines.items() if ds and ds[0].due_us <= before_us
        ]
        return [sid for _, sid in sorted(firsts)[:limit]]

    def select_orders(self, where: OrderFilter, after: str, limit: int) -> list[OrderRow]:
        """Order rows matching `where`, by id."""
        out: list[OrderRow] = []
        for sid in sorted(s for s in self._orders if s > after):
            if _matches(self._orders[sid], self._deadlines.get(sid, []), where):
                out.append(self._orders[sid])
                if len(out) >= limit:
                    break
        return out

    def projected_ids(self) -> set[str]:
        """Ids with a projection row or deadlines."""
        return set(self._orders) | {sid for sid, ds in self._deadlines.items() if ds}

    def clear_projections(self) -> None:
        """Empty the projections."""
        with self.transaction():
            orders, deadlines = self._orders, self._deadlines
            self._orders, self._deadlines = {}, {}

            def undo() -> None:
                self._orders, self._deadlines = orders, deadlines

            self._journal(undo)


def _matches(row: OrderRow, deadlines: list[DeadlineRow], where: OrderFilter) -> bool:
    if where.order_state is not None and row.order_state != where.order_state:
        return False
    if where.parcel_state is not None and row.parcel_state != where.parcel_state:
        return False
    if where.dispute_state is not None and row.dispute_state != where.dispute_state:
        return False
    if where.alert is not None and where.alert not in row.alerts.split():
        return False
    return where.due_before_us is None or any(d.due_us <= where.due_before_us for d in deadlines)
