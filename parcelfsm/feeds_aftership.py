"""AfterShip trackings → a `Feed`: carrier code first, then tag/subtag, then the text.

A checkpoint's `raw_tag` is the carrier's own event code (a Cainiao `actionCode` when
Cainiao carried the parcel): it is mapped first, because AfterShip mis-tags some codes
(it tags `CC_IM_START`, import clearance *started*, `InTransit_005` customs clearance
*completed*). A raw tag no carrier table knows (China Post's `EMA`, say) falls back to
the subtag or tag; where the tag says too little, the message text may refine it
(`AFTERSHIP_REFINE`); a message about export customs never reads as the buyer's customs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from parcelfsm.carriers import carrier_status
from parcelfsm.errors import ValidationError
from parcelfsm.feeds_common import Checkpoint, Feed, entries, finish, local_time, origin_customs, text_of
from parcelfsm.tracking import STATUSES, is_export_customs, normalize

_CUSTOMS_OUTCOMES: Final = frozenset(
    {"arrived_at_customs", "customs_held", "customs_cleared", "customs_failed", "seized"}
)
_ANY_KNOWN: Final = frozenset(STATUSES) - {"unknown"}

AFTERSHIP_TAGS: Final[dict[str, str]] = {
    "Pending": "no_info",
    "Expired": "no_info",
    "InfoReceived": "info_received",
    "InTransit": "in_transit",
    "InTransit_005": "customs_cleared",
    "InTransit_006": "arrived_at_customs",
    "OutForDelivery": "out_for_delivery",
    "AvailableForPickup": "at_pickup_point",
    "AttemptFail": "attempt_failed",
    "Delivered": "delivered",
    "Exception": "unknown",
    "Exception_002": "attempt_failed",  # customer moved
    "Exception_003": "attempt_failed",  # customer refused delivery
    "Exception_004": "customs_held",  # delayed (customs clearance)
    "Exception_006": "customs_held",  # held for payment (duty on a cross-border parcel)
    "Exception_007": "attempt_failed",  # incorrect address
    "Exception_008": "attempt_failed",  # pick-up missed
    "Exception_010": "returning",
    "Exception_011": "returned",
}
"""Tag or subtag → status; a subtag listed here wins over its tag."""

AFTERSHIP_REFINE: Final[dict[str, frozenset[str]]] = {
    "InTransit": _CUSTOMS_OUTCOMES | {"returning"},
    "Exception": _ANY_KNOWN,
    "Exception_004": frozenset({"customs_failed", "seized", "returning"}),
    "Exception_006": frozenset({"customs_failed", "seized"}),
}
"""Where the tag says too little: statuses the message text may refine it to."""


def aftership_status(tag: str | None, subtag: str | None, message: str, raw_tag: str | None = None) -> str:
    """A checkpoint's status: carrier code, else subtag/tag (refined by text), else text."""
    by_code = carrier_status(raw_tag)
    if by_code is not None:
        return by_code
    code = subtag if subtag in AFTERSHIP_TAGS else tag
    base = AFTERSHIP_TAGS.get(code or "")
    from_text = normalize(message)
    if base is None:
        status = from_text
    else:
        refinable = AFTERSHIP_REFINE.get(code or "", frozenset())
        status = from_text if from_text in refinable else base
    return origin_customs(status) if is_export_customs(message) else status


def _location(cp: Mapping[str, Any]) -> str | None:
    parts = (
        text_of(cp, "city"),
        text_of(cp, "state"),
        text_of(cp, "country_name", "country_region_name", "country_iso3", "country_region"),
    )
    return text_of(cp, "location") or ", ".join(p for p in parts if p) or None


def _checkpoint(cp: Mapping[str, Any], where: str) -> Checkpoint:
    raw_time = cp.get("checkpoint_time")
    if raw_time is None or raw_time == "":
        raise ValidationError(f"{where}.checkpoint_time: missing")
    if not isinstance(raw_time, str):
        raise ValidationError(f"{where}.checkpoint_time: expected an ISO 8601 string")
    at = local_time(raw_time.strip(), None, f"{where}.checkpoint_time")
    if at is None:
        raise ValidationError(f"{where}.checkpoint_time: {raw_time!r} has no UTC offset")
    message = text_of(cp, "message", "subtag_message") or ""
    tag, subtag, raw_tag = text_of(cp, "tag"), text_of(cp, "subtag"), text_of(cp, "raw_tag")
    if not message and tag is None and subtag is None and raw_tag is None:
        raise ValidationError(f"{where}.message: missing (no message, tag or subtag)")
    return Checkpoint(
        at=at,
        status=aftership_status(tag, subtag, message, raw_tag),
        text=message,
        code=raw_tag,
        location=_location(cp),
    )


def parse_aftership(payload: Mapping[str, Any] | list[Any]) -> Feed:
    """An AfterShip tracking (`{"data": {"tracking": …}}`, `data`, the object, or checkpoints)."""
    tracking: Mapping[str, Any] = {"checkpoints": payload} if isinstance(payload, list) else payload
    data = tracking.get("data")
    if isinstance(data, Mapping):
        tracking = data
    if isinstance(tracking.get("tracking"), Mapping):
        tracking = tracking["tracking"]
    if "checkpoints" not in tracking:
        raise ValidationError("checkpoints: missing (is this an AfterShip payload?)")
    found = [
        _checkpoint(cp, f"checkpoints[{i}]")
        for i, cp in enumerate(entries(tracking.get("checkpoints"), "checkpoints"))
    ]
    return finish(tracking.get("tracking_number"), "tracking_number", text_of(tracking, "slug"), found)


__all__ = ["AFTERSHIP_REFINE", "AFTERSHIP_TAGS", "aftership_status", "parse_aftership"]
