"""Cainiao `actionCode`s → normalized statuses: exact codes, then code families.

Cainiao names each event `FAMILY_ACTION[_RESULT]`. The exact table holds the codes
seen in real trackings; a code it does not list is read by its family (the longest
matching prefix) and its result suffix, so a new `..._FAILURE` in a customs family
still reads as a failure. Unknown families give None (the caller falls back to the
aggregator's tag, then to the text).

Export customs is not the buyer's customs. `CC_EX_*` (export clearance in the origin
country) and `CC_TRANS_*` (transit-country clearance) read as `in_transit`, and their
failures as `returning` (the parcel goes back to the sender without ever reaching the
destination's customs): they never arm `customs_stall` and never count as
`at_customs`. Only the destination's import customs — `CC_HO_IN_*` (handed to
customs), `CC_IM_*`, `CUS_*` (declaration, duty) and `CIQ_*` (inspection and
quarantine) — lead to `at_customs` / `held_at_customs`. `*_DESTROY` (the parcel was
destroyed, by customs or in a return warehouse) reads as `seized`: final, and the
parcel reaches nobody.
"""

from __future__ import annotations

from typing import Final

# fmt: off
CAINIAO_ACTION_CODES: Final[dict[str, str]] = {
    # GWMS_: the seller's / fulfilment warehouse; the carrier knows about the parcel.
    **dict.fromkeys(
        ("CONSIGN", "OM_CONSIGN", "GTMS_ASN", "GWMS_ACCEPT", "GWMS_PICK", "GWMS_PACKAGE",
         "PRE_READY_TO_SHIP", "WMS_CONFIRMED", "PU_PICKUP_FAILURE"),
        "info_received",
    ),
    # PU_ pickup, SC_ sorting centre, CW_ consolidation warehouse, LH_ line haul.
    **dict.fromkeys(
        (
            "GWMS_OUTBOUND", "GWMS_HANDOVER", "PU_PICKUP_SUCCESS", "PU_SIGN_IN_SUCCESS",
            "CW_INBOUND", "CW_SIGN_IN_SUCCESS", "CW_OUTBOUND", "SC_INBOUND_SUCCESS",
            "SC_INBOUND_FAILURE", "SC_OUTBOUND_SUCCESS", "SC_HO_OUT_SUCCESS", "SC_SIGN_IN_SUCCESS",
            "SC_ARRIVE", "SC_DEPART", "TD_TRANS_ARRIVE", "TD_TRANS_DEPART", "LH_HO_IN_SUCCESS",
            "LH_HO_AIRLINE", "LH_DEPART", "LH_ARRIVE", "LH_HO_OUT_SUCCESS", "LH_POST_COLLECTION",
            "GTMS_ACCEPT", "GTMS_SC_ARRIVE", "GTMS_SC_DEPART", "GTMS_DO_ARRIVE", "GTMS_STATION_IN",
            "GTMS_STATION_OUT", "GTMS_RELABEL", "GSTAHUB_INBOUND", "COMMON_INTRANSIT",
        ),
        "in_transit",
    ),
    # CC_EX_ export customs (origin) and CC_TRANS_ transit customs: not the buyer's customs.
    **dict.fromkeys(
        ("CC_EX_START", "CC_EX_SUCCESS", "CC_TRANS_START", "CC_TRANS_SUCCESS"), "in_transit"
    ),
    **dict.fromkeys(("CC_EX_FAILURE", "CC_TRANS_FAILURE"), "returning"),
    # Destination import customs: CC_HO_IN_ handed in, CC_IM_ clearance, CUS_ declaration
    # and duty, CIQ_ inspection and quarantine.
    **dict.fromkeys(
        ("CC_IM_START", "CC_IM_PROCESS", "CC_HO_IN_SUCCESS", "CUS_DECLARE", "CUS_START"),
        "arrived_at_customs",
    ),
    **dict.fromkeys(
        ("CUS_TAX", "CUS_TAX_PAY", "CUS_HOLD", "CC_IM_HOLD", "CC_IM_DETAIN", "CIQ_START",
         "CIQ_INSPECT", "CIQ_HOLD"),
        "customs_held",
    ),
    **dict.fromkeys(
        ("CC_IM_SUCCESS", "CC_HO_OUT_SUCCESS", "CUS_SUCCESS", "CUS_TAX_PAID", "CIQ_SUCCESS"),
        "customs_cleared",
    ),
    **dict.fromkeys(
        ("CC_IM_FAILURE", "CC_HO_IN_FAILURE", "CUS_FAILURE", "CIQ_FAILURE"), "customs_failed"
    ),
    # GTMS_ destination last mile, GSTA_ pickup station / locker.
    # GTMS_STA_SIGNED is the pickup station signing the parcel in, not the buyer.
    **dict.fromkeys(
        ("GTMS_WAIT_SELF_PICK", "GTMS_STA_SIGNED", "GSTA_INBOUND", "GSTA_INFORM_BUYER",
         "POSTMAN_POST"),
        "at_pickup_point",
    ),
    **dict.fromkeys(
        ("GTMS_DO_DEPART", "GTMS_DELIVERING", "GTMS_RE_DELIVERING", "SENT_SCAN"),
        "out_for_delivery",
    ),
    **dict.fromkeys(
        ("GTMS_DEL_FAILURE", "GTMS_SIGN_FAILURE", "GTMS_STA_SIGN_FAILURE", "GMT_DEL_FAILURE"),
        "attempt_failed",
    ),
    **dict.fromkeys(
        ("GTMS_SIGNED", "GSTA_SIGN", "GSTA_BUYER_SIGN", "STA_SIGN", "SIGNED"), "delivered"
    ),
    # RT_ the return journey; RETURNED back with the sender.
    **dict.fromkeys(
        ("RT_INBOUND", "RT_OUTBOUND", "RT_HO_OUT", "RT_WH_HO_IN", "RT_WH_INBOUND",
         "RT_WH_OUTBOUND", "RT_WH_HO_OUT", "RT_TRANSWH_HO_IN", "RT_TRANSWH_INBOUND",
         "RT_TRANSWH_OUTBOUND", "RT_TMS_ACCEPT", "GTMS_RETURN", "GSTA_RETURN"),
        "returning",
    ),
    **dict.fromkeys(("RETURNED", "RT_SIGNED", "RT_SIGN", "RT_SELLER_SIGN"), "returned"),
}

#: family prefix -> (status of any other code of the family, status of its `_FAILURE`s);
#: longest prefix first
CAINIAO_FAMILIES: Final[tuple[tuple[str, str, str], ...]] = (
    ("CC_HO_OUT_", "customs_cleared", "customs_held"),
    ("CC_HO_IN_", "arrived_at_customs", "customs_failed"),
    ("CC_TRANS_", "in_transit", "returning"),
    ("CC_EX_", "in_transit", "returning"),
    ("CC_IM_", "arrived_at_customs", "customs_failed"),
    ("GSTAHUB_", "in_transit", "in_transit"),
    ("GWMS_", "info_received", "info_received"),
    ("GTMS_", "in_transit", "attempt_failed"),
    ("GSTA_", "at_pickup_point", "attempt_failed"),
    ("CUS_", "arrived_at_customs", "customs_failed"),
    ("CIQ_", "customs_held", "customs_failed"),
    ("RT_", "returning", "returning"),
    ("PU_", "in_transit", "info_received"),
    ("SC_", "in_transit", "in_transit"),
    ("LH_", "in_transit", "in_transit"),
    ("CW_", "in_transit", "in_transit"),
)
# fmt: on


def cainiao_status(code: str | None) -> str | None:
    """The status of a Cainiao `actionCode`: exact table, `*_DESTROY`, then its family."""
    if not isinstance(code, str) or not code.strip():
        return None
    key = code.strip().upper()
    exact = CAINIAO_ACTION_CODES.get(key)
    if exact is not None:
        return exact
    if key.endswith("_DESTROY") or key.endswith("_DESTROYED"):
        return "seized"
    for prefix, status, failure in CAINIAO_FAMILIES:
        if key.startswith(prefix):
            return failure if key.endswith(("_FAILURE", "_FAILED", "_FAIL")) else status
    return None


__all__ = ["CAINIAO_ACTION_CODES", "CAINIAO_FAMILIES", "cainiao_status"]
