"""17TRACK push (webhook) and `gettrackinfo` payloads → a `Feed`.

The shapes read (17TRACK tracking API v2.x): the webhook body
`{"event": "TRACKING_UPDATED", "data": {"number", "carrier", "track_info"}}`, a
`gettrackinfo` answer `{"code": 0, "data": {"accepted": [{…}]}}` (one parcel), the
`data` object, or `track_info` itself. Checkpoints are
`track_info.tracking.providers[].events[]`, each with `time_utc` (preferred),
`time_iso` (local time with its offset) or `time_raw` {date, time, timezone},
`description`, `location`, `stage` and `sub_status`.

17TRACK events carry no carrier code, so the status comes from `sub_status` (its
17TRACK classification), else `stage`, else the normalizer on `description`; where the
sub-status says too little, the description may refine it (`SEVENTEEN_REFINE`), and a
description about export customs never reads as the buyer's customs (17TRACK files
"handed over to export customs" under `InTransit_CustomsProcessing` too).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from parcelfsm.errors import ValidationError
from parcelfsm.feeds_common import (
    Checkpoint,
    Feed,
    entries,
    finish,
    local_time,
    origin_customs,
    text_of,
    zone_of,
)
from parcelfsm.tracking import is_export_customs, normalize

# fmt: off
SEVENTEEN_SUB_STATUSES: Final[dict[str, str]] = {
    "NotFound_Other": "no_info", "NotFound_InvalidCode": "no_info",
    "InfoReceived": "info_received",
    "InTransit_PickedUp": "in_transit", "InTransit_Other": "in_transit",
    "InTransit_Departure": "in_transit", "InTransit_Arrival": "in_transit",
    "InTransit_CustomsProcessing": "arrived_at_customs",
    "InTransit_CustomsReleased": "customs_cleared",
    "InTransit_CustomsRequiringInformation": "customs_held",
    "AvailableForPickup_Other": "at_pickup_point",
    "OutForDelivery_Other": "out_for_delivery",
    "DeliveryFailure_Other": "attempt_failed", "DeliveryFailure_NoBody": "attempt_failed",
    "DeliveryFailure_Security": "attempt_failed", "DeliveryFailure_Rejected": "attempt_failed",
    "DeliveryFailure_InvalidAddress": "attempt_failed",
    "Delivered_Other": "delivered",
    "Exception_Returning": "returning", "Exception_Returned": "returned",
    "Exception_Destroyed": "seized", "Exception_Cancel": "delivery_canceled",
    "Exception_Rejected": "attempt_failed",
}
"""`sub_status` → status; sub-statuses not listed (Exception_Other, _Delayed, _Lost,
_Damage, _Security, _NoBody, Expired_Other) read from the description."""

SEVENTEEN_STAGES: Final[dict[str, str]] = {
    "InfoReceived": "info_received", "PickedUp": "in_transit", "Departure": "in_transit",
    "Arrival": "in_transit", "AvailableForPickup": "at_pickup_point",
    "OutForDelivery": "out_for_delivery", "Delivered": "delivered", "Returning": "returning",
    "Returned": "returned",
}
"""Milestone `stage` → status, used when an event has no sub-status."""
# fmt: on

_CUSTOMS_OUTCOMES: Final = frozenset(
    {"arrived_at_customs", "customs_held", "customs_cleared", "customs_failed", "seized", "returning"}
)
SEVENTEEN_REFINE: Final[dict[str, frozenset[str]]] = {
    "in_transit": _CUSTOMS_OUTCOMES,
    "arrived_at_customs": frozenset({"customs_held", "customs_failed", "seized"}),
    "customs_held": frozenset({"customs_failed", "seized"}),
}
"""Where the classification says too little: statuses the description may refine it to."""


def seventeen_status(sub_status: str | None, stage: str | None, description: str) -> str:
    """An event's status: sub-status, else stage (both refined by text), else the text."""
    base = SEVENTEEN_SUB_STATUSES.get(sub_status or "") or SEVENTEEN_STAGES.get(stage or "")
    from_text = normalize(description)
    if base is None:
        status = from_text
    else:
        status = from_text if from_text in SEVENTEEN_REFINE.get(base, frozenset()) else base
    return origin_customs(status) if is_export_customs(description) else status


def _track(payload: Mapping[str, Any] | list[Any]) -> tuple[Mapping[str, Any], Mapping[str, Any]]:
    """(the parcel object with `number`, its `track_info`)."""
    item: Any = payload
    if isinstance(item, list):
        if len(item) != 1:
            raise ValidationError(f"data: expected one tracked parcel, found {len(item)}")
        item = item[0]
    if isinstance(item, Mapping) and isinstance(item.get("data"), Mapping | list):
        item = item["data"]
    if isinstance(item, Mapping) and isinstance(item.get("accepted"), list):
        item = item["accepted"]
    if isinstance(item, list):
        if len(item) != 1 or not isinstance(item[0], Mapping):
            raise ValidationError(f"data.accepted: expected one tracked parcel, found {len(item)}")
        item = item[0]
    if not isinstance(item, Mapping):
        raise ValidationError("data: expected an object")
    info = item.get("track_info", item)
    if not isinstance(info, Mapping):
        raise ValidationError("track_info: expected an object")
    if "tracking" not in info:
        raise ValidationError("track_info.tracking: missing (is this a 17TRACK payload?)")
    return item, info


def _time(event: Mapping[str, Any], where: str) -> datetime:
    for name in ("time_utc", "time_iso"):
        raw = text_of(event, name)
        if raw is not None:
            at = local_time(raw, None, f"{where}.{name}")
            if at is None:
                raise ValidationError(f"{where}.{name}: {raw!r} has no UTC offset")
            return at
    raw_time = event.get("time_raw")
    if isinstance(raw_time, Mapping) and text_of(raw_time, "date"):
        zone_text = text_of(raw_time, "timezone")
        zone = zone_of(zone_text, f"{where}.time_raw.timezone") if zone_text else None
        stamp = f"{text_of(raw_time, 'date')}T{text_of(raw_time, 'time') or '00:00:00'}"
        at = local_time(stamp, zone, f"{where}.time_raw")
        if at is not None:
            return at
        raise ValidationError(f"{where}.time_raw: {stamp!r} has no time zone")
    raise ValidationError(f"{where}.time_utc: missing (no time_utc, time_iso or time_raw)")


def _location(event: Mapping[str, Any]) -> str | None:
    place = text_of(event, "location")
    address = event.get("address")
    if place or not isinstance(address, Mapping):
        return place
    parts = (text_of(address, "city"), text_of(address, "state"), text_of(address, "country"))
    return ", ".join(p for p in parts if p) or None


def _checkpoint(event: Mapping[str, Any], where: str) -> Checkpoint:
    at = _time(event, where)
    description = text_of(event, "description") or ""
    sub_status, stage = text_of(event, "sub_status"), text_of(event, "stage")
    if not description and sub_status is None and stage is None:
        raise ValidationError(f"{where}.description: missing (no description, stage or sub_status)")
    status = seventeen_status(sub_status, stage, description)
    return Checkpoint(at=at, status=status, text=description, location=_location(event))


def parse_17track(payload: Mapping[str, Any] | list[Any]) -> Feed:
    """A 17TRACK webhook body or tracking answer (see the module docstring for the shapes)."""
    item, info = _track(payload)
    tracking = info["tracking"]
    if not isinstance(tracking, Mapping):
        raise ValidationError("track_info.tracking: expected an object")
    providers = tracking.get("providers")
    if providers is not None and not isinstance(providers, list):
        raise ValidationError("track_info.tracking.providers: expected a list")
    found: list[Checkpoint] = []
    carrier: str | None = None
    for p, provider in enumerate(providers or []):
        where = f"providers[{p}]"
        if not isinstance(provider, Mapping):
            raise ValidationError(f"{where}: expected an object")
        about = provider.get("provider")
        if carrier is None and isinstance(about, Mapping):
            carrier = text_of(about, "name", "alias")
        events = entries(provider.get("events"), f"{where}.events")
        found.extend(_checkpoint(event, f"{where}.events[{i}]") for i, event in enumerate(events))
    return finish(item.get("number"), "number", carrier or "17track", found)


__all__ = [
    "SEVENTEEN_REFINE",
    "SEVENTEEN_STAGES",
    "SEVENTEEN_SUB_STATUSES",
    "parse_17track",
    "seventeen_status",
]
