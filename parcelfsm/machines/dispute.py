"""The dispute lifecycle (docs/rules.md, docs/events.md (states)).

`none` is "no dispute" (shown as `null`). `resolved` and `closed` are final: a
resolved dispute (even with refund 0) and a withdrawn one not reopened in time can
never come back. The buyer's return parcel and the refund's arrival are recorded on a
resolved dispute without changing its state.
"""

from __future__ import annotations

from typing import Final

from parcelfsm.lifecycles import DISPUTE_STATES
from parcelfsm.machines.base import SAME, Row

STATES: Final = DISPUTE_STATES
INITIAL: Final = "none"
FINALS: Final = frozenset({"resolved", "closed"})
RESTING: Final[frozenset[str]] = frozenset()
OPEN: Final = ("awaiting_seller", "negotiating", "escalated")
ROWS: Final[tuple[Row, ...]] = (
    ("dispute.opened", ("none",), "awaiting_seller"),
    ("dispute.seller_accepted", ("awaiting_seller", "negotiating"), "resolved"),
    ("dispute.seller_timed_out", ("awaiting_seller",), "resolved"),
    ("dispute.offer_made", ("awaiting_seller", "negotiating"), "negotiating"),
    ("dispute.offer_accepted", ("negotiating",), "resolved"),
    ("dispute.escalated", ("awaiting_seller", "negotiating"), "escalated"),
    ("dispute.auto_escalated", ("awaiting_seller", "negotiating"), "escalated"),
    ("dispute.customs_document_provided", ("escalated",), SAME),
    ("dispute.customs_document_missed", ("escalated",), "resolved"),
    ("dispute.decided", ("escalated",), "resolved"),
    ("dispute.return_shipped", (*OPEN, "resolved"), SAME),
    ("dispute.withdrawn", OPEN, "withdrawn"),
    ("dispute.reopened", ("withdrawn",), "awaiting_seller"),
    ("dispute.reopen_window_closed", ("withdrawn",), "closed"),
    ("refund.received", ("resolved",), SAME),
)
