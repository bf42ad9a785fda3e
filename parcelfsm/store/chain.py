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
    return chain_hash(
        prev_hash,
        row.data,
        row.due_at,
        row.key,
        row.occurred_at,
        row.recorded_at,
        row.schema_version,
        row.stream_id,
        row.type,
        row.version,
        secret,
    )


def chain_hash(
    prev_hash: str,
    data: str,
    due_at: str | None,
    key: str | None,
    occurred_at: str,
    recorded_at: str,
    schema_version: int,
    stream_id: str,
    type: str,
    version: int,
    secret: bytes | None = None,
) -> str:
    """`row_hash` of a row given by its stored fields (no row built first)."""
    # the fields in sorted-key order, so orjson writes the canonical text without sorting,
    # as UTF-8 bytes hashed directly (no decode and re-encode of the body)
    fields = {
        "data": data,
        "due_at": due_at,
        "key": key,
        "occurred_at": occurred_at,
        "recorded_at": recorded_at,
        "schema_version": schema_version,
        "stream_id": stream_id,
        "type": type,
        "version": version,
    }
    try:
        body = orjson.dumps(fields, option=orjson.OPT_PASSTHROUGH_SUBCLASS)
    except TypeError:  # a subclass or a >64-bit integer: the standard encoder decides
        body = plain_json(fields).encode("utf-8")
    message = prev_hash.encode("utf-8") + body
    if secret:
        return hmac.new(secret, message, hashlib.sha256).hexdigest()
    return hashlib.sha256(message).hexdigest()
