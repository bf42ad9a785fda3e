"""Issue 14, "tamper evidence for the whole log": `replay --verify` reports a deleted
stream, missing or swapped positions (with the first bad position); `head` and
`--expect-head` prove nothing up to a digest kept elsewhere was changed, removed or
reordered; `$PARCELFSM_HMAC_KEY` makes recomputing a chain need the key; `show` and
`history` refuse a stream whose stored chain does not match.

`TAMPERS` is the catalogue of attacks tried (the figure the issue asks for): each is
applied to a fresh copy of a real database, then checked with plain `replay --verify`
and with `--expect-head` of the head taken before the attack.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import pytest
from contract import EVENT_KEYS
from hardening_kit import build, error_of, ok, run, sql

from parcelfsm.canonical import canonical_json
from parcelfsm.store.chain import row_hash
from parcelfsm.store.recorder import EventRow

COLUMNS: Final = (
    "position, stream_id, version, type, schema_version, occurred_at, recorded_at, due_at, key, data, "
    "prev_hash, hash"
)


def _rows(db: Path, where: str = "1", *params: Any) -> list[EventRow]:
    """The logical rows (`event_rows` decodes the compact `events` table, docs/storage.md)."""
    return [
        EventRow(*r)
        for r in sql(db, f"SELECT {COLUMNS} FROM event_rows WHERE {where} ORDER BY position", *params)
    ]


def _rechain(db: Path, stream: str, secret: bytes | None = None) -> None:
    """Recompute a stream's whole chain from its (edited) stored text, as a forger would."""
    prev = ""
    for row in sorted(_rows(db, "stream_id = ?", stream), key=lambda r: r.version):
        h = row_hash(row, prev, secret)
        sql(db, "UPDATE events SET prev_hash = ?, hash = ? WHERE position = ?", prev, h, row.position)
        prev = h


def _edit_and_rechain(db: Path) -> None:
    sql(db, "UPDATE events SET data = json_set(data, '$.amount', 1) WHERE stream_id = 'o-2' AND version = 1")
    _rechain(db, "o-2")


def _edit_last_and_rehash(db: Path) -> None:
    (row,) = _rows(
        db, "stream_id = 'o-3' AND version = (SELECT MAX(version) FROM events WHERE stream_id = 'o-3')"
    )
    data = json.loads(row.data)
    data["amount"] = 1
    text = canonical_json(data)
    forged = row_hash(EventRow(*(*attrs_tuple(row)[:9], text, row.prev_hash, "")), row.prev_hash)
    sql(db, "UPDATE events SET data = ?, hash = ? WHERE position = ?", text, forged, row.position)


def attrs_tuple(row: EventRow) -> tuple[Any, ...]:
    return (
        row.position,
        row.stream_id,
        row.version,
        row.type,
        row.schema_version,
        row.occurred_at,
        row.recorded_at,
        row.due_at,
        row.key,
        row.data,
        row.prev_hash,
        row.hash,
    )


def _delete_stream(db: Path) -> None:
    for table in ("events", "orders", "deadlines", "keys"):
        sql(db, f"DELETE FROM {table} WHERE stream_id = 'o-2'")


def _truncate_tail_and_replay(db: Path) -> None:
    sql(db, "DELETE FROM events WHERE position = (SELECT MAX(position) FROM events)")
    assert run(db, "replay").exit_code == 0  # projections rebuilt to match the shorter log


def _delete_stream_tail(db: Path) -> None:
    sql(
        db,
        "DELETE FROM events WHERE stream_id = 'o-3' "
        "AND version = (SELECT MAX(version) FROM events WHERE stream_id = 'o-3')",
    )
    assert run(db, "replay").exit_code == 0


def _swap_positions(db: Path, a: int, b: int) -> None:
    sql(db, "UPDATE events SET position = -1 WHERE position = ?", a)
    sql(db, "UPDATE events SET position = ? WHERE position = ?", a, b)
    sql(db, "UPDATE events SET position = ? WHERE position = -1", b)


def _swap_in_stream(db: Path) -> None:
    first, second = (r.position for r in _rows(db, "stream_id = 'o-1' AND version IN (2, 3)"))
    _swap_positions(db, first, second)


def _swap_across_streams(db: Path) -> None:
    _swap_positions(db, 2, 3)  # o-2 v1 and o-3 v1


def _delete_middle_event(db: Path) -> None:
    sql(db, "DELETE FROM events WHERE stream_id = 'o-1' AND version = 2")


def _edit_one_byte(db: Path) -> None:
    sql(db, "UPDATE events SET data = replace(data, '2599', '2598') WHERE position = 1")


#: attack -> (how, caught by plain `replay --verify`?) — every one is caught with --expect-head
TAMPERS: Final[dict[str, tuple[Callable[[Path], None], bool]]] = {
    "edit one byte of data": (_edit_one_byte, True),
    "edit data, recompute that row's hash (last of its stream)": (_edit_last_and_rehash, False),
    "edit data, recompute the stream's whole chain": (_edit_and_rechain, False),
    "delete an event in the middle of a stream": (_delete_middle_event, True),
    "delete a stream's newest event (not the log's last), then plain replay": (_delete_stream_tail, True),
    "delete a whole stream with its projections and keys": (_delete_stream, True),
    "truncate the log's tail, then plain replay": (_truncate_tail_and_replay, False),
    "swap the positions of two events of one stream": (_swap_in_stream, True),
    "swap the positions of two streams' events": (_swap_across_streams, False),
}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build(tmp_path / "x.db")


def _verify(db: Path, *extra: str) -> tuple[int, list[str]]:
    result = run(db, "replay", "--verify", *extra)
    return result.exit_code, json.loads(result.stdout).get("problems", [])


@pytest.mark.parametrize("attack", sorted(TAMPERS))
def test_every_attack_is_caught_against_a_head_kept_elsewhere(db: Path, attack: str) -> None:
    """`replay --verify --expect-head` (the head taken before the attack) exits 5."""
    head = ok(run(db, "head"))["head"]
    assert _verify(db, "--expect-head", head) == (0, [])
    TAMPERS[attack][0](db)
    code, problems = _verify(db, "--expect-head", head)
    assert code == 5 and problems, attack


@pytest.mark.parametrize("attack", sorted(a for a, (_, plain) in TAMPERS.items() if plain))
def test_attacks_that_leave_a_trace_in_the_log_are_caught_by_plain_verify(db: Path, attack: str) -> None:
    """Deleted events and streams (a position gap), swapped positions within a stream and
    content edits are caught without any head: exit 5, the problem names a position."""
    TAMPERS[attack][0](db)
    code, problems = _verify(db)
    assert code == 5
    assert any("position" in p for p in problems), problems


def test_a_deleted_stream_is_reported_as_a_missing_position(db: Path) -> None:
    """Deleting o-2 with its projections and keys leaves a gap at its position."""
    (position,) = sql(db, "SELECT position FROM events WHERE stream_id = 'o-2'")[0]
    _delete_stream(db)
    code, problems = _verify(db)
    assert code == 5
    assert any(p.startswith(f"log: position {position} is missing") for p in problems), problems


def test_swapped_positions_in_a_stream_name_the_first_bad_position(db: Path) -> None:
    """Versions must grow with positions: the swap is reported where it shows first."""
    _, second = (r.position for r in _rows(db, "stream_id = 'o-1' AND version IN (2, 3)"))
    _swap_in_stream(db)
    code, problems = _verify(db)
    assert code == 5
    assert any("positions swapped" in p and f"position {second}" in p for p in problems), problems


def test_the_head_digest_is_sha256_over_position_and_hash_in_position_order(db: Path) -> None:
    """`head` is reproducible by anyone from the exported rows: no hidden state."""
    digest = hashlib.sha256(b"").hexdigest()
    rows = _rows(db)
    for row in rows:
        digest = hashlib.sha256(f"{digest}{row.position}:{row.hash}\n".encode()).hexdigest()
    head = ok(run(db, "head"))
    assert head == {
        "head": f"{rows[-1].position}:{digest}",
        "position": rows[-1].position,
        "events": len(rows),
        "digest": digest,
    }
    assert run(db, "head", as_json=False).stdout.strip() == head["head"]


def test_an_old_head_still_verifies_after_new_appends(db: Path) -> None:
    """Appending is not tampering: a head taken earlier still proves its prefix."""
    head = ok(run(db, "head"))["head"]
    ok(run(db, "record", "o-1", "parcel.scanned", "--data", '{"status": "in_transit"}'))
    assert _verify(db, "--expect-head", head) == (0, [])


@pytest.mark.parametrize("bad", ["", "abc", "3:xyz", "3:" + "0" * 63, "-1:" + "0" * 64])
def test_a_malformed_expect_head_is_a_validation_error(db: Path, bad: str) -> None:
    """`--expect-head` takes exactly what `head` prints: anything else is exit 3."""
    result = run(db, "replay", "--verify", "--expect-head", bad)
    assert result.exit_code == 3
    assert error_of(result)["type"] == "ValidationError"


# --- show / history on a tampered stream --------------------------------------------------------


@pytest.mark.parametrize("command", ["show", "history", "advise"])
def test_show_and_history_refuse_a_stream_whose_chain_does_not_match(db: Path, command: str) -> None:
    """A forged amount is never shown: CorruptLog (exit 5) naming the position."""
    (position,) = sql(db, "SELECT position FROM events WHERE stream_id = 'o-2'")[0]
    sql(db, "UPDATE events SET data = json_set(data, '$.amount', 1) WHERE position = ?", position)
    result = run(db, command, "o-2")
    assert result.exit_code == 5, result.output
    error = error_of(result)
    assert error["type"] == "CorruptLog" and f"position {position}" in error["message"]
    assert run(db, "show", "o-1").exit_code == 0  # other streams still read


def test_a_write_on_a_tampered_stream_is_refused_and_appends_nothing(db: Path) -> None:
    """A command never continues a forged chain."""
    sql(db, "UPDATE events SET data = json_set(data, '$.amount', 1) WHERE stream_id = 'o-2'")
    before = sql(db, "SELECT COUNT(*) FROM events")
    result = run(db, "record", "o-2", "order.cancelled", "--data", '{"by": "buyer"}')
    assert result.exit_code == 5
    assert sql(db, "SELECT COUNT(*) FROM events") == before


# --- HMAC -------------------------------------------------------------------------------------


def test_without_a_key_hashes_are_plain_sha256_of_the_stored_text(db: Path) -> None:
    """No `$PARCELFSM_HMAC_KEY`: every hash is sha256(prev_hash + canonical row), byte for
    byte as before keyed chains existed (computed here independently)."""
    for row in _rows(db):
        body = canonical_json(
            {
                "stream_id": row.stream_id,
                "version": row.version,
                "type": row.type,
                "schema_version": row.schema_version,
                "occurred_at": row.occurred_at,
                "recorded_at": row.recorded_at,
                "due_at": row.due_at,
                "key": row.key,
                "data": row.data,
            },
            check=False,
        )
        assert row.hash == hashlib.sha256((row.prev_hash + body).encode()).hexdigest()


def test_with_a_key_a_recomputed_chain_is_caught_without_any_head(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written under `$PARCELFSM_HMAC_KEY`: a forger who recomputes the chain with plain
    SHA-256 (or the wrong key) is caught by `replay --verify` and refused by `show`."""
    monkeypatch.setenv("PARCELFSM_HMAC_KEY", "s3cret")
    db = tmp_path / "keyed.db"
    place = json.dumps({"amount": 2599, "currency": "USD", "shipping_cost": 300, "destination_country": "US"})
    ok(run(db, "record", "o-1", "order.placed", "--data", place, now="2026-03-01T10:00:00Z"))
    ok(run(db, "record", "o-1", "order.shipped", now="2026-03-02T10:00:00Z"))
    assert _verify(db) == (0, [])
    (first,) = _rows(db, "version = 1")
    assert (
        first.hash
        == __import__("hmac")
        .new(
            b"s3cret",
            (
                first.prev_hash
                + canonical_json(
                    {
                        k: getattr(first, k)
                        for k in EVENT_KEYS - {"position"}  # canonical JSON sorts the keys
                    },
                    check=False,
                )
            ).encode(),
            "sha256",
        )
        .hexdigest()
    )
    sql(db, "UPDATE events SET data = json_set(data, '$.amount', 1) WHERE position = 1")
    _rechain(db, "o-1", secret=b"guess")
    code, problems = _verify(db)
    assert code == 5 and any("position 1" in p for p in problems), problems
    assert run(db, "show", "o-1").exit_code == 5
    monkeypatch.delenv("PARCELFSM_HMAC_KEY")
    assert run(db, "show", "o-1").exit_code == 5  # without the key nothing matches either
