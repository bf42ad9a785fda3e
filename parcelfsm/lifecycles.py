"""The three lifecycles' state names, as types: the single list the machines are built
from and the folded state is typed with, so a misspelt state fails type-checking."""

from __future__ import annotations

from typing import Final, Literal, get_args

#: the order's lifecycle states (before `order.placed` its machine is in "none")
OrderStateName = Literal["awaiting_shipment", "awaiting_delivery", "frozen", "finished", "cancelled"]
#: the parcel's lifecycle states
ParcelStateName = Literal[
    "not_shipped",
    "shipped",
    "in_transit",
    "at_customs",
    "held_at_customs",
    "at_pickup_point",
    "out_for_delivery",
    "delivered",
    "returning",
    "returned",
    "lost",
    "seized",
]
#: the dispute's lifecycle states ("none": no dispute was opened)
DisputeStateName = Literal[
    "none", "awaiting_seller", "negotiating", "escalated", "withdrawn", "resolved", "closed"
]

ORDER_STATES: Final[tuple[OrderStateName, ...]] = get_args(OrderStateName)
PARCEL_STATES: Final[tuple[ParcelStateName, ...]] = get_args(ParcelStateName)
DISPUTE_STATES: Final[tuple[DisputeStateName, ...]] = get_args(DisputeStateName)


def as_order_state(name: str) -> OrderStateName:
    """`name` typed as an order state (the machines only ever return these)."""
    assert name in ORDER_STATES, name
    return name


def as_parcel_state(name: str) -> ParcelStateName:
    """`name` typed as a parcel state."""
    assert name in PARCEL_STATES, name
    return name


def as_dispute_state(name: str) -> DisputeStateName:
    """`name` typed as a dispute state."""
    assert name in DISPUTE_STATES, name
    return name
