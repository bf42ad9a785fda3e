"""`replay --verify` in one read of the log (see `Maintenance.replay`).

Each stream's rows are read once, in stream order, and checked there: the hash chain
over the exact stored text (`stream_problem`), the positions (`PositionScan`: gapless,
increasing with each stream's versions), the strict fold, and the stored projections
(the order rows read a page at a time beside the streams, each order's deadlines by
its id). The position-order audit — a second read — runs only when it has something to
add: an expected head to compare (its digest is over position order), or a gap or swap
the scan found (the audit then names it exactly as `parcelfsm head` would see it).

The problems come out in the order they always have: the whole log's, each stream's
chain, then each order's fold and projections, then projections without a stream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from parcelfsm.deadlines import open_deadlines
from parcelfsm.errors import CorruptLog, ParcelFsmError
from parcelfsm.fold import fold
from parcelfsm.replay import ReplayReport, compare_projection
from parcelfsm.state import OrderState
from parcelfsm.store import EventLog
from parcelfsm.store.audit import PositionScan, stream_problem
from parcelfsm.store.mapping import TimeCache, fold_events, order_row, to_deadline, utc_text
from parcelfsm.store.projections import DeadlineRow, OrderFilter, OrderRow


class _OrderRows:
    """The `orders` projection read a page at a time in stream-id order, beside the
    streams (also in stream-id order, byte order on every backend); an id the pages do
    not hold where expected is asked for on its own."""

    def __init__(self, log: EventLog) -> None:
        self.log = log
        self._rows: Iterator[OrderRow] = log.orders(OrderFilter())
        self._next: OrderRow | None = next(self._rows, None)

    def get(self, stream_id: str) -> OrderRow | None:
        while self._next is not None and self._next.stream_id < stream_id:
            self._next = next(self._rows, None)
        if self._next is not None and self._next.stream_id == stream_id:
            return self._next
        return self.log.order_row(stream_id)


def projection_problems(
    order_id: str, stored: OrderRow | None, deadlines: list[DeadlineRow], state: OrderState
) -> list[str]:
    """`compare_projection`'s answer, from the stored rows as read: none at once when
    they hold exactly what the fold says (the usual case), else each difference."""
    if stored is not None and stored == order_row(state):
        want = [d for d in open_deadlines(state) if d.due_at is not None]
        have = {d.kind: (d.due_at, d.rule, d.set_by_version, d.on_expiry) for d in deadlines}
        if len(have) == len(want) == len(deadlines) and all(
            have.get(d.kind) == (utc_text(d.due_at), d.rule, d.set_by_version, d.on_expiry)
            for d in want
            if d.due_at is not None
        ):
            return []
    return compare_projection(order_id, stored, [to_deadline(r) for r in deadlines], state)


def verify_log(
    log: EventLog, total: int, update: Callable[[int], object], expected: tuple[int, str] | None
) -> ReplayReport:
    """Every check of `replay --verify` (module docstring); writes nothing."""
    positions = PositionScan(gapless=log.backend.name != "postgresql")
    chain: list[str] = []
    found: list[str] = []
    seen: set[str] = set()
    events = 0
    folding = True  # until a row cannot be read: later streams are still chain-checked
    times = TimeCache()
    orders = _OrderRows(log)
    secret = log.secret
    for order_id, rows in log.iter_stream_rows():
        positions.feed(rows)
        problem = stream_problem(rows, secret)
        if problem is not None:
            chain.append(problem)
        if not folding:
            continue
        try:
            stream = fold_events(rows, times)
        except CorruptLog as exc:
            found.append(exc.message)
            folding = False
            continue
        events += len(rows)
        seen.add(order_id)
        update(1)
        try:
            state = fold(stream, strict=True)
        except ParcelFsmError as exc:
            found.append(f"{order_id}: the log does not fold: {exc.type}: {exc.message}")
            continue
        assert state is not None
        found += projection_problems(
            order_id, orders.get(order_id), log.backend.deadline_rows(order_id), state
        )
    audit = log.audit(expected)[0] if expected is not None or not positions.clean else []
    problems = log.backend.check_pages() + audit + chain + found
    for extra in sorted(log.projected_ids() - seen):
        problems.append(f"{extra}: projected but has no events in the log")
    return ReplayReport("verify", total, events, tuple(problems))
