"""The closed vocabularies of docs/events.md–2 as `Literal` types and tuples.

One place for every enumerated value, so validation, JSON Schemas and the machines
agree on spelling.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Party = Literal["buyer", "seller"]
Solution = Literal["refund_only", "return_and_refund"]
Fault = Literal["seller", "buyer", "none"]
Reason = Literal[
    "protection_expiring",
    "returned_by_carrier",
    "no_tracking_info",
    "customs_duty_too_high",
    "customs_problem",
    "wrong_address",
    "delivered_elsewhere",
    "empty_parcel",
    "wrong_parcel",
    "not_as_described",
    "damaged",
    "missing_items",
]
CustomsCause = Literal[
    "no_licence", "no_invoice", "counterfeit", "undervalued", "prohibited_goods", "unpaid_duty"
]
ScanStatus = Literal[
    "no_info",
    "info_received",
    "in_transit",
    "arrived_at_customs",
    "customs_held",
    "customs_cleared",
    "customs_failed",
    "seized",
    "at_pickup_point",
    "out_for_delivery",
    "attempt_failed",
    "delivered",
    "returning",
    "returned",
    "delivery_canceled",
    "unknown",
]
AlertKind = Literal[
    "protection_ending",
    "no_first_info",
    "no_news",
    "customs_stalled",
    "mediation_overdue",
    "refund_overdue",
]

REASONS: Final = get_args(Reason)
CUSTOMS_REASONS: Final = frozenset({"customs_duty_too_high", "customs_problem"})
SELLER_FAULT_CAUSES: Final = frozenset({"no_licence", "no_invoice", "counterfeit", "undervalued"})
BUYER_FAULT_CAUSES: Final = frozenset({"prohibited_goods", "unpaid_duty"})
SCAN_STATUSES: Final = get_args(ScanStatus)
ALERT_KINDS: Final = get_args(AlertKind)
