"""Event envelopes: what the store keeps (`StoredEvent`) and what is about to be
appended (`NewEvent`). The fold reads only `type`, `data`, `occurred_at`, `version`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Protocol

import attrs

from parcelfsm.canonical import canonical_json, sha256_hex
from parcelfsm.clock import format_time


class Envelope(Protocol):
    """The part of an event the fold needs."""

    @property
    def stream_id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def occurred_at(self) -> dt.datetime: ...
    @property
    def version(self) -> int | None: ...
    @property
    def due_at(self) -> dt.datetime | None: ...


@attrs.frozen
class NewEvent:
    """An event decided but not yet stored (`version` None: applied virtually)."""

    stream_id: str
    version: int | None
    type: str
    data: dict[str, Any]
    occurred_at: dt.datetime
    due_at: dt.datetime | None = None
    key: str | None = None
    fingerprint: str | None = None

    @property
    def order_id(self) -> str:
        """The order the event belongs to (the same as `stream_id`)."""
        return self.stream_id

    @property
    def schema_version(self) -> int:
        from parcelfsm.events import EVENT_TYPES

        return EVENT_TYPES[self.type].schema_version


@attrs.frozen
class StoredEvent:
    """One row of the `events` table."""

    position: int
    stream_id: str
    version: int
    type: str
    schema_version: int
    occurred_at: dt.datetime
    recorded_at: dt.datetime
    due_at: dt.datetime | None
    key: str | None
    data: dict[str, Any]
    prev_hash: str
    hash: str

    @property
    def order_id(self) -> str:
        """The order the event belongs to: `stream_id` is the stored column's name
        (one stream per order), `order_id` the name every other public type uses."""
        return self.stream_id

    def to_json(self) -> dict[str, Any]:
        """The stored form (history, export, import): the `events` columns plus the hashes."""
        return {
            "position": self.position,
            "stream_id": self.stream_id,
            "version": self.version,
            "type": self.type,
            "schema_version": self.schema_version,
            "occurred_at": format_time(self.occurred_at),
            "recorded_at": format_time(self.recorded_at),
            "due_at": format_time(self.due_at) if self.due_at else None,
            "key": self.key,
            "data": self.data,
            "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


def fingerprint(stream_id: str, type_name: str, data: Any) -> str:
    """Idempotency fingerprint of a command: (stream, type, data as given)."""
    return sha256_hex(canonical_json([stream_id, type_name, data], check=False))
