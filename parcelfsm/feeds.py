"""Tracking feeds: a Cainiao or AfterShip payload → chronological, normalized checkpoints.

Pure parsers for `track-ingest` (docs/cli.md). `parse_feed` takes the decoded JSON
and returns a `Feed` whose checkpoints are sorted by time, each with an aware UTC
instant, a normalized status and the raw text. Status comes from the payload's codes
through the data tables `CAINIAO_ACTION_CODES` and `AFTERSHIP_TAGS`, falling back to
`normalize` on the text; what neither knows is `"unknown"` with the text kept, never an
error. A malformed payload is a `ValidationError` naming the checkpoint and the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final

import attrs

from parcelfsm.clock import to_utc
from parcelfsm.errors import ValidationError
from parcelfsm.tracking import STATUSES, normalize, normalize_key, validate_tracking_number

FORMATS: Final[tuple[str, ...]] = ("auto", "cainiao", "aftership")

# --- Checkpoints and feeds ---------------------------------------------------------------


def iso_utc(at: datetime) -> str:
    """`2026-03-05T10:00:00Z` (fractional seconds only when there are some)."""
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError("at: a checkpoint time must carry a time zone")
    return to_utc(value, "at")


@attrs.frozen
class Checkpoint:
    """One carrier event: when (aware UTC), the normalized status, and what the carrier said."""

    at: datetime = attrs.field(converter=_aware_utc)
    status: str = attrs.field(validator=attrs.validators.in_(STATUSES))
    text: str
    code: str | None = None
    location: str | None = None

    def key(self, tracking_number: str) -> str:
        """Idempotency key: `number|UTC time|code` (docs/rules.md).

        Without a carrier code the normalized status stands in for it, so an
        aggregator re-wording an old checkpoint does not make it new; only text the
        normalizer does not know falls back to the text itself.
        """
        code = self.code or (self.status if self.status != "unknown" else normalize_key(self.text))
        return f"{tracking_number}|{iso_utc(self.at)}|{code}"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict of the checkpoint."""
        return {
            "at": iso_utc(self.at),
            "status": self.status,
            "text": self.text,
            "code": self.code,
            "location": self.location,
        }


@attrs.frozen
class Feed:
    """A parsed payload: the tracking number and carrier it names, checkpoints oldest first."""

    tracking_number: str | None
    carrier: str | None
    checkpoints: tuple[Checkpoint, ...]

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict of the feed."""
        return {
            "tracking_number": self.tracking_number,
            "carrier": self.carrier,
            "checkpoints": [c.to_json() for c in self.checkpoints],
        }


def _finish(tracking_number: Any, field: str, carrier: str | None, found: list[Checkpoint]) -> Feed:
    """Validate the number, put checkpoints in time order and drop repeats of one key."""
    number = None
    if tracking_number not in (None, ""):
        number = validate_tracking_number(tracking_number, field)
    if len(found) > 1 and found[0].at > found[-1].at:
        found = found[::-1]  # newest-first feeds: equal times then keep carrier order
    seen: set[str] = set()
    unique: list[Checkpoint] = []
    for cp in sorted(found, key=lambda c: c.at):
        key = cp.key(number or "")
        if key not in seen:
            seen.add(key)
            unique.append(cp)
    return Feed(number, carrier, tuple(unique))


# --- Shared field readers ----------------------------------------------------------------


def _text(entry: Mapping[str, Any], *names: str) -> str | None:
    """The first non-empty string among `names`, stripped."""
    for name in names:
        value = entry.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _entries(value: Any, where: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(f"{where}: expected a list of checkpoints")
    for i, entry in enumerate(value):
        if not isinstance(entry, Mapping):
            raise ValidationError(f"{where}[{i}]: expected an object")
    return value


_ZONE: Final = re.compile(r"^(?:GMT|UTC)?\s*(?:([+-])\s*(\d{1,2})(?::?(\d{2}))?)?$", re.IGNORECASE)


def _zone(value: str, where: str) -> timezone:
    """`GMT+8`, `UTC-03:00`, `+0530`, `GMT` → a fixed-offset zone."""
    match = _ZONE.match(value.strip())
    if not value.strip() or match is None:
        raise ValidationError(f"{where}: cannot read time zone {value!r}")
    sign, hours, minutes = match.groups()
    if sign is None:
        return UTC
    offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
    if offset > timedelta(hours=14):
        raise ValidationError(f"{where}: time zone {value!r} is out of range")
    return timezone(-offset if sign == "-" else offset)


def _local_time(text: str, zone: timezone | None, where: str) -> datetime | None:
    """ISO-like local time text → aware UTC; None when it has no zone and none is given."""
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{where}: cannot read time {text!r}") from None
    if value.tzinfo is None:
        if zone is None:
            return None
        value = value.replace(tzinfo=zone)
    return to_utc(value, where)


_EPOCH_FLOOR: Final = datetime(2000, 1, 1, tzinfo=UTC)


def _epoch_ms(value: int | float, where: str) -> datetime:
    try:
        at = datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        at = _EPOCH_FLOOR - timedelta(days=1)
    if at < _EPOCH_FLOOR:
        raise ValidationError(f"{where}: {value!r} is not an epoch time in milliseconds")
    return at


# --- Cainiao -----------------------------------------------------------------------------

# fmt: off
CAINIAO_ACTION_CODES: Final[dict[str, str]] = {
    # Seller, warehouse, pickup: the carrier knows about the parcel.
    **dict.fromkeys(
        ("CONSIGN", "OM_CONSIGN", "GTMS_ASN", "GWMS_ACCEPT", "GWMS_PICK", "GWMS_PACKAGE"),
        "info_received",
    ),
    # Moving: origin sorting, line haul, transit hubs, destination network.
    **dict.fromkeys(
        (
            "GWMS_OUTBOUND", "GWMS_HANDOVER", "PU_PICKUP_SUCCESS", "PU_SIGN_IN_SUCCESS",
            "CW_INBOUND", "CW_SIGN_IN_SUCCESS", "CW_OUTBOUND", "SC_INBOUND_SUCCESS",
            "SC_OUTBOUND_SUCCESS", "SC_HO_OUT_SUCCESS", "SC_SIGN_IN_SUCCESS", "SC_ARRIVE",
            "SC_DEPART", "TD_TRANS_ARRIVE", "TD_TRANS_DEPART", "CC_EX_START", "CC_EX_SUCCESS",
            "LH_HO_IN_SUCCESS", "LH_HO_AIRLINE", "LH_DEPART", "LH_ARRIVE", "LH_HO_OUT_SUCCESS",
            "CC_TRANS_START", "CC_TRANS_SUCCESS", "GTMS_ACCEPT", "GTMS_SC_ARRIVE",
            "GTMS_SC_DEPART", "GTMS_DO_ARRIVE", "GTMS_STATION_IN", "GTMS_STATION_OUT",
            "GTMS_RELABEL", "GSTAHUB_INBOUND",
        ),
        "in_transit",
    ),
    # Import customs at destination.
    **dict.fromkeys(
        ("CC_IM_START", "CC_IM_PROCESS", "CC_HO_IN_SUCCESS", "CUS_DECLARE"), "arrived_at_customs"
    ),
    "CUS_TAX": "customs_held",
    **dict.fromkeys(
        ("CC_IM_SUCCESS", "CC_HO_OUT_SUCCESS", "CUS_SUCCESS", "CIQ_SUCCESS"), "customs_cleared"
    ),
    **dict.fromkeys(
        ("CC_EX_FAILURE", "CC_TRANS_FAILURE", "CC_IM_FAILURE", "CUS_FAILURE"), "customs_failed"
    ),
    # Last mile. GTMS_STA_SIGNED is the pickup station signing the parcel in, not the buyer.
    **dict.fromkeys(
        ("GTMS_WAIT_SELF_PICK", "GTMS_STA_SIGNED", "GSTA_INBOUND", "GSTA_INFORM_BUYER",
         "POSTMAN_POST"),
        "at_pickup_point",
    ),
    **dict.fromkeys(
        ("GTMS_DO_DEPART", "GTMS_DELIVERING", "GTMS_RE_DELIVERING", "SENT_SCAN"),
        "out_for_delivery",
    ),
    **dict.fromkeys(("GTMS_DEL_FAILURE", "GTMS_SIGN_FAILURE"), "attempt_failed"),
    **dict.fromkeys(
        ("GTMS_SIGNED", "GSTA_SIGN", "GSTA_BUYER_SIGN", "STA_SIGN", "SIGNED"), "delivered"
    ),
    # Returns.
    **dict.fromkeys(
        ("RT_INBOUND", "RT_OUTBOUND", "RT_HO_OUT", "RT_WH_HO_IN", "RT_WH_INBOUND",
         "RT_WH_OUTBOUND", "RT_WH_HO_OUT", "RT_TRANSWH_HO_IN", "RT_TRANSWH_INBOUND",
         "RT_TRANSWH_OUTBOUND", "RT_TMS_ACCEPT"),
        "returning",
    ),
    "RETURNED": "returned",
}
# fmt: on

_LEADING_PLACE: Final = re.compile(r"^\s*\[([^\]]*)\]\s*")


def _cainiao_module(payload: Mapping[str, Any] | list[Any]) -> Mapping[str, Any]:
    """The one tracked parcel in a Cainiao response (or a bare detail list)."""
    if isinstance(payload, list):
        if payload and all(isinstance(m, Mapping) and "mailNo" in m for m in payload):
            modules: Any = payload
        else:
            return {"detailList": payload}
    elif "module" in payload:
        modules = payload["module"]
    elif isinstance(payload.get("data"), list):
        modules = payload["data"]
    else:
        return payload
    if isinstance(modules, Mapping):
        return modules
    if not isinstance(modules, list) or not all(isinstance(m, Mapping) for m in modules):
        raise ValidationError("module: expected a list of tracked parcels")
    if len(modules) != 1:
        raise ValidationError(f"module: expected one tracked parcel, found {len(modules)}")
    module: Mapping[str, Any] = modules[0]
    return module


def _cainiao_time(entry: Mapping[str, Any], where: str) -> datetime:
    raw_zone = _text(entry, "timeZone")
    zone = _zone(raw_zone, f"{where}.timeZone") if raw_zone else None
    raw_epoch = entry.get("time")
    epoch = None if isinstance(raw_epoch, bool) else raw_epoch
    epoch = epoch if isinstance(epoch, int | float) else None
    for name in ("timeStr", "time"):
        local = _text(entry, name)
        if local is not None:
            at = _local_time(local, zone, f"{where}.{name}")
            if at is not None:
                return at
            if epoch is not None:
                break
            raise ValidationError(f"{where}.{name}: {local!r} has no time zone (no timeZone)")
    if epoch is not None:
        return _epoch_ms(epoch, f"{where}.time")
    raise ValidationError(f"{where}.time: missing (no time or timeStr)")


def _cainiao_checkpoint(entry: Mapping[str, Any], where: str) -> Checkpoint:
    at = _cainiao_time(entry, where)
    code = _text(entry, "actionCode")
    code = code.upper() if code else None
    desc = _text(entry, "desc")
    standard = _text(entry, "standerdDesc", "standardDesc")
    title = _text(entry, "descTitle")
    location = _text(entry, "location")
    if desc and (place := _LEADING_PLACE.match(desc)):
        location = location or place.group(1).strip() or None
        desc = desc[place.end() :] or desc
    if code is None and not (desc or standard):
        raise ValidationError(f"{where}.desc: missing (no desc, standerdDesc or actionCode)")
    status = CAINIAO_ACTION_CODES.get(code or "")
    if status is None:
        guesses = (normalize(t) for t in (standard, desc, title) if t)
        status = next((s for s in guesses if s != "unknown"), "unknown")
    text = _text(entry, "desc") or standard or title or ""
    return Checkpoint(at=at, status=status, text=text, code=code, location=location)


def parse_cainiao(payload: Mapping[str, Any] | list[Any]) -> Feed:
    """A Cainiao global tracking response (`module[0].detailList`, or old `section1/2`)."""
    module = _cainiao_module(payload)
    lists: list[tuple[str, Any]] = [("detailList", module.get("detailList"))]
    for section in ("section1", "section2"):
        if isinstance(module.get(section), Mapping):
            lists.append((f"{section}.detailList", module[section].get("detailList")))
    if "detailList" not in module and len(lists) == 1:
        raise ValidationError("detailList: missing (is this a Cainiao payload?)")
    found = [
        _cainiao_checkpoint(entry, f"{path}[{i}]")
        for path, value in lists
        for i, entry in enumerate(_entries(value, path))
    ]
    dest = module.get("destCpInfo")
    carrier = _text(module, "cpCode", "logisticsCompanyName", "companyName") or (
        _text(dest, "cpName") if isinstance(dest, Mapping) else None
    )
    return _finish(module.get("mailNo"), "mailNo", carrier or "cainiao", found)


# --- AfterShip ---------------------------------------------------------------------------

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


def _aftership_status(tag: str | None, subtag: str | None, message: str) -> str:
    code = subtag if subtag in AFTERSHIP_TAGS else tag
    base = AFTERSHIP_TAGS.get(code or "")
    from_text = normalize(message)
    if base is None:
        return from_text
    refinable = AFTERSHIP_REFINE.get(code or "", frozenset())
    return from_text if from_text in refinable else base


def _aftership_location(cp: Mapping[str, Any]) -> str | None:
    parts = (
        _text(cp, "city"),
        _text(cp, "state"),
        _text(cp, "country_name", "country_region_name", "country_iso3", "country_region"),
    )
    return _text(cp, "location") or ", ".join(p for p in parts if p) or None


def _aftership_checkpoint(cp: Mapping[str, Any], where: str) -> Checkpoint:
    raw_time = cp.get("checkpoint_time")
    if raw_time is None or raw_time == "":
        raise ValidationError(f"{where}.checkpoint_time: missing")
    if not isinstance(raw_time, str):
        raise ValidationError(f"{where}.checkpoint_time: expected an ISO 8601 string")
    at = _local_time(raw_time.strip(), None, f"{where}.checkpoint_time")
    if at is None:
        raise ValidationError(f"{where}.checkpoint_time: {raw_time!r} has no UTC offset")
    message = _text(cp, "message", "subtag_message") or ""
    tag, subtag = _text(cp, "tag"), _text(cp, "subtag")
    if not message and tag is None and subtag is None:
        raise ValidationError(f"{where}.message: missing (no message, tag or subtag)")
    return Checkpoint(
        at=at,
        status=_aftership_status(tag, subtag, message),
        text=message,
        code=_text(cp, "raw_tag"),
        location=_aftership_location(cp),
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
        _aftership_checkpoint(cp, f"checkpoints[{i}]")
        for i, cp in enumerate(_entries(tracking.get("checkpoints"), "checkpoints"))
    ]
    return _finish(tracking.get("tracking_number"), "tracking_number", _text(tracking, "slug"), found)


# --- Format detection and entry point ----------------------------------------------------

_CAINIAO_KEYS: Final = frozenset(
    {"module", "mailNo", "detailList", "section1", "actionCode", "standerdDesc", "timeStr"}
)
_AFTERSHIP_KEYS: Final = frozenset({"tracking", "checkpoints", "slug", "checkpoint_time"})


def detect_format(payload: Mapping[str, Any] | list[Any]) -> str:
    """`"cainiao"` or `"aftership"` from the payload's keys; `ValidationError` if neither."""
    sample: Any = payload
    if isinstance(payload, list):
        sample = next((e for e in payload if isinstance(e, Mapping)), {})
    elif isinstance(payload.get("data"), Mapping):
        sample = payload["data"]
    elif isinstance(payload.get("data"), list):
        return "cainiao"
    keys = set(sample) if isinstance(sample, Mapping) else set()
    if keys & _AFTERSHIP_KEYS:
        return "aftership"
    if keys & _CAINIAO_KEYS:
        return "cainiao"
    raise ValidationError("payload: cannot tell the feed format; give cainiao or aftership")


_PARSERS: Final[dict[str, Callable[[Mapping[str, Any] | list[Any]], Feed]]] = {
    "cainiao": parse_cainiao,
    "aftership": parse_aftership,
}


def parse_feed(payload: Mapping[str, Any] | list[Any], format: str = "auto") -> Feed:
    """Parse a decoded tracking payload; `format` is `auto`, `cainiao` or `aftership`."""
    if format not in FORMATS:
        raise ValidationError(f"format: {format!r} is not one of {', '.join(FORMATS)}")
    if not isinstance(payload, Mapping | list):
        raise ValidationError("payload: expected a JSON object or array")
    if isinstance(payload, list) and not payload:
        return Feed(None, None, ())
    name = detect_format(payload) if format == "auto" else format
    return _PARSERS[name](payload)


__all__ = [
    "AFTERSHIP_REFINE",
    "AFTERSHIP_TAGS",
    "CAINIAO_ACTION_CODES",
    "FORMATS",
    "Checkpoint",
    "Feed",
    "detect_format",
    "iso_utc",
    "parse_aftership",
    "parse_cainiao",
    "parse_feed",
]
