"""Several streams at once, for `tick`, which fires a thousand orders' deadlines per
transaction: rows read for several streams grouped by stream, the rows of a chunk of
appends (exactly those `EventLog.to_row` makes), and the stored events they become."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from parcelfsm.canonical import canonical_json
from parcelfsm.errors import ConcurrencyConflict
from parcelfsm.records import NewEvent, StoredEvent
from parcelfsm.store.chain import chain_hash
from parcelfsm.store.mapping import utc_text
from parcelfsm.store.recorder import EventRow

#: each stream's events with its head (version, hash) as read in the transaction
Batches = Sequence[tuple[Sequence[NewEvent], tuple[int, str]]]


def chunk_rows(batches: Batches, recorded: str, secret: bytes | None) -> list[EventRow]:
    """The stored rows of unkeyed events of several streams, each stream's chain going on
    from its head; a timed event's one time (occurred = due) is formatted once.

    Raises:
        ConcurrencyConflict: a stream is not where its first event expects it.
    """
    rows: list[EventRow] = []
    for events, (version, prev_hash) in batches:
        if not events:
            continue
        first = events[0].version or 1
        if first != version + 1:
            name = events[0].stream_id
            raise ConcurrencyConflict(f"order {name!r} is at version {version}, expected {first - 1}")
        for event in events:
            assert event.key is None and event.version is not None, "unkeyed, versioned events only"
            occurred = utc_text(event.occurred_at)
            if event.due_at is event.occurred_at:
                due: str | None = occurred
            else:
                due = utc_text(event.due_at) if event.due_at is not None else None
            data = canonical_json(event.data)
            schema = event.schema_version
            link = prev_hash
            prev_hash = chain_hash(
                link,
                data,
                due,
                None,
                occurred,
                recorded,
                schema,
                event.stream_id,
                event.type,
                event.version,
                secret,
            )
            rows.append(
                EventRow(
                    0,
                    event.stream_id,
                    event.version,
                    event.type,
                    schema,
                    occurred,
                    recorded,
                    due,
                    None,
                    data,
                    link,
                    prev_hash,
                )
            )
    return rows


def stored_chunk(
    batches: Batches, rows: Sequence[EventRow], positions: Sequence[int], recorded_at: dt.datetime
) -> list[list[StoredEvent]]:
    """Each batch's events as stored: `rows` (from `chunk_rows`) at `positions`."""
    made = iter(zip(rows, positions, strict=True))
    out: list[list[StoredEvent]] = []
    for events, _ in batches:
        stored: list[StoredEvent] = []
        for event in events:
            row, position = next(made)
            stored.append(
                StoredEvent(
                    position,
                    row.stream_id,
                    row.version,
                    event.type,
                    row.schema_version,
                    event.occurred_at,
                    recorded_at,
                    event.due_at,
                    None,
                    event.data,
                    row.prev_hash,
                    row.hash,
                )
            )
        out.append(stored)
    return out


def by_stream(rows: Sequence[EventRow]) -> dict[str, list[EventRow]]:
    """Rows of several streams (each stream's together, in version order) by stream."""
    out: dict[str, list[EventRow]] = {}
    for row in rows:
        group = out.get(row.stream_id)
        if group is None:
            out[row.stream_id] = [row]
        else:
            group.append(row)
    return out
