"""Issue 14, "one error boundary": every failure reaching the CLI is a typed error with a
one-line message and a documented exit code, never a traceback, never exit 1; the API
raises only `parcelfsm.errors` types.

Every CLI command is run against databases it cannot use — `/dev/null`, a directory, a
foreign SQLite file with another `events` table, random bytes, a truncated file, a file
with pages overwritten — and must answer `CorruptLog` (exit 5) naming the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import pytest
from hardening_kit import build, checkpoint, error_of, run, sql

import parcelfsm
from parcelfsm.clock import ManualClock
from parcelfsm.errors import ConcurrencyConflict, CorruptLog, ParcelFsmError, ValidationError
from parcelfsm.policy import Policy
from parcelfsm.testing import DEFAULTS

PLACED: Final = json.dumps(DEFAULTS["order.placed"])
#: one invocation of every CLI command that opens the database
COMMANDS: Final[dict[str, list[str]]] = {
    "init": ["init"],
    "record": ["record", "o-1", "order.placed", "--data", PLACED],
    "show": ["show", "o-1"],
    "history": ["history", "o-1"],
    "due": ["due"],
    "tick": ["tick"],
    "advance": ["advance", "--to", "2026-04-01"],
    "advance --dry-run": ["advance", "--to", "2026-04-01", "--dry-run"],
    "replay": ["replay"],
    "replay --verify": ["replay", "--verify"],
    "export": ["export"],
    "advise": ["advise", "o-1"],
    "head": ["head"],
    "list": ["list"],
    "timeline": ["timeline", "o-1"],
    "diagram --order": ["diagram", "--order", "o-1"],
}


def _devnull(tmp: Path) -> str:
    return "/dev/null"


def _directory(tmp: Path) -> str:
    (tmp / "dir.db").mkdir()
    return str(tmp / "dir.db")


def _foreign(tmp: Path) -> str:
    path = tmp / "foreign.db"
    sql(path, "CREATE TABLE events (id INTEGER PRIMARY KEY, payload TEXT, at TEXT)")
    sql(path, "INSERT INTO events (payload, at) VALUES ('hello', 'now')")
    return str(path)


def _random_bytes(tmp: Path) -> str:
    path = tmp / "random.db"
    path.write_bytes(bytes(range(256)) * 64)
    return str(path)


def _truncated(tmp: Path) -> str:
    path = build(tmp / "truncated.db")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])
    return str(path)


def _pages_overwritten(tmp: Path) -> str:
    path = build(tmp / "damaged.db")
    data = bytearray(path.read_bytes())
    page = int.from_bytes(data[16:18], "big")  # the file's page size, from its header
    for start in range(page, len(data), page):  # every page but the header page
        data[start : start + page] = b"\xa5" * min(page, len(data) - start)
    path.write_bytes(bytes(data))
    return str(path)


UNUSABLE: Final[dict[str, Callable[[Path], str]]] = {
    "/dev/null": _devnull,
    "a directory": _directory,
    "a foreign SQLite file": _foreign,
    "random bytes": _random_bytes,
    "a truncated file": _truncated,
    "pages overwritten": _pages_overwritten,
}


@pytest.mark.parametrize("kind", sorted(UNUSABLE))
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_on_an_unusable_database_is_corrupt_log_exit_5_naming_the_file(
    tmp_path: Path, kind: str, command: str
) -> None:
    """No traceback, no exit 1: `CorruptLog` (exit 5) with a one-line message naming the file."""
    db = UNUSABLE[kind](tmp_path)
    result = run(db, *COMMANDS[command])
    assert result.exit_code == 5, (kind, command, result.output)
    error = error_of(result)
    assert error["type"] == "CorruptLog"
    assert db in error["message"] or os.path.basename(db) in error["message"]
    assert "\n" not in error["message"]


def test_a_foreign_database_is_left_exactly_as_it_was(tmp_path: Path) -> None:
    """Refusing a foreign file creates none of our tables in it."""
    db = _foreign(tmp_path)
    before = sql(Path(db), "SELECT name FROM sqlite_master ORDER BY name")
    for command in COMMANDS.values():
        run(db, *command)
    assert sql(Path(db), "SELECT name FROM sqlite_master ORDER BY name") == before


def test_the_human_form_is_one_line_on_stderr(tmp_path: Path) -> None:
    """Without --json the error is `Type: message` on one stderr line, nothing on stdout."""
    result = run("/dev/null", "show", "o-1", as_json=False)
    assert result.exit_code == 5
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("CorruptLog: ")


@pytest.mark.parametrize("corruption", ["{x", "null", "[]", '"text"'])
@pytest.mark.parametrize("command", ["show", "history", "advise"])
def test_a_stored_row_with_malformed_data_is_corrupt_log_not_a_traceback(
    tmp_path: Path, corruption: str, command: str
) -> None:
    """A row whose `data` is not a JSON object of its type: the read is refused with exit 5."""
    db = build(tmp_path / "x.db")
    sql(db, "UPDATE events SET data = ? WHERE stream_id = 'o-1' AND version = 2", corruption)
    result = run(db, command, "o-1")
    assert result.exit_code == 5, result.output
    assert error_of(result)["type"] == "CorruptLog"


@pytest.mark.parametrize("column", ["occurred_at", "recorded_at"])
def test_a_stored_row_with_a_malformed_time_is_corrupt_log(tmp_path: Path, column: str) -> None:
    """`occurred_at = 'yesterday'` in a row: `show` and `history` exit 5, no traceback."""
    db = build(tmp_path / "x.db")
    sql(db, f"UPDATE events SET {column} = 'yesterday' WHERE stream_id = 'o-1' AND version = 1")
    for command in ("show", "history"):
        result = run(db, command, "o-1")
        assert result.exit_code == 5, result.output
        assert error_of(result)["type"] == "CorruptLog"


def test_a_stored_row_with_malformed_data_fails_verification_with_its_position(tmp_path: Path) -> None:
    """`replay --verify` on a malformed row exits 5 and names the row's position."""
    db = build(tmp_path / "x.db")
    (position,) = sql(db, "SELECT position FROM events WHERE stream_id = 'o-1' AND version = 2")[0]
    sql(db, "UPDATE events SET data = '{x' WHERE position = ?", position)
    result = run(db, "replay", "--verify")
    assert result.exit_code == 5
    assert f"position {position}" in result.stdout


def test_a_database_stream_that_does_not_fold_is_corrupt_log_not_validation_error(tmp_path: Path) -> None:
    """A stored event whose data breaks its type's rules (amount = -5) is a broken log
    (exit 5), not the caller's bad input (exit 3)."""
    db = build(tmp_path / "x.db")
    sql(db, """UPDATE events SET data = json_set(data, '$.amount', -5) WHERE stream_id = 'o-2'""")
    for command in ("show", "advise"):
        result = run(db, command, "o-2")
        assert result.exit_code == 5, result.output
        assert error_of(result)["type"] == "CorruptLog"


def test_commands_that_open_no_database_keep_their_codes(tmp_path: Path) -> None:
    """`normalize`, `track-check` and `diagram` work whatever `--db` names."""
    assert run("/dev/null", "normalize", "In transit").exit_code == 0
    assert run("/dev/null", "track-check", "RB123456785CN").exit_code == 0
    assert run("/dev/null", "track-check", "RB123456789CN").exit_code == 3
    assert run("/dev/null", "diagram", "order", as_json=False).exit_code == 0


def test_a_policy_path_that_is_a_directory_is_validation_error_not_usage(tmp_path: Path) -> None:
    """`replay --policy DIR`: exit 3 (a bad value), not click's usage exit 2."""
    db = build(tmp_path / "x.db")
    result = run(db, "replay", "--policy", str(tmp_path))
    assert result.exit_code == 3
    assert error_of(result)["type"] == "ValidationError"


# --- the API raises only parcelfsm.errors types ----------------------------------------------


@pytest.fixture
def book(tmp_path: Path) -> Any:
    with parcelfsm.open(str(build(tmp_path / "x.db")), clock=ManualClock("2026-03-20T10:00:00Z")) as orders:
        yield orders


def test_import_events_with_a_set_in_data_is_a_validation_error(book: parcelfsm.Orders) -> None:
    """A Python set cannot be stored as JSON: ValidationError naming the line, not TypeError."""
    line = {"stream_id": "o-9", "version": 1, "type": "order.placed", "occurred_at": "2026-03-01T10:00:00Z"}
    with pytest.raises(ValidationError, match="line 1"):
        book.import_events([{**line, "data": {"amount": {1, 2}}}])
    with pytest.raises(ParcelFsmError):
        book.history("o-9")


@pytest.mark.parametrize("policy", [{}, {"dispute.window_days": 20}, "strict", 7])
def test_replay_with_a_policy_that_is_not_a_policy_is_a_validation_error(
    book: parcelfsm.Orders, policy: Any
) -> None:
    """`replay(policy={})` raised AttributeError; it is a ValidationError naming `policy`."""
    with pytest.raises(ValidationError, match="policy"):
        book.replay(policy=policy)
    assert book.replay(policy=Policy.default()).mode == "what-if"


@pytest.mark.parametrize("expected", ["2", 2.0, True, -1, [2]])
def test_expect_version_that_is_not_a_whole_number_is_a_validation_error(
    book: parcelfsm.Orders, expected: Any
) -> None:
    """`expect_version="2"` was reported as ConcurrencyConflict; it is the caller's bad input."""
    before = book.history("o-1")
    with pytest.raises(ValidationError, match="expect_version"):
        book.record("o-1", "parcel.scanned", {"status": "in_transit"}, expect_version=expected)
    assert book.history("o-1") == before
    assert book.record("o-1", "parcel.scanned", {"status": "in_transit"}, expect_version=len(before))


def test_opening_an_unusable_file_through_the_api_raises_corrupt_log(tmp_path: Path) -> None:
    """`parcelfsm.open` on /dev/null, a directory or a foreign file: CorruptLog, naming it."""
    for db in (_devnull(tmp_path), _directory(tmp_path), _foreign(tmp_path), _random_bytes(tmp_path)):
        with pytest.raises(CorruptLog, match="database"):
            parcelfsm.open(db).close()


def test_corrupt_log_and_concurrency_conflict_have_the_contract_exit_codes() -> None:
    """CorruptLog exits 5, ConcurrencyConflict 4; both are ParcelFsmErrors with `.type`."""
    assert (CorruptLog.exit_code, CorruptLog.type) == (5, "CorruptLog")
    assert (ConcurrencyConflict.exit_code, ConcurrencyConflict.type) == (4, "ConcurrencyConflict")
    assert issubclass(CorruptLog, ParcelFsmError)
    assert "CorruptLog" in parcelfsm.errors.__all__


def test_a_checkpointed_real_database_still_works_after_all_these_checks(tmp_path: Path) -> None:
    """The file checks accept our own database (WAL checkpointed, or not)."""
    db = build(tmp_path / "x.db")
    checkpoint(db)
    assert run(db, "show", "o-1").exit_code == 0
    assert run(db, "replay", "--verify").exit_code == 0


BAD_ARGUMENTS: Final[list[Any]] = [None, 123, 1.5, "x", b"x", [], {}, {1}, object(), "o-1\n", [[1]]]
API_CALLS: Final[dict[str, Callable[[parcelfsm.Orders, Any], Any]]] = {
    "show(order)": lambda o, v: o.show(v),
    "show(at=)": lambda o, v: o.show("o-1", at=v),
    "history": lambda o, v: o.history(v),
    "advise": lambda o, v: o.advise(v),
    "due(before=)": lambda o, v: o.due(before=v),
    "due(limit=)": lambda o, v: o.due(limit=v),
    "advance(dry_run)": lambda o, v: o.advance(v, dry_run=True),
    "record(type)": lambda o, v: o.record("o-1", v, {}),
    "record(data)": lambda o, v: o.record("o-1", "parcel.scanned", v),
    "record(at=)": lambda o, v: o.record("o-1", "parcel.scanned", {"status": "in_transit"}, at=v),
    "record(key=)": lambda o, v: o.record("o-1", "parcel.scanned", {"status": "in_transit"}, key=v),
    "record_many": lambda o, v: o.record_many(v),
    "record_many([item])": lambda o, v: o.record_many([v]),
    "import_events": lambda o, v: o.import_events(v),
    "import_events([item])": lambda o, v: o.import_events([v]),
    "ingest_tracking": lambda o, v: o.ingest_tracking("o-1", v),
    "ingest_tracking(format=)": lambda o, v: o.ingest_tracking("o-1", {}, format=v),
    "replay(expect_head=)": lambda o, v: o.replay(verify=True, expect_head=v),
    "read(after=)": lambda o, v: o.read(after=v),
    "list(state)": lambda o, v: o.list(v),
}


@pytest.mark.parametrize("call", sorted(API_CALLS))
def test_api_arguments_of_the_wrong_type_raise_only_parcelfsm_errors(
    book: parcelfsm.Orders, call: str
) -> None:
    """None, numbers, bytes, lists, dicts, sets, objects, ids with a newline: each call
    either works or raises a `ParcelFsmError` — never TypeError or AttributeError."""
    untyped: list[tuple[str, str]] = []
    for value in BAD_ARGUMENTS:
        try:
            API_CALLS[call](book, value)
        except ParcelFsmError:
            continue
        except Exception as exc:
            untyped.append((repr(value)[:30], f"{type(exc).__name__}: {exc}"))
    assert untyped == []


def test_a_read_only_database_serves_every_read_and_refuses_writes(tmp_path: Path) -> None:
    """`--read-only`: reads answer (exit 0), a write is refused (exit 3) and the file is
    byte-identical afterwards."""
    db = build(tmp_path / "ro.db")
    before = db.read_bytes()
    for argv in (["show", "o-1"], ["history", "o-3"], ["due"], ["advise", "o-1"], ["export"], ["head"]):
        assert run(db, "--read-only", *argv, now=None).exit_code == 0, argv
    assert run(db, "--read-only", "replay", "--verify").exit_code == 0
    for argv in (["record", "o-1", "parcel.scanned", "--data", '{"status": "in_transit"}'], ["tick"]):
        result = run(db, "--read-only", *argv)
        assert result.exit_code == 3, result.output
        assert error_of(result)["type"] == "ValidationError"
    assert db.read_bytes() == before


def _damage_index(path: Path, index: str = "idx_events_stream_id_version") -> None:
    """Overwrite the one page of `index`: the header, the schema and every table row stay
    readable."""
    checkpoint(path)
    ((page,),) = sql(path, "SELECT pageno FROM dbstat WHERE name = ?", index)
    data = bytearray(path.read_bytes())
    size = int.from_bytes(data[16:18], "big")
    data[(page - 1) * size : page * size] = b"\x5a" * size
    path.write_bytes(bytes(data))


def test_init_on_a_file_with_a_damaged_index_page_is_corrupt_log(tmp_path: Path) -> None:
    """`init` on an existing file checks its pages (SQLite's quick_check): a damaged index
    is `CorruptLog` naming the file, while a sound file is "ready" (exit 0) as before."""
    db = build(tmp_path / "orders.db")
    assert run(str(db), "init").exit_code == 0
    _damage_index(db)
    result = run(str(db), "init")
    assert result.exit_code == 5, result.output
    error = error_of(result)
    assert error["type"] == "CorruptLog" and str(db) in error["message"] and "damaged" in error["message"]


def test_verify_reports_a_damaged_page_that_its_reads_never_touch(tmp_path: Path) -> None:
    """`replay --verify` lists what SQLite's page check finds beside the chain and
    projection checks: here the deadlines' due index, which verify's reads (by order)
    never use, so every other check passes."""
    db = build(tmp_path / "orders.db")
    _damage_index(db, "idx_deadlines_due_us_rank_set_by_version_stream_id")
    with parcelfsm.open(str(db), clock=ManualClock("2026-04-01"), read_only=True) as orders:
        found = orders.check_storage()
        report = orders.replay(verify=True)
    assert found and all(str(db) in p for p in found)
    assert report.problems == tuple(found)
