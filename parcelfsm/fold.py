"""State is a pure fold of events: `fold(events)` and `evolve(state, event)`.

Each event type has one handler (the dispute's are in `fold_dispute`); the machines
decide the next state of each
lifecycle the event triggers, and the handler moves the anchors deadlines are
derived from. A handler raises the typed error of a broken rule, which is how
`decide` rejects a command: it folds the candidate event and keeps the result only if
nothing was raised. The escrow invariant is checked after every event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, Final

from parcelfsm.canonical import plain_json
from parcelfsm.deadlines import derive, next_due
from parcelfsm.errors import IllegalTransition, OutOfOrder, ParcelFsmError, ValidationError
from parcelfsm.fields import MAX_DAYS
from parcelfsm.fold_dispute import DISPUTE_GUARDS, DISPUTE_HANDLERS
from parcelfsm.handlers import Handler, handler_table
from parcelfsm.lifecycles import as_dispute_state, as_order_state, as_parcel_state
from parcelfsm.machines import DISPUTE, ORDER, PARCEL, scan_trigger
from parcelfsm.machines.parcel import FINALS as PARCEL_FINALS
from parcelfsm.money import Escrow
from parcelfsm.policy import DUTY_KEY, Policy
from parcelfsm.records import Envelope
from parcelfsm.state import Anchor, OrderState, can_open_dispute

DAY: Final = dt.timedelta(days=1)
#: the parcel states where the destination's customs has it
AT_CUSTOMS: Final = frozenset({"at_customs", "held_at_customs"})
ORDER_HANDLERS, handles = handler_table()


def fold(
    events: Iterable[Envelope], state: OrderState | None = None, *, strict: bool = False
) -> OrderState | None:
    """Fold `events` (in version order) onto a copy of `state` (or from nothing).

    With `strict` (import and `replay --verify`), events from outside are also held to
    what the live system guarantees: commands in time order, and every timed event the
    next deadline due, of its kind, at its due time (`check_timed`).
    """
    current = state.clone() if state is not None else None
    for event in events:
        current = _apply(current, event, strict)
    return current


def fold_at(events: Iterable[Envelope], at: dt.datetime) -> OrderState | None:
    """Fold the events that had occurred by `at` (docs/rules.md "Reading at an instant").

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


def evolve(state: OrderState | None, event: Envelope, *, strict: bool = False) -> OrderState:
    """The state after one more event; `state` itself is not changed."""
    return _apply(state.clone() if state is not None else None, event, strict)


def advance(state: OrderState | None, event: Envelope, *, strict: bool = False) -> OrderState:
    """`evolve` without the copy: `event` is folded onto `state` itself. For a caller
    that owns the state and drops it when this raises (it may be left half changed):
    an import folding each stream as its lines come."""
    return _apply(state, event, strict)


def check_timed(state: OrderState, event: Envelope) -> None:
    """Raise unless `event` is what firing the state's next due deadline would append."""
    kind = event.data.get("deadline")
    due = next_due(state, event.due_at) if event.due_at is not None else None
    if (
        due is None
        or due.kind != kind
        or due.due_at != event.due_at
        or event.occurred_at != event.due_at
        or due.on_expiry != event.type
        or (due.alert is not None and event.data.get("kind") != due.alert)
    ):
        raise IllegalTransition(
            f"{event.type}: no {kind} deadline was due at {event.due_at} (a forged or misplaced timed event)"
        )


def _apply(state: OrderState | None, event: Envelope, strict: bool = False) -> OrderState:
    t = event.type
    if strict and state is not None:
        if event.due_at is not None:
            check_timed(state, event)
        elif t != "parcel.scanned" and state.last_at and event.occurred_at < state.last_at:
            raise OutOfOrder(f"{t} v{event.version} occurred before the order's last event")
    if state is None:
        if t != "order.placed":
            raise IllegalTransition(f"{t}: the order has not been placed")
        state = _placed(event)
        escrow = None
    else:
        if t == "order.placed":
            raise IllegalTransition("order.placed: the order already exists")
        escrow = state.escrow
        fired = None
        if event.due_at is not None and "deadline" in event.data:
            kind = event.data["deadline"]
            current = derive(state, kind)  # the deadline as armed when it fired
            fired = (kind, (event.due_at, current.set_by_version if current else None))
        guard = GUARDS.get(t)
        if guard is not None:
            guard(state, event)
        if t in _STEPPED:
            _step_machines(state, event)
        HANDLERS[t](state, event)
        if fired is not None:
            state.fired[fired[0]] = fired[1]
    if event.version is not None:
        state.version = event.version
    if t != "parcel.scanned":
        last, at = state.last_at, event.occurred_at
        if last is None or at > last:
            state.last_at = at
    if state.escrow is not escrow:  # an escrow is immutable: checked once, when it is set
        state.escrow.check()
    return state


def _conditions(state: OrderState) -> Callable[[str], bool]:
    """The machines' named conditions, read from the state."""

    def holds(name: str) -> bool:
        if name == "protection_left":
            return state.protection_remaining is not None
        if name.startswith("lost_from_"):
            return state.lost_from == name.removeprefix("lost_from_")
        raise KeyError(f"unknown machine condition {name}")

    return holds


def _step_machines(state: OrderState, event: Envelope) -> None:
    t = event.type
    if t in ORDER.triggers:
        state.order = as_order_state(ORDER.step(state.order, t, _conditions(state)))
    if t in DISPUTE.triggers:
        state.dispute_state = as_dispute_state(DISPUTE.step(state.dispute_state, t))
    if t in PARCEL.triggers:
        before = state.parcel
        state.parcel = as_parcel_state(PARCEL.step(state.parcel, t, _conditions(state)))
        if t == "parcel.presumed_lost":
            state.lost_from = before


def _placed(event: Envelope) -> OrderState:
    d = event.data
    policy = _policy(d["policy"]) if "policy" in d else Policy.default()
    anchor = Anchor(event.occurred_at, event.version)
    if "processing_days" in d:  # stated by the seller for this order
        days, rule = d["processing_days"], f"order.processing_days={d['processing_days']}"
    else:
        days = policy.processing_days_default
        rule = policy.rule("order.processing_days_default")
    term = d.get("protection_days")
    if term is not None:
        most, country_rule = policy.protection_days(d["destination_country"])
        if term > most:
            raise ValidationError(
                f"protection_days: {term} exceeds the country's buyer protection ({country_rule})"
            )
    return OrderState(
        protection_days=term,
        # a policy recorded before 2026.2 has no duty table: its orders keep the old
        # customs rules (presumed_lost at customs, every customs scan restarts the stall)
        legacy_customs="policy" in d and DUTY_KEY not in d["policy"],
        order_id=event.stream_id,
        policy=policy,
        escrow=Escrow.placed(d["currency"], d["amount"]),
        placed=anchor,
        amount=d["amount"],
        coupon_discount=d.get("coupon_discount", 0),
        shipping_cost=d["shipping_cost"],
        country=d["destination_country"],
        tracked=d.get("tracked", True),
        processing_days=days,
        processing_rule=rule,
    )


_POLICIES: dict[str, Policy] = {}


def _policy(recorded: dict[str, Any]) -> Policy:
    """The recorded policy, parsed once per distinct content (folds are hot)."""
    key = plain_json(recorded)
    policy = _POLICIES.get(key)
    if policy is None:
        if len(_POLICIES) > 256:
            _POLICIES.clear()
        policy = _POLICIES[key] = Policy.from_dict(recorded)
    return policy


@handles("order.cancelled", "order.auto_cancelled")
def _cancelled(s: OrderState, e: Envelope) -> None:
    s.escrow = s.escrow.refund_all()


@handles("order.shipped")
def _shipped(s: OrderState, e: Envelope) -> None:
    anchor = Anchor(e.occurred_at, e.version)
    s.shipped = s.track = s.lost_anchor = s.protection_set = anchor
    s.tracking_number = e.data.get("tracking_number")
    s.carrier = e.data.get("carrier")
    if s.protection_days is not None:  # the seller's stated delivery term
        days, s.protection_rule = s.protection_days, f"order.protection_days={s.protection_days}"
    else:
        days, s.protection_rule = s.policy.protection_days(s.country)
    s.protection_end = e.occurred_at + days * DAY


@handles("parcel.scanned")
def _scanned(s: OrderState, e: Envelope) -> None:
    data, at = e.data, e.occurred_at
    status = data["status"]
    before = s.parcel
    if before == "not_shipped":
        raise IllegalTransition("parcel.scanned: the order has not been shipped")
    if at < s.placed.at:
        raise OutOfOrder("parcel.scanned: the carrier time is before the order was placed")
    if status == "no_info":
        return  # "not a scan, counts for nothing"
    if s.last_scan is not None and at < s.last_scan.at:
        return  # a late scan: recorded, changes no state, moves no deadline
    try:
        s.parcel = after = as_parcel_state(PARCEL.step(before, scan_trigger(status), _conditions(s)))
    except IllegalTransition:
        raise IllegalTransition(
            f"parcel.scanned: a {status} scan cannot move a {before} parcel"
            + (" (final state)" if before in PARCEL_FINALS else "")
        ) from None
    anchor = Anchor(at, e.version)
    text = ""
    if data.get("text"):
        from parcelfsm.tracking import normalize_key  # its phrase tables load when first needed

        text = normalize_key(data["text"])
    news = (
        s.legacy_customs
        or before not in AT_CUSTOMS
        or (status, text) != (s.last_scan_status, s.last_scan_text)
    )
    s.last_scan = s.lost_anchor = anchor
    s.last_scan_status, s.last_scan_text = status, text
    s.scanned_since_track = True
    if after in AT_CUSTOMS and news:  # an identical repeat restarts nothing
        s.customs_anchor = anchor
    if status in _ISSUES:
        s.customs_issue, s.customs_issue_status = anchor, status
    elif status in _CLEARED:
        s.customs_issue = s.customs_issue_status = None
    if after == "at_pickup_point" and before != "at_pickup_point":
        s.pickup_anchor = anchor


#: scan statuses that open a customs issue, and those that end it
_ISSUES: Final = frozenset({"customs_held", "customs_failed", "seized"})
_CLEARED: Final = frozenset({"customs_cleared", "delivered"})


@handles("parcel.track_replaced")
def _track_replaced(s: OrderState, e: Envelope) -> None:
    if s.tracking_number:
        s.old_tracking_numbers.append(s.tracking_number)
    s.tracking_number = e.data["tracking_number"]
    s.carrier = e.data.get("carrier", s.carrier)
    s.track = Anchor(e.occurred_at, e.version)
    s.scanned_since_track = False


@handles("order.receipt_confirmed", "order.auto_completed")
def _completed(s: OrderState, e: Envelope) -> None:
    s.escrow = s.escrow.release_all()
    s.window = Anchor(e.occurred_at, e.version)
    s.protection_end = None


@handles("protection.extended")
def _extended(s: OrderState, e: Envelope) -> None:
    if s.extended_days + e.data["days"] > MAX_DAYS:
        raise ValidationError(f"days: protection can be extended by at most {MAX_DAYS} days in all")
    extra = e.data["days"] * DAY
    if s.protection_remaining is not None:
        s.protection_remaining += extra
    elif s.protection_end is not None:
        s.protection_end += extra
    else:
        raise IllegalTransition("protection.extended: buyer protection has already ended")
    s.extended_days += e.data["days"]
    s.protection_set = Anchor(e.occurred_at, e.version)
    base = s.protection_rule.split(" (+")[0]
    s.protection_rule = f"{base} (+{s.extended_days} d extended)"


@handles("dispute.reopen_window_closed", "order.dispute_window_closed", "alert.raised")
def _marker(s: OrderState, e: Envelope) -> None:
    if e.type == "order.dispute_window_closed":
        s.window_closed = True


@handles("parcel.presumed_lost")
def _presumed_lost(s: OrderState, e: Envelope) -> None:
    """The machine moved the parcel to `lost`; nothing else changes."""


@handles("parcel.return_started")
def _return_started(s: OrderState, e: Envelope) -> None:
    s.lost_anchor = Anchor(e.occurred_at, e.version)  # restarts presumed_lost, as a scan does
    s.pickup_anchor = None


#: the event types some lifecycle machine steps on
_STEPPED: Final = ORDER.triggers | DISPUTE.triggers | PARCEL.triggers
#: every event type's handler: the order and parcel ones above, the dispute's beside them
HANDLERS: Final[dict[str, Handler]] = {**ORDER_HANDLERS, **DISPUTE_HANDLERS}
#: checks that run before the machines step, so their error wins (WindowClosed …)
GUARDS: Final[dict[str, Handler]] = dict(DISPUTE_GUARDS)

__all__ = ["GUARDS", "HANDLERS", "advance", "can_open_dispute", "check_timed", "evolve", "fold", "handles"]
