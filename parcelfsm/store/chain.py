"""The per-stream hash chain, computed over the exact stored text of each row.

`hash = sha256(prev_hash + canonical JSON of the row's fields)`, the position left
out so one stream exports and verifies on its own. With a secret (`$PARCELFSM_HMAC_KEY`)
the same body is MAC'd with HMAC-SHA256, so recomputing a chain after an edit needs the
key. Verification hashes the stored text itself, so an edit that parses back to equal
values is still caught.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from parcelfsm.canonical import plain_json
from parcelfsm.store.recorder import EventRow

_FIELDS: Final = (
    "stream_id",
    "version",
    "type",
    "schema_version",
    "occurred_at",
    "recorded_at",
    "due_at",
    "key",
    "data",
)


def row_hash(row: EventRow, prev_hash: str, secret: bytes | None = None) -> str:
    """The chain hash of `row` following `prev_hash` (the row's own hash fields ignored)."""
    return fields_hash({name: getattr(row, name) for name in _FIELDS}, prev_hash, secret)


def fields_hash(fields: dict[str, object], prev_hash: str, secret: bytes | None = None) -> str:
    """The chain hash of a row given as its `_FIELDS` (what an append has before the row
    exists: the row is then built once, with its hash)."""
    body = plain_json(fields)
    message = (prev_hash + body).encode("utf-8")
    if secret:
        return hmac.new(secret, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()
