"""UPU S10 tracking numbers: shape, check digit, and the verdict `track-check` prints.

`AA123456785CN`: two letters, eight serial digits, a check digit (weights 8 6 4 2 3 5
9 7, mod 11; 10 → 0, 11 → 5), two letters — the "CN"-style numbers How to open dispute
on Aliexpress? describes. Any other format is accepted as opaque (1-64 printable
ASCII characters, no spaces).
"""

from __future__ import annotations

import re
from typing import Any, Final

import attrs

from parcelfsm.errors import ValidationError

# --- UPU S10 tracking numbers ------------------------------------------------------------

S10_WEIGHTS: Final[tuple[int, ...]] = (8, 6, 4, 2, 3, 5, 9, 7)
_S10: Final = re.compile(r"^[A-Z]{2}[0-9]{9}[A-Z]{2}$")
_OPAQUE: Final = re.compile(r"^[\x21-\x7e]{1,64}$")
_SPACE: Final = re.compile(r"\s+")


def _compact(number: str) -> str:
    return _SPACE.sub("", number).upper()


def is_s10_shaped(number: str) -> bool:
    """Two letters, nine digits, two letters (spaces ignored, any case)."""
    return isinstance(number, str) and bool(_S10.match(_compact(number)))


def s10_check_digit(serial8: str) -> int:
    """The S10 check digit of an 8-digit serial: 11 − (Σ weight·digit mod 11); 10→0, 11→5."""
    if len(serial8) != 8 or not serial8.isascii() or not serial8.isdigit():
        raise ValidationError(f"serial: {serial8!r} is not 8 digits")
    check = 11 - sum(w * int(d) for w, d in zip(S10_WEIGHTS, serial8, strict=True)) % 11
    return {10: 0, 11: 5}.get(check, check)


@attrs.frozen
class TrackCheck:
    """The verdict on one tracking number (what `track-check` prints)."""

    number: str
    s10: bool
    valid: bool
    expected: int | None
    message: str

    def to_json(self) -> dict[str, Any]:
        """`{"number", "s10", "valid", "expected_check_digit", "message"}`."""
        return {
            "number": self.number,
            "s10": self.s10,
            "valid": self.valid,
            "expected_check_digit": self.expected,
            "message": self.message,
        }


def check_tracking_number(number: Any) -> TrackCheck:
    """Check a tracking number without raising: S10 check digit, or opaque-format rules."""
    if not isinstance(number, str):
        return TrackCheck(repr(number), False, False, None, "not a string")
    cleaned = number.strip()
    if not cleaned:
        return TrackCheck("", False, False, None, "empty")
    compact = _compact(cleaned)
    if _S10.match(compact):
        expected = s10_check_digit(compact[2:10])
        actual = int(compact[10])
        if actual == expected:
            return TrackCheck(compact, True, True, expected, "valid UPU S10 number")
        return TrackCheck(
            compact,
            True,
            False,
            expected,
            f"UPU S10 check digit is {actual}, expected {expected}",
        )
    if _SPACE.search(cleaned):
        return TrackCheck(cleaned, False, False, None, "spaces inside a non-S10 number")
    if not _OPAQUE.match(cleaned):
        return TrackCheck(cleaned, False, False, None, "not 1-64 printable ASCII characters")
    return TrackCheck(cleaned, False, True, None, "not S10: accepted as opaque")


def validate_tracking_number(number: str, field: str = "tracking_number") -> str:
    """Return the cleaned number; raise `ValidationError` naming `field` when it is invalid."""
    verdict = check_tracking_number(number)
    if not verdict.valid:
        raise ValidationError(f"{field}: {verdict.number} — {verdict.message}")
    return verdict.number


__all__ = [
    "S10_WEIGHTS",
    "TrackCheck",
    "check_tracking_number",
    "is_s10_shaped",
    "s10_check_digit",
    "validate_tracking_number",
]
