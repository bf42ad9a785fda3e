"""Injected time: the `Clock` protocol, a system clock and a manual clock.

The library never reads the time anywhere else (and never lets SQLite pick one), so a
frozen or manual clock controls every deadline. All datetimes are timezone-aware UTC;
a naive datetime is a `ValidationError`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final, Protocol, runtime_checkable

from parcelfsm.errors import ValidationError, quote

UTC = dt.UTC
DAY = dt.timedelta(days=1)


@runtime_checkable
class Clock(Protocol):
    """Anything with a `now()` that returns an aware UTC datetime."""

    def now(self) -> dt.datetime:
        """The current instant, aware UTC."""
        ...


class SystemClock:
    """The wall clock, read at every call (so freezegun and time-machine freeze it)."""

    def now(self) -> dt.datetime:
        """The current instant, aware UTC."""
        return dt.datetime.now(UTC)


class ManualClock:
    """A clock that moves only when told: `set(t)` or `advance(days=…, hours=…)`."""

    def __init__(self, start: dt.datetime | str) -> None:
        self._now = to_utc(start, "clock", bounded=False)

    def now(self) -> dt.datetime:
        """The instant the clock was set or advanced to."""
        return self._now

    def set(self, when: dt.datetime | str) -> None:
        """Jump to `when` (forwards or backwards)."""
        self._now = to_utc(when, "clock", bounded=False)

    def advance(
        self, *, days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0
    ) -> dt.datetime:
        """Move forwards by the given span and return the new instant."""
        span = dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if span < dt.timedelta(0):
            raise ValidationError("advance: the span must not be negative")
        self._now += span
        return self._now


class FixedClock(ManualClock):
    """A manual clock used by the CLI's `--now` (same behaviour, clearer name)."""


_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_time(text: str, field: str = "time", *, bounded: bool = True) -> dt.datetime:
    """Parse ISO 8601 with `Z` or an offset, or a bare date (= 00:00Z), to aware UTC.

    Raises:
        ValidationError: the text is not such a time, or has no zone.
    """
    if not isinstance(text, str):
        raise ValidationError(f"{field}: expected ISO 8601 text, got {type(text).__name__}")
    raw = text.strip()
    try:
        if _DATE_ONLY.match(raw):
            value = dt.datetime.fromisoformat(raw).replace(tzinfo=UTC)
        else:
            value = dt.datetime.fromisoformat(raw.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            f"{field}: {quote(text)} is not an ISO 8601 time (e.g. 2026-03-01T10:00:00Z)"
        ) from None
    return to_utc(value, field, bounded=bounded)


#: the instants the library accepts: deadlines years ahead must still be representable
EARLIEST: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
LATEST: Final = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


def to_utc(value: dt.datetime | str, field: str = "time", *, bounded: bool = True) -> dt.datetime:
    """Return `value` as aware UTC; strings are parsed, naive datetimes rejected.

    Raises:
        ValidationError: not a datetime, naive, or outside 1970-01-01 … 9000-01-01
            (so every deadline derived from it stays a valid date).
    """
    if isinstance(value, str):
        value = parse_time(value, field, bounded=bounded)
    if not isinstance(value, dt.datetime):
        raise ValidationError(f"{field}: expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(f"{field}: naive datetime {value.isoformat()} — give a timezone (UTC)")
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise ValidationError(f"{field}: {value.isoformat()} is outside the representable range") from None
    if bounded and not EARLIEST <= value < LATEST:
        raise ValidationError(f"{field}: {value.isoformat()} is outside 1970-01-01 … 9000-01-01")
    return value


def format_time(value: dt.datetime) -> str:
    """ISO 8601 UTC with `Z`; microseconds only when present."""
    if value.utcoffset():
        value = value.astimezone(UTC)
    text = value.replace(tzinfo=None).isoformat()  # microseconds only when present
    return text + "Z"


def to_micros(value: dt.datetime) -> int:
    """Microseconds since the Unix epoch (the sortable form the store indexes)."""
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
