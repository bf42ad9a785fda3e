"""The folded state of one order stream: order, parcel and dispute together.

Plain data with the anchors every deadline is derived from (who set it, when). It is
built only by `parcelfsm.fold`; everything else reads it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Final, cast

import attrs

from parcelfsm.lifecycles import DisputeStateName, OrderStateName, ParcelStateName
from parcelfsm.money import Escrow
from parcelfsm.policy import Policy
from parcelfsm.vocabulary import CUSTOMS_REASONS


@attrs.frozen
class Anchor:
    """An instant that starts a deadline, and the stream version that set it."""

    at: dt.datetime
    version: int | None


@attrs.frozen
class Outcome:
    """How a dispute was resolved and the money refunded (minor units)."""

    refund: int
    how: str
    fault: str | None

    def to_json(self) -> dict[str, Any]:
        return {"refund": self.refund, "how": self.how, "fault": self.fault}


@attrs.define
class DisputeState:
    """The one dispute an order may have."""

    solution: str
    goods_received: bool
    reason: str
    cause: str | None
    amount: int
    evidence: list[str]
    opened: Anchor
    round: Anchor
    offers: dict[str, int] = attrs.Factory(dict)
    escalated: Anchor | None = None
    document: str | None = None
    withdrawn: Anchor | None = None
    resolved: Anchor | None = None
    outcome: Outcome | None = None
    refund_received: bool = False
    return_tracking: str | None = None

    @property
    def is_customs(self) -> bool:
        return self.reason in CUSTOMS_REASONS

    def clone(self) -> DisputeState:
        return attrs.evolve(self, offers=dict(self.offers), evidence=list(self.evidence))

    def to_json(self) -> dict[str, Any]:
        return {
            "reason": self.reason,
            "cause": self.cause,
            "amount": self.amount,
            "solution": self.solution,
            "goods_received": self.goods_received,
            "offers": dict(self.offers),
            "document": self.document,
            "outcome": self.outcome.to_json() if self.outcome else None,
            "refund_received": self.refund_received,
        }


@attrs.define
class OrderState:
    """Everything known about one order at the end of a fold."""

    order_id: str
    policy: Policy
    escrow: Escrow
    placed: Anchor
    amount: int
    coupon_discount: int
    shipping_cost: int
    country: str
    tracked: bool
    processing_days: int
    processing_rule: str
    version: int = 0
    order: OrderStateName = "awaiting_shipment"
    parcel: ParcelStateName = "not_shipped"
    dispute_state: DisputeStateName = "none"
    last_at: dt.datetime | None = None
    shipped: Anchor | None = None
    tracking_number: str | None = None
    carrier: str | None = None
    old_tracking_numbers: list[str] = attrs.Factory(list)
    track: Anchor | None = None
    scanned_since_track: bool = False
    last_scan: Anchor | None = None
    lost_anchor: Anchor | None = None
    customs_anchor: Anchor | None = None
    pickup_anchor: Anchor | None = None
    last_scan_status: str | None = None
    #: the latest genuine scan's text key (a repeat of status and text brings no news)
    last_scan_text: str = ""
    #: the latest customs hold or failure scan, while no clearance followed it
    customs_issue: Anchor | None = None
    customs_issue_status: str | None = None
    #: the seller's delivery term stated on the order (`order.placed` protection_days)
    protection_days: int | None = None
    #: recorded under a policy older than 2026.2: the customs rules of that time apply
    legacy_customs: bool = False
    #: the parcel's state when it was declared lost (a no-change scan finds it there)
    lost_from: ParcelStateName | None = None
    protection_end: dt.datetime | None = None
    protection_remaining: dt.timedelta | None = None
    protection_set: Anchor | None = None
    protection_rule: str = ""
    extended_days: int = 0
    window: Anchor | None = None
    window_closed: bool = False
    dispute: DisputeState | None = None
    #: deadline kind -> (due_at, set_by_version) of its last firing
    fired: dict[str, tuple[dt.datetime, int | None]] = attrs.Factory(dict)
    complaints: int = 0

    @property
    def item_value(self) -> int:
        """What a dispute may ask at most: paid plus any coupon (docs/rules.md)."""
        return self.amount + self.coupon_discount

    @property
    def is_final(self) -> bool:
        """Nothing more can change the money: cancelled, or finished for good."""
        if self.order == "cancelled":
            return True
        return self.order == "finished" and (
            self.window_closed or self.dispute_state in ("resolved", "closed")
        )

    def clone(self) -> OrderState:
        """A copy safe to fold further without touching this one (field by field, in
        straight-line code made once: `attrs.evolve` re-runs `__init__`, and a loop of
        getattr/setattr costs twice as much on the hot path)."""
        new: OrderState = object.__new__(OrderState)
        _copy_fields(self, new)
        new.old_tracking_numbers = list(self.old_tracking_numbers)
        new.fired = dict(self.fired)
        new.dispute = self.dispute.clone() if self.dispute else None
        return new


_STATE_FIELDS: Final = tuple(f.name for f in attrs.fields(OrderState))


def _make_copier(names: tuple[str, ...]) -> Callable[[OrderState, OrderState], None]:
    """`def copy(src, dst): dst.a = src.a; dst.b = src.b; …` for the state's fields."""
    body = "".join(f"    dst.{name} = src.{name}\n" for name in names)
    scope: dict[str, Any] = {}
    exec(f"def copy(src, dst):\n{body}", scope)  # field names from attrs, never input
    return cast(Callable[[OrderState, OrderState], None], scope["copy"])


_copy_fields: Final = _make_copier(_STATE_FIELDS)


def can_open_dispute(s: OrderState) -> bool:
    """True while `dispute.opened` would be accepted (order shipped, window open)."""
    if s.dispute_state != "none":
        return False
    return s.order == "awaiting_delivery" or (s.order == "finished" and not s.window_closed)
