"""`list`'s filter: a state name of any lifecycle, an alert kind, a due-before instant."""

from __future__ import annotations

import datetime as dt
from typing import Final

from parcelfsm.clock import to_micros
from parcelfsm.deadlines import ALERT_OF
from parcelfsm.errors import ValidationError, quote
from parcelfsm.machines import dispute, order, parcel
from parcelfsm.store.projections import OrderFilter

#: each state name belongs to exactly one lifecycle, so `--state` needs no lifecycle
LIFECYCLE_OF: Final[dict[str, str]] = {
    **{s: "order" for s in order.STATES if s != "none"},
    **{s: "parcel" for s in parcel.STATES},
    **{s: "dispute" for s in dispute.STATES if s != "none"},
}
ALERTS: Final = frozenset(a for a in ALERT_OF.values() if a)


def order_filter(state: str | None, alert: str | None, due_before: dt.datetime | None) -> OrderFilter:
    """The projection filter for `Orders.list` (a misspelt state or alert is refused)."""
    if state is not None and (not isinstance(state, str) or state not in LIFECYCLE_OF):
        raise ValidationError(f"state: {quote(state, 60)} is not one of {', '.join(sorted(LIFECYCLE_OF))}")
    if alert is not None and (not isinstance(alert, str) or alert not in ALERTS):
        raise ValidationError(f"alert: {quote(alert, 60)} is not one of {', '.join(sorted(ALERTS))}")
    lifecycle = LIFECYCLE_OF.get(state) if state is not None else None
    return OrderFilter(
        order_state=state if lifecycle == "order" else None,
        parcel_state=state if lifecycle == "parcel" else None,
        dispute_state=state if lifecycle == "dispute" else None,
        alert=alert,
        due_before_us=to_micros(due_before) if due_before is not None else None,
    )
