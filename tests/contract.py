"""Public names (docs/events.md, docs/cli.md) that several test files check."""

from __future__ import annotations

from typing import Final

#: keys of a stored event in `history --json` / export (docs/cli.md)
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
#: columns of the `events` table (docs/events.md plus the hash chain, §4 "Storage")
EVENT_COLUMNS: Final = EVENT_KEYS | {"prev_hash", "hash"}
