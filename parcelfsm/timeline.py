"""One order's story over time, as data: state segments, event marks, deadline bars, money.

The timeline is derived by replaying the stream event by event, exactly as `show`
reads an order: fold each event that had occurred by `at` (`fold.evolve`), then fire,
virtually, every deadline due by `at` (`decide.fire_due`). After each event the open
deadlines (`deadlines.open_deadlines`) are compared with those before it, which says
when each deadline was set and how it ended:

- `fired`: the event is the timed event of that deadline; the bar ends at its due time.
- `dropped`: its arming condition no longer holds (a scan left customs, the dispute was
  resolved …); the bar ends at that event.
- `rearmed`: the same kind is open with another due time or anchor (a new scan restarts
  `presumed_lost`, an extension moves `protection_ends`, a dispute pauses protection);
  the old arming ends at that event and a new bar starts.
- `open`: still open at `at` (a paused one has no due time).

Pure: no store, no clock; `order_timeline` only reads an order book's history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

import attrs

from parcelfsm.clock import format_time, to_utc
from parcelfsm.deadlines import KINDS, RANK, Deadline, open_deadlines
from parcelfsm.decide import fire_due
from parcelfsm.errors import NotFound, ParcelFsmError
from parcelfsm.fold import evolve
from parcelfsm.records import Envelope
from parcelfsm.state import OrderState

if TYPE_CHECKING:
    from parcelfsm.service import Orders

Lane = Literal["order", "parcel", "dispute"]
BarStatus = Literal["open", "fired", "dropped", "rearmed"]
LANES: Final[tuple[Lane, ...]] = ("order", "parcel", "dispute")
#: the lifecycle each deadline kind belongs to (its bar is grouped with that lane)
LANE_OF_KIND: Final[dict[str, Lane]] = {
    "ship_by": "order",
    "protection_ends": "order",
    "protection_reminder": "order",
    "dispute_window": "order",
    "first_info": "parcel",
    "no_news": "parcel",
    "presumed_lost": "parcel",
    "customs_stall": "parcel",
    "pickup_expires": "parcel",
    "seller_response": "dispute",
    "mediation_date": "dispute",
    "customs_document": "dispute",
    "mediation_overdue": "dispute",
    "reopen_window": "dispute",
    "refund_overdue": "dispute",
}
assert set(LANE_OF_KIND) == set(KINDS), "every deadline kind needs a lane"


@attrs.frozen
class Segment:
    """A lifecycle in one state from `start` to `end`."""

    lane: Lane
    state: str
    start: dt.datetime
    end: dt.datetime

    def to_json(self) -> dict[str, Any]:
        """JSON form (`timeline --json`)."""
        return {
            "lane": self.lane,
            "state": self.state,
            "start": format_time(self.start),
            "end": format_time(self.end),
        }


@attrs.frozen
class Mark:
    """One event of the stream. `virtual`: a deadline that fires by `at` but is not stored."""

    at: dt.datetime
    lane: Lane
    type: str
    version: int | None
    data: dict[str, Any]
    timed: bool
    virtual: bool = False

    @property
    def details(self) -> list[str]:
        """`key: value` lines of the event's data (a recorded policy shown by version)."""
        lines: list[str] = []
        for key, value in sorted(self.data.items()):
            if key == "policy" and isinstance(value, dict):
                value = value.get("version", "recorded")
            lines.append(f"{key}: {value}")
        return lines

    def to_json(self) -> dict[str, Any]:
        """JSON form (`timeline --json`)."""
        return {
            "at": format_time(self.at),
            "lane": self.lane,
            "type": self.type,
            "version": self.version,
            "timed": self.timed,
            "virtual": self.virtual,
            "details": self.details,
        }


@attrs.frozen
class Bar:
    """One arming of a deadline: set by an event, open until it fired, was dropped or re-armed."""

    kind: str
    rule: str
    lane: Lane
    on_expiry: str
    set_at: dt.datetime
    set_by: str
    set_by_version: int | None
    due_at: dt.datetime | None
    status: BarStatus = "open"
    ended_at: dt.datetime | None = None
    ended_by: str | None = None
    paused: bool = False
    remaining: dt.timedelta | None = None
    #: ended by an event that is due by `at` but not stored yet (applied virtually)
    virtual_end: bool = False

    @property
    def end(self) -> dt.datetime | None:
        """Where the solid bar stops: the due time (open, fired) or the event that ended it."""
        return self.due_at if self.status in ("open", "fired") else self.ended_at

    def to_json(self) -> dict[str, Any]:
        """JSON form (`timeline --json`)."""
        out: dict[str, Any] = {
            "kind": self.kind,
            "rule": self.rule,
            "lane": self.lane,
            "on_expiry": self.on_expiry,
            "set_at": format_time(self.set_at),
            "set_by": self.set_by,
            "set_by_version": self.set_by_version,
            "due_at": format_time(self.due_at) if self.due_at else None,
            "status": self.status,
            "ended_at": format_time(self.ended_at) if self.ended_at else None,
            "ended_by": self.ended_by,
            "paused": self.paused,
            "virtual_end": self.virtual_end,
        }
        if self.remaining is not None:
            out["remaining_s"] = int(self.remaining.total_seconds())
        return out


@attrs.frozen
class MoneyPoint:
    """The escrow from `at` on (minor units)."""

    at: dt.datetime
    paid: int
    held: int
    released: int
    refunded: int

    def to_json(self) -> dict[str, Any]:
        """JSON form (`timeline --json`)."""
        return {
            "at": format_time(self.at),
            "paid": self.paid,
            "held": self.held,
            "released_to_seller": self.released,
            "refunded_to_buyer": self.refunded,
        }


@attrs.frozen
class Timeline:
    """One order from its placement to `now` (the instant it is read at)."""

    order_id: str
    currency: str
    start: dt.datetime
    now: dt.datetime
    segments: tuple[Segment, ...]
    marks: tuple[Mark, ...]
    bars: tuple[Bar, ...]
    money: tuple[MoneyPoint, ...]

    def lane(self, lane: Lane) -> list[Segment]:
        """The segments of one lifecycle, in time order."""
        return [s for s in self.segments if s.lane == lane]

    @property
    def states(self) -> dict[Lane, str]:
        """Each lifecycle's state at `now`."""
        return {lane: self.lane(lane)[-1].state for lane in LANES}

    def to_json(self) -> dict[str, Any]:
        """The `timeline --json` object."""
        return {
            "order_id": self.order_id,
            "currency": self.currency,
            "start": format_time(self.start),
            "now": format_time(self.now),
            "states": self.states,
            "segments": [s.to_json() for s in self.segments],
            "marks": [m.to_json() for m in self.marks],
            "bars": [b.to_json() for b in self.bars],
            "money": [p.to_json() for p in self.money],
        }


def lane_of(type_name: str, data: dict[str, Any]) -> Lane:
    """The lifecycle an event is drawn on (an alert on that of the deadline that raised it)."""
    if type_name == "alert.raised":
        return LANE_OF_KIND.get(str(data.get("deadline")), "order")
    if type_name.startswith("parcel."):
        return "parcel"
    if type_name.startswith(("dispute.", "refund.")):
        return "dispute"
    return "order"


def _states(state: OrderState) -> dict[Lane, str]:
    return {"order": state.order, "parcel": state.parcel, "dispute": state.dispute_state}


class _Builder:
    """Accumulates the timeline while the stream is folded event by event."""

    def __init__(self) -> None:
        self.segments: list[Segment] = []
        self.current: dict[Lane, tuple[str, dt.datetime]] = {}
        self.marks: list[Mark] = []
        self.closed: list[Bar] = []
        self.open: dict[str, Bar] = {}
        self.money: list[MoneyPoint] = []
        self.first = self.last = dt.datetime.min.replace(tzinfo=dt.UTC)

    def step(self, state: OrderState, event: Envelope, virtual: bool) -> None:
        # carrier times may precede earlier events: keep every series monotone
        at = max(event.occurred_at, self.last)
        if not self.marks:
            self.first = at
        self.last = at
        self.marks.append(
            Mark(
                event.occurred_at,
                lane_of(event.type, event.data),
                event.type,
                event.version,
                dict(event.data),
                event.due_at is not None,
                virtual,
            )
        )
        for lane, name in _states(state).items():
            held = self.current.get(lane)
            if held is None or held[0] != name:
                if held is not None:
                    self.segments.append(Segment(lane, held[0], held[1], at))
                self.current[lane] = (name, at)
        m = state.escrow
        point = MoneyPoint(at, m.paid, m.held, m.released_to_seller, m.refunded_to_buyer)
        if not self.money or attrs.evolve(self.money[-1], at=at) != point:
            self.money.append(point)
        self._deadlines(open_deadlines(state), event, at, virtual)

    def _deadlines(self, now_open: list[Deadline], event: Envelope, at: dt.datetime, virtual: bool) -> None:
        fired = event.data.get("deadline") if event.due_at is not None else None
        by_kind = {d.kind: d for d in now_open}
        label = event.type if event.version is None else f"{event.type} v{event.version}"
        for kind, bar in list(self.open.items()):
            d = by_kind.get(kind)
            if kind == fired:
                self._close(bar, "fired", bar.due_at or at, label, virtual)
            elif d is None:
                self._close(bar, "dropped", at, label, virtual)
            elif (d.due_at, d.set_by_version, d.paused) != (bar.due_at, bar.set_by_version, bar.paused):
                self._close(bar, "rearmed", at, label, virtual)
        for kind, d in by_kind.items():
            if kind not in self.open:
                self.open[kind] = Bar(
                    kind=kind,
                    rule=d.rule,
                    lane=LANE_OF_KIND[kind],
                    on_expiry=d.on_expiry,
                    set_at=at,
                    set_by=label,
                    set_by_version=d.set_by_version,
                    due_at=d.due_at,
                    paused=d.paused,
                    remaining=d.remaining,
                )

    def _close(self, bar: Bar, status: BarStatus, at: dt.datetime, label: str, virtual: bool) -> None:
        del self.open[bar.kind]
        ended = attrs.evolve(
            bar, status=status, ended_at=max(at, bar.set_at), ended_by=label, virtual_end=virtual
        )
        self.closed.append(ended)

    def finish(self, order_id: str, currency: str, now: dt.datetime) -> Timeline:
        end = max(now, self.last)
        segments = [
            *self.segments,
            *(Segment(lane, s, start, end) for lane, (s, start) in self.current.items()),
        ]
        bars = sorted(
            [*self.closed, *self.open.values()], key=lambda b: (LANES.index(b.lane), b.set_at, RANK[b.kind])
        )
        return Timeline(
            order_id=order_id,
            currency=currency,
            start=self.first,
            now=now,
            segments=tuple(sorted(segments, key=lambda s: (LANES.index(s.lane), s.start))),
            marks=tuple(self.marks),
            bars=tuple(bars),
            money=tuple(self.money),
        )


def build_timeline(events: Iterable[Envelope], at: dt.datetime) -> Timeline:
    """The timeline of one stream read at `at` (events in version order).

    Events that occurred after `at` are left out and deadlines due by `at` fire
    virtually, as `show --at` reads an order. Raises `NotFound` when the order had not
    been placed by `at`.
    """
    builder = _Builder()
    state: OrderState | None = None
    for event in events:
        if event.occurred_at > at:
            continue
        try:
            after = evolve(state, event)
        except ParcelFsmError:
            if event.type != "parcel.scanned":  # as `show`: a scan from before shipment waits
                raise
            continue
        builder.step(after, event, virtual=False)
        state = after
    if state is None:
        raise NotFound(f"the order did not exist at {format_time(at)}")
    _, fired = fire_due(state, at, virtual=True)
    for event in fired:
        state = evolve(state, event)
        builder.step(state, event, virtual=True)
    return builder.finish(state.order_id, state.escrow.currency, at)


def order_timeline(orders: Orders, order_id: str, at: dt.datetime | str | None = None) -> Timeline:
    """The timeline of `order_id` in an order book, at `at` (default: the book's clock).

    Raises:
        NotFound: no such order, or it had not been placed by `at`.
        ValidationError: a malformed order id or time.
    """
    # 1970 … 9000, as for events: the drawing has room for look-ahead past `at`
    when = to_utc(at if at is not None else orders.now(), "at")
    events: Sequence[Envelope] = orders.history(order_id)
    return build_timeline(events, when)
