"""The policy: every duration and table of the rules in one frozen, versioned value.

Keys are the documented dotted names (`dispute.window_days`); a JSON policy file
uses them flat (`{"dispute.window_days": 20}`) or nested (`{"dispute": {"window_days":
20}}`). The policy in force is written into each order's first event, so an order
replays under the rules it started with even after the defaults change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import attrs

from parcelfsm.canonical import canonical_json, sha256_hex
from parcelfsm.errors import ValidationError, quote

DEFAULT_VERSION: Final = "2026.2"
"""2026.2 added `customs.duty_paid_by`; a policy recorded as 2026.1 reads it as all-buyer."""
#: a policy version is 1 … 64 printable characters (it is copied into every new order)
VERSION_CHARS: Final = 64

# key -> (attribute, minimum). One row per documented policy key.
_DAY_KEYS: Final[dict[str, tuple[str, int]]] = {
    "order.processing_days_default": ("processing_days_default", 1),
    "order.processing_days_max": ("processing_days_max", 1),
    "protection.days_default": ("protection_days_default", 1),
    "protection.reminder_days": ("reminder_days", 0),
    "dispute.window_days": ("dispute_window_days", 0),
    "parcel.first_info_days": ("first_info_days", 1),
    "parcel.no_news_days": ("no_news_days", 1),
    "parcel.silent_lost_days": ("silent_lost_days", 1),
    "parcel.untracked_lost_days": ("untracked_lost_days", 1),
    "parcel.customs_stall_days": ("customs_stall_days", 1),
    "parcel.pickup_days": ("pickup_days", 1),
    "dispute.seller_response_days": ("seller_response_days", 1),
    "dispute.mediation_after_days": ("mediation_after_days", 1),
    "dispute.mediation_overdue_days": ("mediation_overdue_days", 1),
    "dispute.customs_document_days": ("customs_document_days", 1),
    "dispute.reopen_days": ("reopen_days", 0),
    "refund.overdue_days": ("refund_overdue_days", 1),
}
COUNTRY_KEY: Final = "protection.days_by_country"
DUTY_KEY: Final = "customs.duty_paid_by"
#: keys whose value is a country table (never flattened further)
_TABLE_KEYS: Final = frozenset({COUNTRY_KEY, DUTY_KEY})
PAYERS: Final = ("buyer", "seller")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def _countries(
    value: Mapping[str, int] | tuple[tuple[str, int], ...],
) -> tuple[tuple[str, int], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple(sorted((str(k), int(v)) for k, v in items))


def _payers(
    value: Mapping[str, str] | tuple[tuple[str, str], ...],
) -> tuple[tuple[str, str], ...]:
    items = value.items() if isinstance(value, Mapping) else value
    return tuple(sorted((str(k), str(v)) for k, v in items))


@attrs.frozen
class Policy:
    """Durations (whole days), the protection table and who pays import duty, by country."""

    version: str = DEFAULT_VERSION
    processing_days_default: int = 7
    processing_days_max: int = 8
    protection_days_default: int = 60
    days_by_country: tuple[tuple[str, int], ...] = attrs.field(
        default=(("BR", 120), ("RU", 90)), converter=_countries
    )
    reminder_days: int = 5
    dispute_window_days: int = 15
    first_info_days: int = 10
    no_news_days: int = 15
    silent_lost_days: int = 30
    untracked_lost_days: int = 90
    customs_stall_days: int = 5
    pickup_days: int = 30
    seller_response_days: int = 5
    mediation_after_days: int = 15
    mediation_overdue_days: int = 7
    customs_document_days: int = 7
    reopen_days: int = 15
    refund_overdue_days: int = 15
    #: destination country -> who pays import duty (`buyer` where not listed)
    duty_paid_by: tuple[tuple[str, str], ...] = attrs.field(default=(), converter=_payers)

    @classmethod
    def default(cls) -> Policy:
        """The documented defaults (README "Rules")."""
        return cls()

    def protection_days(self, country: str) -> tuple[int, str]:
        """Protection days for a destination and the rule string that gave them."""
        for code, days in self.days_by_country:
            if code == country:
                return days, f"{COUNTRY_KEY}.{code}={days}"
        return (
            self.protection_days_default,
            f"protection.days_default={self.protection_days_default}",
        )

    def duty_payer(self, country: str) -> tuple[str, str]:
        """Who pays import duty in `country` (`buyer` or `seller`) and the rule string."""
        for code, payer in self.duty_paid_by:
            if code == country:
                return payer, f"{DUTY_KEY}.{code}={payer}"
        return "buyer", f"{DUTY_KEY}=buyer (default)"

    def rule(self, key: str) -> str:
        """`key=value` for a day key, the form deadlines cite as their rule."""
        return f"{key}={getattr(self, _DAY_KEYS[key][0])}"

    def days(self, key: str) -> int:
        """The number of days for a policy key."""
        return int(getattr(self, _DAY_KEYS[key][0]))

    def to_dict(self) -> dict[str, Any]:
        """Flat dotted-key form (what is stored in `order.placed` and read from files)."""
        out: dict[str, Any] = {"version": self.version}
        for key, (attr, _) in _DAY_KEYS.items():
            out[key] = getattr(self, attr)
        out[COUNTRY_KEY] = dict(self.days_by_country)
        out[DUTY_KEY] = dict(self.duty_paid_by)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, base: Policy | None = None) -> Policy:
        """Build a policy from dotted (or nested) keys over `base` (default: defaults).

        Without a `version`, an overriding policy gets `custom-<hash>` so a replay can
        tell it apart from the defaults.

        Raises:
            ValidationError: an unknown key or a value that is not a whole number of
                days in range, naming the key.
        """
        if not isinstance(data, Mapping):
            raise ValidationError("policy: expected a JSON object")
        flat = _flatten(data)
        base = base or cls()
        changes: dict[str, Any] = {}
        for key, value in flat.items():
            if key == "version":
                if not isinstance(value, str) or not value.strip():
                    raise ValidationError("policy.version: expected a non-empty string")
                if len(value) > VERSION_CHARS or not value.isprintable():
                    raise ValidationError(
                        f"policy.version: {quote(value)} is not 1-{VERSION_CHARS} printable characters"
                    )
                changes["version"] = value
            elif key == COUNTRY_KEY:
                changes["days_by_country"] = _country_table(value)
            elif key == DUTY_KEY:
                changes["duty_paid_by"] = _payer_table(value)
            elif key in _DAY_KEYS:
                attr, minimum = _DAY_KEYS[key]
                changes[attr] = _whole_days(key, value, minimum)
            else:
                raise ValidationError(f"policy: unknown key {quote(key)}")
        policy = attrs.evolve(base, **changes)
        if policy.processing_days_default > policy.processing_days_max:
            raise ValidationError("policy: order.processing_days_default exceeds order.processing_days_max")
        if "version" not in changes and policy != base:
            body = canonical_json({k: v for k, v in policy.to_dict().items() if k != "version"})
            policy = attrs.evolve(policy, version="custom-" + sha256_hex(body)[:12])
        return policy

    @classmethod
    def from_file(cls, path: str | Path) -> Policy:
        """Read a JSON policy file (see `from_dict`)."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, UnicodeError, ValueError) as exc:
            raise ValidationError(f"policy file {quote(str(path))}: {quote(str(exc), 200)}") from None
        except RecursionError:
            raise ValidationError(f"policy file {quote(str(path))}: JSON nested too deep") from None
        return cls.from_dict(data)


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if isinstance(value, Mapping) and full not in _TABLE_KEYS and not prefix:
            flat.update(_flatten(value, f"{full}."))
        else:
            flat[full] = value
    return flat


def _whole_days(key: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"policy {key}: expected whole days (an integer), got {quote(value)}")
    if value < minimum or value > 3650:
        raise ValidationError(f"policy {key}: {quote(value)} is out of range ({minimum}..3650)")
    return value


def _country_table(value: Any) -> tuple[tuple[str, int], ...]:
    if not isinstance(value, Mapping):
        raise ValidationError(f"policy {COUNTRY_KEY}: expected an object of country: days")
    for code, days in value.items():
        if not isinstance(code, str) or not _COUNTRY.fullmatch(code):
            raise ValidationError(f"policy {COUNTRY_KEY}: {quote(code)} is not an ISO alpha-2 code")
        _whole_days(f"{COUNTRY_KEY}.{code}", days, 1)
    return _countries(value)


def _payer_table(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        raise ValidationError(f"policy {DUTY_KEY}: expected an object of country: buyer|seller")
    for code, payer in value.items():
        if not isinstance(code, str) or not _COUNTRY.fullmatch(code):
            raise ValidationError(f"policy {DUTY_KEY}: {quote(code)} is not an ISO alpha-2 code")
        if not isinstance(payer, str) or payer not in PAYERS:
            raise ValidationError(f"policy {DUTY_KEY}.{code}: {quote(payer)} is not buyer or seller")
    return _payers(value)
