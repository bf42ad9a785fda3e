"""Tracking feeds: a Cainiao, AfterShip or 17TRACK payload → chronological, normalized checkpoints.

Pure parsers for `track-ingest` (README "Tracking feeds"). `parse_feed` takes the
decoded JSON and returns a `Feed` whose checkpoints are sorted by time, each with an
aware UTC instant, a normalized status and the raw text. The status comes from the
carrier's own code first (`parcelfsm.carriers`), then the aggregator's tag, then the
text normalizer; what none knows is `"unknown"` with the text kept and a warning,
never an error. A malformed payload is a `ValidationError` naming the checkpoint and
the field. Each format lives in its own module (`feeds_cainiao`, `feeds_aftership`,
`feeds_17track`); this one detects the format and dispatches.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from parcelfsm.carriers import CAINIAO_ACTION_CODES
from parcelfsm.errors import ValidationError
from parcelfsm.feeds_17track import parse_17track
from parcelfsm.feeds_aftership import AFTERSHIP_REFINE, AFTERSHIP_TAGS, parse_aftership
from parcelfsm.feeds_cainiao import parse_cainiao
from parcelfsm.feeds_common import Checkpoint, Feed

FORMATS: Final[tuple[str, ...]] = ("auto", "cainiao", "aftership", "17track")

_CAINIAO_KEYS: Final = frozenset(
    {"module", "mailNo", "detailList", "section1", "actionCode", "standerdDesc", "timeStr"}
)
_AFTERSHIP_KEYS: Final = frozenset({"tracking", "checkpoints", "slug", "checkpoint_time"})
_SEVENTEEN_KEYS: Final = frozenset(
    {"track_info", "accepted", "rejected", "providers", "time_iso", "time_utc"}
)


def detect_format(payload: Mapping[str, Any] | list[Any]) -> str:
    """`"cainiao"`, `"aftership"` or `"17track"` from the payload's keys; else `ValidationError`."""
    sample: Any = payload
    if isinstance(payload, list):
        sample = next((e for e in payload if isinstance(e, Mapping)), {})
    elif payload.get("event") == "TRACKING_UPDATED" or "track_info" in payload:
        return "17track"
    elif isinstance(payload.get("data"), Mapping):
        sample = payload["data"]
    elif isinstance(payload.get("data"), list):
        return "cainiao"
    keys = set(sample) if isinstance(sample, Mapping) else set()
    if keys & _SEVENTEEN_KEYS:
        return "17track"
    if keys & _AFTERSHIP_KEYS:
        return "aftership"
    if keys & _CAINIAO_KEYS:
        return "cainiao"
    raise ValidationError("payload: cannot tell the feed format; give cainiao, aftership or 17track")


_PARSERS: Final[dict[str, Callable[[Mapping[str, Any] | list[Any]], Feed]]] = {
    "cainiao": parse_cainiao,
    "aftership": parse_aftership,
    "17track": parse_17track,
}


def parse_feed(payload: Mapping[str, Any] | list[Any], format: str = "auto") -> Feed:
    """Parse a decoded tracking payload; `format` is `auto`, `cainiao`, `aftership` or `17track`."""
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
    "parse_17track",
    "parse_aftership",
    "parse_cainiao",
    "parse_feed",
]
