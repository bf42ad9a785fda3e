"""What every tracking feed parser shares: checkpoints, feeds, field and time readers.

`finish` is where the feed guarantees live: checkpoints in time order, equal times
broken by the lifecycle order of their status and then by their idempotency key (so
any permutation of a payload gives the same sequence), repeats of one key dropped (the
same representative kept whatever the order), and a warning for every checkpoint
whose status stays `unknown`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final

import attrs

from parcelfsm.clock import format_time, to_utc
from parcelfsm.errors import ValidationError
from parcelfsm.tracking import STATUSES, normalize_key, validate_tracking_number


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
        """Idempotency key: `number|UTC time|code` (README "Tracking feeds").

        Without a carrier code the normalized status stands in for it, so an
        aggregator re-wording an old checkpoint does not make it new; only text the
        normalizer does not know falls back to the text itself.
        """
        code = self.code or (self.status if self.status != "unknown" else normalize_key(self.text))
        return f"{tracking_number}|{format_time(self.at)}|{code}"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict of the checkpoint."""
        return {
            "at": format_time(self.at),
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
    #: one line per checkpoint whose status stayed `unknown` (text kept, never an error)
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict of the feed."""
        return {
            "tracking_number": self.tracking_number,
            "carrier": self.carrier,
            "checkpoints": [c.to_json() for c in self.checkpoints],
            "warnings": list(self.warnings),
        }


#: lifecycle order: breaks ties between checkpoints at the same instant
STATUS_RANK: Final[dict[str, int]] = {
    status: rank
    for rank, status in enumerate(
        (
            "no_info", "delivery_canceled", "info_received", "in_transit", "unknown",
            "arrived_at_customs", "customs_held", "customs_cleared", "customs_failed", "seized",
            "out_for_delivery", "attempt_failed", "at_pickup_point", "delivered", "returning",
            "returned",
        )
    )
}  # fmt: skip


def finish(tracking_number: Any, field: str, carrier: str | None, found: list[Checkpoint]) -> Feed:
    """Validate the number, order the checkpoints deterministically, drop repeated keys."""
    number = None
    if tracking_number not in (None, ""):
        number = validate_tracking_number(tracking_number, field)
    keyed = [(cp.key(number or ""), cp) for cp in found]
    keyed.sort(
        key=lambda kc: (
            kc[1].at,
            STATUS_RANK[kc[1].status],
            kc[0],
            kc[1].text,
            kc[1].location or "",
            kc[1].code or "",
        )
    )
    seen: set[str] = set()
    unique: list[Checkpoint] = []
    for key, cp in keyed:
        if key not in seen:
            seen.add(key)
            unique.append(cp)
    warnings = tuple(
        f"{format_time(cp.at)}: unknown status text {cp.text!r}"
        + (f" (code {cp.code})" if cp.code else "")
        + " kept as unknown"
        for cp in unique
        if cp.status == "unknown"
    )
    return Feed(number, carrier, tuple(unique), warnings)


# --- Shared field readers ----------------------------------------------------------------


def text_of(entry: Mapping[str, Any], *names: str) -> str | None:
    """The first non-empty string among `names`, stripped."""
    for name in names:
        value = entry.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def entries(value: Any, where: str) -> list[Mapping[str, Any]]:
    """A list of checkpoint objects (None: empty); `ValidationError` naming `where` otherwise."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationError(f"{where}: expected a list of checkpoints")
    for i, entry in enumerate(value):
        if not isinstance(entry, Mapping):
            raise ValidationError(f"{where}[{i}]: expected an object")
    return value


_ZONE: Final = re.compile(r"^(?:GMT|UTC)?\s*(?:([+-])\s*(\d{1,2})(?::?(\d{2}))?)?$", re.IGNORECASE)


def zone_of(value: str, where: str) -> timezone:
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


def local_time(text: str, zone: timezone | None, where: str) -> datetime | None:
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


def epoch_ms(value: int | float, where: str) -> datetime:
    """Epoch milliseconds → aware UTC (refusing anything before 2000: seconds, garbage)."""
    try:
        at = datetime.fromtimestamp(value / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        at = _EPOCH_FLOOR - timedelta(days=1)
    if at < _EPOCH_FLOOR:
        raise ValidationError(f"{where}: {value!r} is not an epoch time in milliseconds")
    return at


#: statuses that say the destination's customs has the parcel
DESTINATION_CUSTOMS: Final = frozenset(
    {"arrived_at_customs", "customs_held", "customs_cleared", "customs_failed"}
)


def origin_customs(status: str) -> str:
    """A destination-customs status said of export customs: what it means instead."""
    if status in ("customs_failed",):
        return "returning"
    return "in_transit" if status in DESTINATION_CUSTOMS else status


__all__ = [
    "DESTINATION_CUSTOMS",
    "STATUS_RANK",
    "Checkpoint",
    "Feed",
    "entries",
    "epoch_ms",
    "finish",
    "local_time",
    "origin_customs",
    "text_of",
    "zone_of",
]
