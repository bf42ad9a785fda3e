"""The parcel (logistics) lifecycle (docs/rules.md, docs/events.md–2, §4 "Parcel").

A scan is the trigger `scan:<status>`; `SCAN_TARGETS` is the documented status → state
table (`None`: the scan changes no state). A scan may move the parcel out of any
moving state, and a genuine scan finds a `lost` parcel again: in the scan's state,
or, for a no-change scan (attempt failed, unknown text …), back in the state it was
declared lost from (condition `lost_from_<state>`). `delivered`, `returned` and
`seized` are final, where only a scan of the same state (a duplicate) or a no-change
scan is accepted. `lost` is a resting state: a parcel may stay lost for good.
"""

from __future__ import annotations

from typing import Final

from parcelfsm.lifecycles import PARCEL_STATES
from parcelfsm.machines.base import SAME, Row

STATES: Final = PARCEL_STATES
INITIAL: Final = "not_shipped"
FINALS: Final = frozenset({"delivered", "returned", "seized"})
RESTING: Final = frozenset({"lost"})
SCAN_TARGETS: Final[dict[str, str | None]] = {
    "no_info": None,
    "info_received": "shipped",
    "in_transit": "in_transit",
    "arrived_at_customs": "at_customs",
    "customs_held": "held_at_customs",
    "customs_cleared": "in_transit",
    "customs_failed": "returning",
    "seized": "seized",
    "at_pickup_point": "at_pickup_point",
    "out_for_delivery": "out_for_delivery",
    "attempt_failed": None,
    "delivered": "delivered",
    "returning": "returning",
    "returned": "returned",
    "delivery_canceled": None,
    "unknown": None,
}
#: states a scan can move the parcel out of (docs/rules.md "Parcel"), plus `lost`
MOVING: Final = (
    "shipped",
    "in_transit",
    "at_customs",
    "held_at_customs",
    "at_pickup_point",
    "out_for_delivery",
    "returning",
)
SHIPPED: Final = tuple(s for s in STATES if s != "not_shipped")
#: where `presumed_lost` is armed
LOSABLE: Final = (
    "shipped",
    "in_transit",
    "at_customs",
    "held_at_customs",
    "out_for_delivery",
    "returning",
)


def scan_trigger(status: str) -> str:
    """The machine trigger of a scan with a normalized status."""
    return f"scan:{status}"


def _scan_rows() -> tuple[Row, ...]:
    rows: list[Row] = []
    for status, target in SCAN_TARGETS.items():
        if status == "no_info":  # "not a scan, counts for nothing": not even a lost parcel's news
            rows.append((scan_trigger(status), SHIPPED, SAME))
            continue
        if target is None:
            rows.append((scan_trigger(status), tuple(s for s in SHIPPED if s != "lost"), SAME))
            # news of a parcel declared lost: it is back where it was when declared lost
            rows.extend((scan_trigger(status), ("lost",), was, f"lost_from_{was}") for was in LOSABLE)
            continue
        rows.append((scan_trigger(status), (*MOVING, "lost"), target))
        if target in FINALS:
            rows.append((scan_trigger(status), (target,), SAME))
    return tuple(rows)


ROWS: Final[tuple[Row, ...]] = (
    ("order.shipped", ("not_shipped",), "shipped"),
    *_scan_rows(),
    ("parcel.track_replaced", (*MOVING, "lost"), SAME),
    ("parcel.presumed_lost", LOSABLE, "lost"),
    ("parcel.return_started", ("at_pickup_point",), "returning"),
)
