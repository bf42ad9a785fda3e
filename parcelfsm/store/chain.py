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

import orjson

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
    # the fields in sorted-key order, so orjson writes the canonical text without sorting,
    # as UTF-8 bytes hashed directly (no decode and re-encode of the body)
    fields = {
        "data": row.data,
        "due_at": row.due_at,
        "key": row.key,
        "occurred_at": row.occurred_at,
        "recorded_at": row.recorded_at,
        "schema_version": row.schema_version,
        "stream_id": row.stream_id,
        "type": row.type,
        "version": row.version,
    }
    try:
        body = orjson.dumps(fields, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
    except TypeError:  # a subclass or a >64-bit integer: the standard encoder decides
        body = plain_json(fields).encode("utf-8")
    message = prev_hash.encode("utf-8") + body
    if secret:
        return hmac.new(secret, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()
