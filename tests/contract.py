"""Names fixed by CONTRACT.md that several test files check."""

from __future__ import annotations

from typing import Final

#: keys of a stored event in `history --json` / export (CONTRACT §3)
EVENT_KEYS: Final = frozenset(
    {
        "position",
        "stream_id",
        "version",
        "type",
        "schema_version",
        "occurred_at",
        "recorded_at",
        "due_at",
        "key",
        "data",
    }
)
#: columns of the `events` table (CONTRACT §1 plus the hash chain, §4 "Storage")
EVENT_COLUMNS: Final = EVENT_KEYS | {"prev_hash", "hash"}
