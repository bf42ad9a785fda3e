"""Carrier status text → normalized parcel status, and UPU S10 tracking numbers.

`normalize` maps the raw status text a carrier or tracking aggregator shows to one of
`STATUSES` (README "Parcel statuses"). It is driven by data: the exact phrase table
`PHRASES` first (English, Russian, Portuguese, Spanish, French, Polish), then the
ordered English regex `RULES`, then the other languages' rules
(`parcelfsm.tracking_i18n`). Text it does not know is `"unknown"`: it never raises and
never guesses. Matching runs on the `normalize_key` of the text (case-folded, accents
stripped, punctuation-free, single-spaced), so "Dédouané" and "DEDOUANE" are one.

Export (origin) customs is not the buyer's customs: `is_export_customs` tells the two
apart, and export-customs texts read as `in_transit` (or `returning` when export
clearance failed), never as a destination-customs status.

The UPU S10 checks live in `parcelfsm.s10` and are re-exported here. Parsers for
whole tracking payloads live in `parcelfsm.feeds`.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from parcelfsm.s10 import (
    S10_WEIGHTS,
    TrackCheck,
    check_tracking_number,
    is_s10_shaped,
    s10_check_digit,
    validate_tracking_number,
)
from parcelfsm.tracking_i18n import PHRASES_BY_LANGUAGE, RULES_BY_LANGUAGE
from parcelfsm.vocabulary import SCAN_STATUSES

# --- Normalized statuses (table order) ---------------------------------------------------

STATUSES: Final[tuple[str, ...]] = SCAN_STATUSES

# --- Matching key -----------------------------------------------------------------------

_NON_ALNUM: Final = re.compile(r"[\W_]+")
#: letters NFKD does not decompose into a base letter and an accent
_UNACCENT: Final = str.maketrans({"ł": "l", "đ": "d", "ø": "o", "ħ": "h", "ı": "i"})


def normalize_key(text: str) -> str:
    """Case-fold, strip accents, turn every non-alphanumeric run into one space, strip."""
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_UNACCENT))
    bare = "".join(c for c in folded if not unicodedata.combining(c))
    return _NON_ALNUM.sub(" ", bare).strip()


# --- Exact phrases ----------------------------------------------------------------------


# fmt: off
_PHRASE_TEXT: Final[dict[str, tuple[str, ...]]] = {
    "no_info": (
        "Sending is expected", "Tracking number not available", "Tracking number is not available",
        "Tracking information not available", "Not found", "Pending", "No information yet",
        "No tracking information", "No tracking information available", "Awaiting shipment",
    ),
    "info_received": (
        "Info received", "Information received", "Shipping information received",
        "Shipment information received", "Electronic information submitted",
        "Electronic shipping information received", "Label created", "Shipping label created",
        "Shipper created a label, UPS has not received the package yet.",
        "Shipment information sent to FedEx", "Pre-Shipment Info Sent to USPS, USPS Awaiting Item",
        "Shipping Label Created, USPS Awaiting Item",
    ),
    "in_transit": (
        "In transit", "Shipment in transit", "Accepted by carrier", "Acceptance",
        "Acceptance scan", "Arrival scan", "Departure scan", "Picked up", "Package picked up",
        "Departed facility", "Arrived at facility", "Processed through facility", "Hub processing",
        "Processing at sorting center", "Arrived at sorting center", "Departed from sorting center",
        "Handed over to airline", "Leaving from departure country/region",
        "Departed from departure country/region", "Arrived at destination country/region",
        "Arrived at linehaul office", "Received by local delivery company",
        "Arrived at the distribution center in place of delivery",
        "Arrived at the distribution center in place delivery",
        "Export customs clearance started", "Export customs clearance complete", "Sorting",
        "Processing", "Item is being sorted", "Parcel is being sorted",
    ),
    "arrived_at_customs": (
        "Clearing Customs", "Arrived at customs", "Handed over to customs",
        "Import customs clearance started", "Customs clearance started",
        "Customs clearance in progress", "Customs clearance", "Presented to customs",
    ),
    "customs_held": (
        "Held At Customs", "Held by customs", "Customs hold", "Customs delay", "Clearance delay",
        "Customs inspection",
    ),
    "customs_cleared": (
        "Customs Cleared", "Customs clearance completed", "Import customs clearance complete",
        "Released from customs", "Clearance processing complete",
    ),
    "customs_failed": ("Customs clearance failed", "Import customs clearance failed"),
    "seized": ("Seized by customs", "Confiscated", "Seized"),
    "at_pickup_point": (
        "Available for pickup", "Ready for pickup", "Arrived at post office", "Awaiting collection",
        "Parcel is awaiting pickup at the post office", "Awaiting pickup", "Waiting for pickup",
    ),
    "out_for_delivery": ("Out for delivery", "Delivering", "Delivery in progress"),
    "attempt_failed": (
        "Attempted delivery", "Delivery attempt failed", "Delivery failed", "Failed attempt",
        "Notice left",
    ),
    "delivered": ("Delivered", "Signed", "Signed for", "Delivery successful", "Item delivered"),
    "returning": (
        "Returning to sender", "Return to sender", "Returning", "Export clearance failed",
        "Export customs clearance failed",
    ),
    "returned": ("Returned to sender", "Returned"),
    "delivery_canceled": ("Delivery canceled", "Shipment cancelled"),
}
# fmt: on

PHRASES: Final[dict[str, str]] = {
    normalize_key(text): status
    for table in (*PHRASES_BY_LANGUAGE.values(), _PHRASE_TEXT)
    for status, texts in table.items()
    for text in texts
}
"""Exact phrases in every language: `normalize_key(text)` → status, checked before `RULES`."""

# --- Rules (first match wins; order matters) --------------------------------------------

# An optional subject in front of a verb: "item", "your parcel", "the shipment" …
_SUBJ: Final = r"(?:(?:the |your )?(?:item|package|parcel|shipment|consignment|order|mail item) )?"
_WHO: Final = r"(?:recipient|addressee|consignee|customer|buyer|receiver)"
_CUSTOMS: Final = r"(?:the )?(?:import |destination |export )?customs\b"
_CLEARANCE: Final = r"(?:customs |import |export |transit )*clearance"
_PICKUP_PLACE: Final = (
    r"(?:post office|postal office|pick ?up (?:point|location|station|locker)"
    r"|parcel (?:locker|terminal|shop|point|station)|collection point|service point"
    r"|access point|locker|self ?pick ?up (?:point|station|locker)|parcel machine)"
)
_DELIVERED_TO: Final = (
    rf"(?:{_WHO}|neighbou?r|mailbox|mail box|letter ?box|front door|door|front porch|porch"
    r"|household|reception|front desk|mail ?room|safe place|resident|family member"
    r"|individual|po box|left with|left at"
    r"|signed (?:for )?by (?!(?:the )?(?:pick ?up|station|locker|post office|agent)))"
)

# fmt: off
_RULE_TEXT: Final[tuple[tuple[str, str], ...]] = (
    # Nothing to show yet: not a scan.
    (r"^(?:the )?(?:tracking )?(?:number|information|info|data)(?: is| are)? not (?:yet )?"
     r"(?:available|found|trackable)\b", "no_info"),
    (r"^no (?:tracking )?(?:information|info|data|records?|results?|updates?)\b", "no_info"),
    (r"^(?:sending|shipment|dispatch|shipping) is expected$", "no_info"),
    # The track number is being replaced.
    (r"\b(?:delivery|shipment|shipping|dispatch|consignment|label) (?:has been |was |is )?"
     r"cancell?ed\b", "delivery_canceled"),
    (r"\bcancell?ed (?:delivery|shipment|dispatch)\b", "delivery_canceled"),
    # Customs, most specific outcome first; export (origin) customs is not the buyer's.
    (r"\b(?:seized|confiscated|forfeited|seizure)\b", "seized"),
    (r"\bexport (?:customs |clearance |declaration )*(?:clearance )?(?:has )?(?:failed|failure"
     r"|rejected|refused|unsuccessful)\b", "returning"),
    (rf"\b{_CLEARANCE} (?:has )?(?:failed|failure|unsuccessful|not successful|rejected|refused"
     r"|denied|not passed)\b", "customs_failed"),
    (rf"\bfailed (?:to (?:pass|clear) {_CUSTOMS}|{_CLEARANCE})", "customs_failed"),
    (r"\b(?:did not|didn t|does not|doesn t|could not|couldn t|not) (?:pass(?:ed)?|clear(?:ed)?)"
     rf"(?: through| by)? {_CUSTOMS}", "customs_failed"),
    (rf"\b(?:returned|rejected|refused) by {_CUSTOMS}", "customs_failed"),
    (r"\bcustoms (?:rejected|refused|returned)\b", "customs_failed"),
    (r"\b(?:held|detained|retained|withheld|stopped|delayed|on hold|kept)"
     rf"(?: (?:at|in|by|for|with))? {_CUSTOMS}", "customs_held"),
    (r"\bcustoms (?:hold|delay|detention|inspection|examination|exam|check|review|query"
     r"|enquiry|inquiry)\b", "customs_held"),
    (r"\b(?:customs |import )?(?:duty|duties|import tax(?:es)?|customs charges|customs fees)"
     r"(?: and (?:tax(?:es)?|vat|fees|charges))? (?:payment )?(?:is |are )?(?:due|unpaid|payable"
     r"|outstanding|to be paid|required|pending)\b", "customs_held"),
    (r"\b(?:awaiting|pending|requires?|required|requesting) (?:the )?(?:payment of )?(?:the )?"
     r"(?:customs |import )?(?:duty|duties|import tax(?:es)?|customs charges|customs fees)\b",
     "customs_held"),
    (r"\bcustoms (?:requires?|required|requested|requesting|needs?) (?:additional |more "
     r"|further )?(?:information|info|documents?|documentation|invoice|clarification)\b",
     "customs_held"),
    (rf"\b{_CLEARANCE} (?:delay(?:ed)?|on hold|exception|issue|problem)\b", "customs_held"),
    (r"\bexport (?:customs|clearance|declaration)\b", "in_transit"),
    (rf"\b{_CLEARANCE} (?:processing )?(?:has been |was |is )?(?:completed?|successful"
     r"|success|succeeded|finished|done|passed|ok)\b", "customs_cleared"),
    (r"\bcustoms (?:cleared|released|passed)\b", "customs_cleared"),
    (rf"(?<!not )(?<!never )\b(?:cleared|released|passed)(?: (?:from|by|through|at))? {_CUSTOMS}",
     "customs_cleared"),
    (rf"\b(?:departed|left|exited|out of)(?: from)? {_CUSTOMS}", "customs_cleared"),
    (r"\bshipment release import\b", "customs_cleared"),
    (r"\b(?:arrived|arrival|arrives|received|receipt|accepted)(?: (?:at|in|by))? "
     rf"{_CUSTOMS}", "arrived_at_customs"),
    (r"(?<!information )(?<!info )(?<!data )(?<!declaration )(?<!documents )"
     r"\b(?:handed|handed over|handover|transferred|presented|submitted|sent|delivered"
     rf"|tendered)(?: over)?(?: to| for)? {_CUSTOMS}", "arrived_at_customs"),
    (rf"\b{_CLEARANCE} (?:has )?(?:started|start|begun|began|initiated|in progress|processing"
     r"|underway|under way|pending|ongoing)\b", "arrived_at_customs"),
    (r"\b(?:clearing|in|under|undergoing|awaiting|pending|at|through) "
     rf"{_CUSTOMS}", "arrived_at_customs"),
    (r"^(?:import )?customs (?:clearance|processing|declaration|control)$",
     "arrived_at_customs"),
    # Going back to the sender: "returning" before "returned" ("being returned to …").
    (r"\b(?:being|will be|to be|shall be) returned\b", "returning"),
    (r"\breturn(?:ing)? (?:back )?to (?:the )?(?:sender|shipper|seller|merchant|origin"
     r"|consignor)\b", "returning"),
    (r"\breturn(?:ing)? (?:in progress|in transit|initiated|started|processed)\b", "returning"),
    (r"\b(?:on (?:its|the) way back|sent back)\b", "returning"),
    (r"\breturning\b", "returning"),
    (r"\breturned (?:back )?to (?:the )?(?:sender|shipper|seller|merchant|origin|consignor)\b",
     "returned"),
    (r"\b(?:delivered|handed over|handed) (?:back )?to (?:the )?(?:sender|shipper|seller"
     r"|merchant|consignor)\b", "returned"),
    (r"\b(?:received|collected) by (?:the )?(?:sender|shipper|seller|merchant|consignor)\b",
     "returned"),
    (r"\breturn(?:ed)? (?:item |parcel |package |shipment )?(?:delivered|received|completed?)\b",
     "returned"),
    # Waiting for the buyer at a post office, locker or pickup point.
    (r"\b(?:available|ready) for (?:self ?)?(?:pick ?up|collection)\b", "at_pickup_point"),
    (r"\bawaiting collection\b", "at_pickup_point"),
    (rf"\b(?:awaiting|waiting for) (?:pick ?up|self ?pick ?up) by (?:the )?{_WHO}\b",
     "at_pickup_point"),
    (r"\b(?:arrived|arrival|delivered|deposited|placed)(?: (?:at|to|in|into))? (?:the |a )?"
     rf"{_PICKUP_PLACE}\b(?! of (?:origin|posting|dispatch|exchange))", "at_pickup_point"),
    (r"\bheld at (?:the )?(?:post office|pick ?up point|collection point)\b", "at_pickup_point"),
    # A delivery attempt failed (the parcel stays where it is).
    (r"\b(?:attempted delivery|delivery (?:was )?attempted|delivery attempt|attempt fail(?:ed)?"
     r"|(?:failed|unsuccessful) (?:delivery )?attempt)\b", "attempt_failed"),
    (r"\bdelivery (?:has )?(?:failed|unsuccessful|not successful|failure)\b", "attempt_failed"),
    (r"\b(?:could not|couldn t|cannot|can t|unable to|not) (?:be )?deliver(?:ed)?\b",
     "attempt_failed"),
    (rf"\b{_WHO} (?:was |is )?(?:not available|not at home|not home|absent|unavailable"
     r"|refused|moved)\b", "attempt_failed"),
    (rf"\b(?:refused|rejected) by (?:the )?{_WHO}\b", "attempt_failed"),
    (r"\b(?:notice left|business closed|no one (?:at home|available)|incorrect address)\b",
     "attempt_failed"),
    # On the van.
    (r"\bout for (?:delivery|delivering)\b", "out_for_delivery"),
    (r"\bon (?:the |a )?(?:[^\W\d_]+ )?(?:vehicle|van|truck) for delivery\b", "out_for_delivery"),
    (r"\b(?:on|loaded (?:on|onto)) (?:the |a )?(?:[^\W\d_]+ )?delivery (?:vehicle|van|truck)\b",
     "out_for_delivery"),
    (r"\bwith (?:the |a )?(?:delivery )?(?:courier|driver|postman) for delivery\b",
     "out_for_delivery"),
    (r"\b(?:courier|driver|postman) (?:is )?(?:on (?:the|his|her|their) way|delivering)\b",
     "out_for_delivery"),
    # Delivered to the buyer (only shapes that cannot mean a facility or a locker).
    (rf"^{_SUBJ}(?:has been |have been |was |is )?(?:successfully )?delivered"
     r"(?: successfully)?$", "delivered"),
    (rf"^{_SUBJ}(?:has been |was |is )?(?:successfully )?delivered (?:successfully )?"
     rf"(?:(?:to|in|at|into|with|on) )*(?:the |your |a )?{_DELIVERED_TO}", "delivered"),
    (rf"^{_SUBJ}(?:has been |was )?(?:picked up|collected|received|signed for|signed) by "
     rf"(?:the )?{_WHO}\b", "delivered"),
    (rf"\bsigned (?:for )?by (?:the )?{_WHO}\b", "delivered"),
    (r"^(?:delivery (?:successful|succeeded|completed?|confirmed)|successful delivery"
     r"|successfully delivered|delivered and signed(?: for)?)$", "delivered"),
    # The carrier has been told about the parcel.
    (r"^(?!.*\bcustoms\b)(?:the )?(?:shipping |shipment |electronic |order |pre ?shipment "
     r"|pre ?advice |consignment |parcel )*(?:info|information|data|notification|details) "
     r"(?:has been |was )?(?:received|submitted|sent|transmitted)\b", "info_received"),
    (r"\b(?:shipping |shipment )?label (?:has been |was )?(?:created|printed|generated"
     r"|issued)\b", "info_received"),
    (r"\b(?:shipper created a label|awaiting item)\b", "info_received"),
    # Moving between facilities.
    (rf"^{_SUBJ}(?:is |still )*in transit\b", "in_transit"),
    (r"\b(?:departed|departure from|dispatched|despatched)\b", "in_transit"),
    (r"\b(?:arrived|arrival|arrives)(?: (?:at|in|to))? (?:the |a )?(?:[^\W\d_]+ ){0,3}?"
     r"(?:sort(?:ing)? (?:center|centre|facility|hub)|facility|hub|cent(?:er|re)|depot"
     r"|warehouse|gateway|airport|terminal|office of exchange|country(?: region)?|destination"
     r"|origin|delivery office|linehaul office|transit office)\b", "in_transit"),
    (r"\b(?:accepted|picked up|collected|received|scanned) (?:by|at|in|into) (?:the )?"
     r"(?:[^\W\d_]+ ){0,2}?(?:carrier|courier|post|postal service|logistics(?: company"
     r"| provider| partner)?|airline|driver|origin facility|facility|sort(?:ing)? cent(?:er|re)"
     r"|hub|warehouse|depot|delivery company|delivery partner)\b", "in_transit"),
    (r"\bhanded (?:over )?to (?:the )?(?:[^\W\d_]+ ){0,2}?(?:airline|carrier|courier|linehaul"
     r"|line haul|post|postal (?:service|operator)|delivery (?:company|partner|provider"
     r"|service)|last mile|logistics|driver|flight|transport)\b", "in_transit"),
    (r"\b(?:processed|processing|sorted|sorting)(?: (?:at|through|in))? (?:the )?"
     r"(?:[^\W\d_]+ ){0,2}?(?:facility|hub|cent(?:er|re)|depot|warehouse|office)\b",
     "in_transit"),
    (r"\b(?:flight|aircraft|plane) (?:has )?(?:departed|arrived|landed|took off)\b",
     "in_transit"),
    (r"\bleaving (?:from )?(?:the )?(?:departure|origin) (?:country|city|region)\b",
     "in_transit"),
    (r"^(?:sorting|processing|being sorted|in processing)\b", "in_transit"),
    (r"\b(?:awaiting|waiting for) (?:self ?)?(?:pick ?up|collection)\b"
     r"(?! (?:by|from) (?:the )?(?:carrier|courier|driver|logistics))", "at_pickup_point"),
)
# fmt: on

RULES: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern), status) for pattern, status in _RULE_TEXT
)
"""Ordered `(pattern, status)` rules tried on the key after `PHRASES`; the first match wins."""


I18N_RULES: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern), status) for rules in RULES_BY_LANGUAGE.values() for pattern, status in rules
)
"""The other languages' rules, tried after the English `RULES`."""

_EXPORT: Final = re.compile(
    r"\b(?:export|outbound customs|origin customs|exportacao|exportacion|exportation|eksport"
    r"|экспорт)|出口"
)


def is_export_customs(text: str | None) -> bool:
    """True when a status text speaks of export (origin-country) customs."""
    return isinstance(text, str) and bool(_EXPORT.search(normalize_key(text)))


def normalize(text: str) -> str:
    """Raw carrier status text → one of `STATUSES`; `"unknown"` for text it does not know."""
    if not isinstance(text, str):
        return "unknown"
    key = normalize_key(text)
    if not key:
        return "unknown"
    if key in PHRASES:
        return PHRASES[key]
    for pattern, status in (*RULES, *I18N_RULES):
        if pattern.search(key):
            return status
    return "unknown"


__all__ = [
    "I18N_RULES",
    "PHRASES",
    "RULES",
    "S10_WEIGHTS",
    "STATUSES",
    "TrackCheck",
    "check_tracking_number",
    "is_export_customs",
    "is_s10_shaped",
    "normalize",
    "normalize_key",
    "s10_check_digit",
    "validate_tracking_number",
]
