"""Issue 14, "test gaps a mutation test found": each test here fails when one deliberate
bug is put back — the stream comparison in the idempotency check, the `prev_hash` check
in verification — and content tampering of every stored column is caught by
`replay --verify` with the bad position (one test per column, not one for all)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import pytest
from hardening_kit import build, ok, run, sql

import parcelfsm
from parcelfsm.canonical import canonical_json
from parcelfsm.clock import ManualClock
from parcelfsm.errors import IdempotencyConflict
from parcelfsm.store.chain import row_hash
from parcelfsm.store.recorder import EventRow
from parcelfsm.testing import DEFAULTS

NOW: Final = "2026-03-20T10:00:00Z"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build(tmp_path / "x.db")


def _verify(db: Path) -> tuple[int, list[str]]:
    result = run(db, "replay", "--verify")
    body = json.loads(result.stdout)
    return result.exit_code, body.get("problems", [body.get("error", {}).get("message", "")])


def _position(db: Path, stream: str, version: int) -> int:
    rows = sql(db, "SELECT position FROM events WHERE stream_id = ? AND version = ?", stream, version)
    return int(rows[0][0])


# --- (a) the stream comparison of the idempotency check -----------------------------------------


def test_a_key_imported_on_one_order_reused_on_another_order_is_an_idempotency_conflict(
    db: Path, tmp_path: Path
) -> None:
    """A key that arrived by import (no fingerprint stored) and is sent again with the same
    type and data for another order: IdempotencyConflict, not the other order's events."""
    dump = tmp_path / "o-1.jsonl"
    dump.write_text("\n".join(json.dumps(e) for e in (json.loads(line) for line in _export(db, "o-1"))))
    copy = tmp_path / "copy.db"
    assert ok(run(copy, "import", str(dump)))["appended"] >= 1
    with parcelfsm.open(str(copy), clock=ManualClock(NOW)) as orders:
        original = orders.history("o-1")[0]
        assert original.key == "place-1"
        again = orders.record("o-1", "order.placed", DEFAULTS["order.placed"], key="place-1")
        assert again == [original]
        with pytest.raises(IdempotencyConflict):
            orders.record("o-7", "order.placed", DEFAULTS["order.placed"], key="place-1")
        with pytest.raises(parcelfsm.errors.NotFound):
            orders.history("o-7")


def _export(db: Path, order: str) -> list[str]:
    return [line for line in run(db, "export", order, as_json=False).stdout.splitlines() if line]


# --- (b) the prev_hash check of verification ----------------------------------------------------


def test_a_changed_prev_hash_alone_is_reported_with_its_position(db: Path) -> None:
    """Only `prev_hash` edited (content and `hash` intact): the prev_hash check catches it."""
    position = _position(db, "o-1", 3)
    sql(db, "UPDATE events SET prev_hash = ? WHERE position = ?", "0" * 64, position)
    code, problems = _verify(db)
    assert code == 5
    assert any("prev_hash" in p and f"position {position}" in p for p in problems), problems


# --- (c) content tampering, one stored column at a time -----------------------------------------

TAMPERS: Final[dict[str, tuple[str, tuple[Any, ...]]]] = {
    "amount in data": ("UPDATE events SET data = json_set(data, '$.amount', 1) WHERE position = ?", ()),
    "one byte of data": ("UPDATE events SET data = replace(data, 'USD', 'EUR') WHERE position = ?", ()),
    "type": ("UPDATE events SET type = 'order.cancelled' WHERE position = ?", ()),
    "occurred_at": ("UPDATE events SET occurred_at = '2026-03-01T09:00:00Z' WHERE position = ?", ()),
    "recorded_at": ("UPDATE events SET recorded_at = '2026-03-02T10:00:00Z' WHERE position = ?", ()),
    "key": ("UPDATE events SET key = 'forged' WHERE position = ?", ()),
    "schema_version": ("UPDATE events SET schema_version = 0 WHERE position = ?", ()),
    "due_at": ("UPDATE events SET due_at = '2026-03-01T10:00:00Z' WHERE position = ?", ()),
    "hash": ("UPDATE events SET hash = lower(hex(randomblob(32))) WHERE position = ?", ()),
}


@pytest.mark.parametrize("column", sorted(TAMPERS))
def test_tampering_with_one_column_of_the_first_event_is_reported_with_its_position(
    db: Path, column: str
) -> None:
    """Each stored column is covered by the chain: `replay --verify` exits 5 naming the position."""
    statement, _ = TAMPERS[column]
    position = _position(db, "o-2", 1)
    sql(db, statement, position)
    code, problems = _verify(db)
    assert code == 5
    assert any(p.startswith("o-2") and f"position {position}" in p for p in problems), problems


def test_an_event_moved_to_another_stream_is_reported(db: Path) -> None:
    """Re-labelling o-1's last event as o-2's next one breaks both chains."""
    (last,) = sql(db, "SELECT MAX(version) FROM events WHERE stream_id = 'o-1'")[0]
    position = _position(db, "o-1", last)
    sql(db, "UPDATE events SET stream_id = 'o-2', version = 2 WHERE position = ?", position)
    code, problems = _verify(db)
    assert code == 5
    assert any(p.startswith("o-2") for p in problems), problems


def test_two_events_of_a_stream_with_swapped_versions_are_reported(db: Path) -> None:
    """Swapping the versions (order) of two events of one stream breaks its chain."""
    a, b = _position(db, "o-1", 2), _position(db, "o-1", 3)
    sql(db, "UPDATE events SET version = -1 WHERE position = ?", a)
    sql(db, "UPDATE events SET version = 2 WHERE position = ?", b)
    sql(db, "UPDATE events SET version = 3 WHERE position = ?", a)
    code, problems = _verify(db)
    assert code == 5
    assert any(p.startswith("o-1") for p in problems), problems


def test_an_edited_event_with_its_own_hash_recomputed_breaks_the_next_link(db: Path) -> None:
    """Editing data and recomputing that row's hash is caught at the next event: its
    `prev_hash` (derived from the stored row before it, docs/storage.md) is now the forged
    hash, and its own hash, which covered the true one, no longer follows from it."""
    row = sql(db, "SELECT * FROM event_rows WHERE stream_id = 'o-1' AND version = 1")[0]
    cols = [c[1] for c in sql(db, "PRAGMA table_info(event_rows)")]
    event = dict(zip(cols, row, strict=True))
    data = json.loads(event["data"])
    data["amount"] = 1
    data_json = canonical_json(data)
    forged = row_hash(EventRow(**{**event, "data": data_json}), event["prev_hash"] or "")
    sql(
        db,
        "UPDATE events SET data = ?, policy_id = NULL, policy_at = NULL, hash = ? WHERE position = ?",
        data_json,
        forged,
        event["position"],
    )
    code, problems = _verify(db)
    assert code == 5
    assert not any(f"position {event['position']}" in p for p in problems), problems  # it self-checks
    assert any("mismatch" in p and f"position {_position(db, 'o-1', 2)}" in p for p in problems), problems
