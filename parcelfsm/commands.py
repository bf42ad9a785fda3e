"""Commands as values, and what became of each in a batch (`Orders.record_many`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from parcelfsm.errors import ParcelFsmError, ValidationError
from parcelfsm.records import StoredEvent


@attrs.frozen
class Command:
    """A command reported from outside: what `Orders.record` takes, as one value."""

    order_id: str
    type: str
    data: dict[str, Any] | None = None
    key: str | None = None
    at: dt.datetime | str | None = None
    expect_version: int | None = None

    @classmethod
    def of(cls, value: Command | Mapping[str, Any] | tuple[Any, ...]) -> Command:
        """A `Command` from itself, a dict with these field names, or a tuple in their order.

        Raises:
            ValidationError: anything else, or unknown fields.
        """
        if isinstance(value, Command):
            return value
        names = [f.name for f in attrs.fields(cls)]
        if isinstance(value, Mapping):
            unknown = sorted(set(value) - set(names))
            if unknown:
                raise ValidationError(f"command: unknown field(s) {', '.join(map(str, unknown))[:100]}")
            if "order_id" not in value or "type" not in value:
                raise ValidationError("command: order_id and type are required")
            return cls(**value)
        if isinstance(value, tuple) and 2 <= len(value) <= len(names):
            return cls(*value)
        raise ValidationError("command: a Command, a dict or a tuple (order_id, type, data, …)")


@attrs.frozen
class Recorded:
    """What became of one command of a batch: its events, or the error that refused it."""

    command: Command
    events: tuple[StoredEvent, ...] = ()
    error: ParcelFsmError | None = None

    @property
    def ok(self) -> bool:
        """Whether the command was accepted (a retried key counts: its original events)."""
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        """`{"order_id", "type", "ok", "events": [versions…]}` or with `"error"`."""
        out: dict[str, Any] = {"order_id": self.command.order_id, "type": self.command.type, "ok": self.ok}
        if self.error is not None:
            out.update(self.error.to_json())
        else:
            out["versions"] = [e.version for e in self.events]
        return out


def check_key(key: object) -> None:
    """An idempotency key is 1-256 printable characters (no lone surrogates)."""
    if key is None:
        return
    if not isinstance(key, str) or not 1 <= len(key) <= 256 or not key.isprintable():
        raise ValidationError("key: an idempotency key is 1 to 256 printable characters")
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError("key: an idempotency key is 1 to 256 printable characters") from None
