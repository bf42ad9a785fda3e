"""Shared helpers of the hardening tests (tests/test_hardening_*.py): a small real
history on a SQLite file, CLI runs that fail on any traceback, and raw SQL tampering."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any, Final

from click.testing import CliRunner, Result

import parcelfsm
from parcelfsm.cli import cli
from parcelfsm.clock import ManualClock
from parcelfsm.testing import DEFAULTS

NOW: Final = "2026-03-20T10:00:00Z"
#: the documented exit codes (README "CLI reference"; 0 = success)
EXIT_CODES: Final = frozenset({0, 2, 3, 4, 5})


def build(path: Path) -> Path:
    """Three orders on a file: o-1 shipped and scanned, o-2 placed, o-3 in a dispute."""
    clock = ManualClock("2026-03-01T10:00:00Z")
    with parcelfsm.open(str(path), clock=clock) as orders:
        orders.record("o-1", "order.placed", DEFAULTS["order.placed"], key="place-1")
        orders.record("o-2", "order.placed", DEFAULTS["order.placed"])
        orders.record("o-3", "order.placed", DEFAULTS["order.placed"])
        clock.advance(days=1)
        orders.record("o-1", "order.shipped", DEFAULTS["order.shipped"])
        orders.record("o-3", "order.shipped", DEFAULTS["order.shipped"])
        clock.advance(days=2)
        orders.record("o-1", "parcel.scanned", {"status": "in_transit", "location": "Shenzhen"})
        clock.advance(days=3)
        orders.record("o-3", "dispute.opened", DEFAULTS["dispute.opened"])
        orders.record("o-1", "parcel.scanned", {"text": "Clearing Customs"})
    checkpoint(path)
    return path


def checkpoint(path: Path) -> None:
    """Fold the WAL into the main file (so raw file bytes are the whole database)."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def sql(path: Path, statement: str, *params: Any) -> list[tuple[Any, ...]]:
    """Run one statement on the raw file (tampering) and return its rows."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(statement, params).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def file_digest(path: Path) -> str:
    """SHA-256 of the database file and its WAL/SHM side files (byte identity)."""
    h = hashlib.sha256()
    for suffix in ("", "-wal"):
        side = Path(str(path) + suffix)
        h.update(side.read_bytes() if side.exists() else b"<none>")
    return h.hexdigest()


def logical(path: Path) -> list[list[tuple[Any, ...]]]:
    """Every row of every table (a database unchanged by a rejected write)."""
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        ]
        return [sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in tables]
    finally:
        conn.close()


def run(
    db: Path | str, *args: str, now: str | None = NOW, as_json: bool = True, stdin: str | None = None
) -> Result:
    """Invoke the CLI in-process; fail the test on any exception other than a clean exit."""
    argv = ["--db", str(db)] + (["--now", now] if now else []) + (["--json"] if as_json else []) + list(args)
    result = CliRunner().invoke(cli, argv, input=stdin, catch_exceptions=True)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"traceback for {argv[:8]}: {result.exception!r}") from result.exception
    assert result.exit_code in EXIT_CODES, (argv[:8], result.exit_code, result.output[-500:])
    assert "Traceback" not in result.output
    return result


def error_of(result: Result) -> dict[str, str]:
    """The `{"type", "message"}` of a `--json` error on stdout."""
    body = json.loads(result.stdout)
    assert set(body) == {"error"}, body
    error: dict[str, str] = body["error"]
    return error


def ok(result: Result) -> Any:
    """Exit 0 and the parsed JSON of stdout."""
    assert result.exit_code == 0, (result.exit_code, result.output[-1000:])
    return json.loads(result.stdout) if result.stdout.strip() else None
