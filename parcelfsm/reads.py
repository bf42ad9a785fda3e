"""The read side of `Orders`: one order's story and view, the due index, lists, the log.

Every read runs in a snapshot (`EventLog.snapshot`): it never takes the write lock and
answers at once from the last committed state while another process writes.
"""

from __future__ import annotations

import builtins
import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from typing import Any

from parcelfsm.advice import Advice
from parcelfsm.allowed import Allowed
from parcelfsm.clock import Clock, to_utc
from parcelfsm.deadlines import Deadline
from parcelfsm.decide import check_order_id, fire_due
from parcelfsm.errors import CorruptLog, NotFound, ParcelFsmError, ValidationError, quote
from parcelfsm.fold import fold, fold_at
from parcelfsm.orders_filter import order_filter
from parcelfsm.records import NewEvent, StoredEvent
from parcelfsm.state import OrderState
from parcelfsm.store import EventLog, OrderRow
from parcelfsm.store.audit import LogHead
from parcelfsm.views import OrderView, build_view

_END_OF_TIME = dt.datetime.max.replace(tzinfo=dt.UTC)


def folded(order_id: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Fold stored events with `fn`: a stream that does not fold is a broken log
    (`CorruptLog`, exit 5), not the caller's bad input."""
    try:
        return fn(*args, **kwargs)
    except CorruptLog:
        raise
    except ParcelFsmError as exc:
        raise CorruptLog(
            f"order {quote(order_id)}: the stored stream does not fold ({exc.type}: {exc.message})"
        ) from None


class OrderReads:
    """Reads over an `EventLog` at the instant of an injected clock."""

    log: EventLog
    clock: Clock

    def now(self) -> dt.datetime:
        """The injected clock's current instant."""
        return to_utc(self.clock.now(), "clock", bounded=False)

    def history(self, order_id: str) -> list[StoredEvent]:
        """The stream's events in version order (NotFound when there are none)."""
        with self.log.snapshot():
            events = self.log.read_stream(check_order_id(order_id))
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
        """The order as of `at` (default now): docs/rules.md "Reading at an instant".

        Folds the events that had occurred by `at` and applies, without writing, every
        deadline due by then (listed under `unfired`). With `as_recorded`, folds only
        what had been written by `at` and applies nothing (the audit view).
        """
        when = to_utc(at, "at", bounded=False) if at is not None else self.now()
        events = self.history(order_id)
        unfired: list[NewEvent] = []
        if as_recorded:
            # the prefix written by `when` (a clock set backwards must not leave gaps)
            written = list(itertools.takewhile(lambda e: e.recorded_at <= when, events))
            state = folded(order_id, fold, written)
        else:
            state = folded(order_id, fold_at, events, when)
            if state is not None:
                state, unfired = folded(order_id, fire_due, state, when, virtual=True)
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
        until = to_utc(before, "before", bounded=False) if before is not None else _END_OF_TIME
        with self.log.snapshot():
            return self.log.due(until, limit)

    def count_due(self, before: dt.datetime | str | None = None) -> int:
        """How many open deadlines are due at or before `before` (all when None)."""
        until = to_utc(before, "before", bounded=False) if before is not None else _END_OF_TIME
        with self.log.snapshot():
            return self.log.count_due(until)

    def read(self, after: int = 0, limit: int = 1000) -> list[StoredEvent]:
        """Up to `limit` stored events after global `position` `after`, in position order.

        Remember the last position seen and ask again: no event is ever skipped, even one
        committed late by a concurrent writer (see docs/architecture.md).
        """
        if isinstance(after, bool) or not isinstance(after, int) or after < 0:
            raise ValidationError("after: a position, 0 or more")
        if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= 100_000:
            raise ValidationError("limit: a whole number from 1 to 100000")
        with self.log.snapshot():
            return self.log.read(after, limit)

    def head(self) -> LogHead:
        """The digest of the whole log in position order: keep `head().token` elsewhere and
        `replay(verify=True, expect_head=token)` later proves nothing up to it changed."""
        with self.log.snapshot():
            return self.log.log_head()

    def export_events(self, order_id: str | None = None) -> Iterator[StoredEvent]:
        """Every stored event (or one order's), in log order."""
        if order_id is not None:
            yield from self.history(order_id)
            return
        with self.log.snapshot():
            yield from self.log.iter_events()

    def list(
        self,
        state: str | None = None,
        *,
        alert: str | None = None,
        due_before: dt.datetime | str | None = None,
        limit: int | None = None,
    ) -> builtins.list[OrderRow]:
        """Orders by id from the projections: in a lifecycle `state` (any of the three
        machines' states), with an active `alert` (as of the order's last write), or with
        a deadline due by `due_before`."""
        where = order_filter(
            state, alert, to_utc(due_before, "due_before", bounded=False) if due_before else None
        )
        with self.log.snapshot():
            rows = self.log.orders(where)
            return builtins.list(itertools.islice(rows, limit) if limit is not None else rows)
