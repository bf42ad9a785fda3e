"""Decide: a command + the current state → the events to append, or a typed error.

Pure (no store, no clock): the service passes the instant. The stream's overdue
deadlines are fired first (catch-up, docs/rules.md), then the command is validated and
folded; if anything raises, nothing is returned and nothing will be appended.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final

import attrs

from parcelfsm.clock import format_time
from parcelfsm.deadlines import next_due
from parcelfsm.errors import InvalidMachine, NotFound, OutOfOrder, ParcelFsmError, ValidationError, quote
from parcelfsm.events import from_data
from parcelfsm.fold import evolve
from parcelfsm.policy import Policy
from parcelfsm.records import NewEvent
from parcelfsm.s10 import validate_tracking_number
from parcelfsm.state import OrderState

ORDER_ID: Final = re.compile(r"[A-Za-z0-9._:-]{1,128}")
MAX_FIRINGS: Final = 1000


@attrs.frozen
class Decision:
    """The events to append (catch-up first, then the command) and the state after."""

    events: tuple[NewEvent, ...]
    state: OrderState


def check_order_id(order_id: str) -> str:
    """docs/events.md: a non-empty string ≤ 128 chars of `[A-Za-z0-9._:-]`."""
    if not isinstance(order_id, str) or not ORDER_ID.fullmatch(order_id):
        raise ValidationError(
            f"order: {quote(order_id)} is not a valid order id (1-128 chars of A-Z a-z 0-9 . _ : -)"
        )
    return order_id


def fire_due(
    state: OrderState, until: dt.datetime, *, virtual: bool = False
) -> tuple[OrderState, list[NewEvent]]:
    """Fire every deadline due at or before `until`, in firing order.

    A fired event may arm new deadlines; those due by `until` fire too. With
    `virtual`, the events get no version (they are applied, not stored: `show --at`).
    """
    fired: list[NewEvent] = []
    for _ in range(MAX_FIRINGS):
        deadline = next_due(state, until, settled=True)
        if deadline is None:
            return state, fired
        assert deadline.due_at is not None
        data: dict[str, Any] = {"deadline": deadline.kind, "rule": deadline.rule}
        if deadline.alert:
            data["kind"] = deadline.alert
        event = NewEvent(
            stream_id=state.order_id,
            version=None if virtual else state.version + 1,
            type=deadline.on_expiry,
            data=data,
            occurred_at=deadline.due_at,
            due_at=deadline.due_at,
        )
        state = evolve(state, event)
        fired.append(event)
    raise InvalidMachine(f"{state.order_id}: deadlines keep firing (more than {MAX_FIRINGS})")


def decide(
    state: OrderState | None,
    order_id: str,
    type_name: str,
    data: dict[str, Any] | None,
    *,
    at: dt.datetime,
    now: dt.datetime,
    policy: Policy,
    key: str | None = None,
    fingerprint: str | None = None,
) -> Decision:
    """Validate a command against the (caught-up) state and return what to append.

    Raises:
        ValidationError, IllegalTransition, WindowClosed, OutOfOrder, NotFound.
    """
    check_order_id(order_id)
    event = from_data(type_name, data)
    if at > now:
        raise OutOfOrder(f"occurred_at {format_time(at)} is later than now ({format_time(now)})")
    if state is None and type_name != "order.placed":
        raise NotFound(f"order {order_id!r} does not exist")
    if state is not None and type_name != "parcel.scanned" and state.last_at and at < state.last_at:
        raise OutOfOrder(
            f"occurred_at {format_time(at)} is earlier than the order's last event "
            f"({format_time(state.last_at)})"
        )
    stored = stored_data(type_name, event.to_data(), policy)
    fired: list[NewEvent] = []
    if state is not None:
        state, fired = fire_due(state, at)
    new = NewEvent(
        stream_id=order_id,
        version=(state.version if state else 0) + 1,
        type=type_name,
        data=stored,
        occurred_at=at,
        key=key,
        fingerprint=fingerprint,
    )
    return Decision(events=(*fired, new), state=evolve(state, new))


def stored_data(type_name: str, data: dict[str, Any], policy: Policy) -> dict[str, Any]:
    """A validated command's data as it is stored (policy recorded, scan text normalized,
    S10 numbers cleaned)."""
    if type_name == "order.placed":
        days = data.get("processing_days")
        if days is not None and days > policy.processing_days_max:
            raise ValidationError(
                f"processing_days: {days} exceeds order.processing_days_max={policy.processing_days_max}"
            )
        data["policy"] = policy.to_dict()
    elif type_name == "parcel.scanned" and "status" not in data:
        from parcelfsm.tracking import normalize  # imported when needed (CLI start-up time)

        data["status"] = normalize(data["text"])
    elif type_name in ("order.shipped", "parcel.track_replaced") and data.get("tracking_number"):
        data["tracking_number"] = validate_tracking_number(data["tracking_number"])
    return data


def same_command(type_name: str, data: dict[str, Any] | None, stored: dict[str, Any], policy: Policy) -> bool:
    """Whether `data` would be stored as `stored`, the recorded policy aside.

    A key that arrived by import has no fingerprint; a retry is recognised by the event
    it would store instead.
    """
    try:
        candidate = stored_data(type_name, from_data(type_name, data).to_data(), policy)
    except ParcelFsmError:
        return False
    return {k: v for k, v in candidate.items() if k != "policy"} == {
        k: v for k, v in stored.items() if k != "policy"
    }
