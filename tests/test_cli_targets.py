"""What `--db` accepts, and what error messages may show of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from parcelfsm.cli import cli
from parcelfsm.store import redact


def run(*args: str) -> tuple[int, str]:
    """Run the CLI with `--json`; (exit code, stdout)."""
    result = CliRunner().invoke(cli, ["--json", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("target", "shown"),
    [
        (
            "postgresql://alice:s3cretpw@db.example:5432/orders",
            "postgresql://alice:***@db.example:5432/orders",
        ),
        (
            "postgresql://db.example/orders?user=alice&password=s3cretpw",
            "postgresql://db.example/orders?user=alice&password=***",
        ),
        ("orders.db", "orders.db"),
    ],
)
def test_a_target_is_printed_without_its_password(target: str, shown: str) -> None:
    """`redact` hides a URL's password in both of PostgreSQL's spellings."""
    assert redact(target) == shown


def test_an_unreachable_server_error_never_shows_the_password() -> None:
    """A connection failure names the database, with the password masked."""
    code, out = run("--db", "postgresql://alice:s3cretpw@127.0.0.1:1/x?connect_timeout=2", "due")
    assert code in (3, 4, 5)
    assert "s3cretpw" not in out and json.loads(out)["error"]["message"]


def test_an_unknown_scheme_is_a_validation_error(tmp_path: Path) -> None:
    """`--db mysql://…` is not taken for a file path: exit 3, nothing created."""
    code, out = run("--db", "mysql://x/y", "init")
    assert code == 3 and json.loads(out)["error"]["type"] == "ValidationError"
    assert not Path("mysql:").exists()


def test_head_on_a_missing_database_is_not_found_and_creates_nothing(tmp_path: Path) -> None:
    """`head` is a read: a typo in the path is NotFound, not the digest of an empty log."""
    missing = tmp_path / "nx.db"
    code, out = run("--db", str(missing), "head")
    assert code == 3 and json.loads(out)["error"]["type"] == "NotFound"
    assert not missing.exists()
