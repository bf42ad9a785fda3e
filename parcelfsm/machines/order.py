"""The order / escrow lifecycle (docs/rules.md–2, docs/events.md (states)).

`none` is the state before `order.placed`. `finished` is a resting state: a dispute
may still be opened inside the dispute window, which freezes the order again.
A withdrawn dispute returns the order to `awaiting_delivery` when protection time was
left (`protection_left`), otherwise to `finished`.
"""

from __future__ import annotations

from typing import Final

from parcelfsm.lifecycles import ORDER_STATES
from parcelfsm.machines.base import SAME, Row

STATES: Final = ("none", *ORDER_STATES)
INITIAL: Final = "none"
FINALS: Final = frozenset({"cancelled"})
RESTING: Final = frozenset({"finished"})
RESOLUTIONS: Final = (
    "dispute.seller_timed_out",
    "dispute.seller_accepted",
    "dispute.offer_accepted",
    "dispute.decided",
    "dispute.customs_document_missed",
)
ROWS: Final[tuple[Row, ...]] = (
    ("order.placed", ("none",), "awaiting_shipment"),
    ("order.cancelled", ("awaiting_shipment",), "cancelled"),
    ("order.auto_cancelled", ("awaiting_shipment",), "cancelled"),
    ("order.shipped", ("awaiting_shipment",), "awaiting_delivery"),
    ("order.receipt_confirmed", ("awaiting_delivery",), "finished"),
    ("order.auto_completed", ("awaiting_delivery",), "finished"),
    ("protection.extended", ("awaiting_delivery", "frozen"), SAME),
    ("dispute.opened", ("awaiting_delivery", "finished"), "frozen"),
    ("dispute.reopened", ("awaiting_delivery", "finished"), "frozen"),
    ("dispute.withdrawn", ("frozen",), "awaiting_delivery", "protection_left"),
    ("dispute.withdrawn", ("frozen",), "finished", "!protection_left"),
    *((t, ("frozen",), "finished") for t in RESOLUTIONS),
    ("order.dispute_window_closed", ("finished",), SAME),
)
