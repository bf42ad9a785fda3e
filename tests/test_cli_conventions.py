"""CLI conventions (as sqlite-utils and Datasette have them): flags after the subcommand,
`--version`, typed options, "showing N of M", missing databases, one meaning for `--policy`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import parcelfsm
from parcelfsm.cli import cli
from parcelfsm.clock import ManualClock
from parcelfsm.testing import DEFAULTS

NOW = "2026-03-01T10:00:00Z"


def run(db: Path, *args: str, now: str = NOW) -> Result:
    """Invoke the CLI on `db` with the clock at `now`."""
    return CliRunner().invoke(cli, ["--db", str(db), "--now", now, *args])


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A database with three placed orders (three open ship_by deadlines)."""
    path = tmp_path / "c.db"
    with parcelfsm.open(str(path), clock=ManualClock(NOW)) as orders:
        for n in range(3):
            orders.record(f"o-{n}", "order.placed", {**DEFAULTS["order.placed"], "processing_days": n + 1})
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["show", "o-1"],
        ["history", "o-1"],
        ["due"],
        ["advise", "o-1"],
        ["tick"],
        ["types"],
        ["diagram", "order"],
    ],
)
def test_json_after_the_subcommand_equals_json_before_it(db: Path, args: list[str]) -> None:
    """`show o-1 --json` prints exactly what `--json show o-1` prints."""
    before = CliRunner().invoke(cli, ["--db", str(db), "--now", NOW, "--json", *args])
    after = run(db, *args, "--json")
    assert before.exit_code == after.exit_code == 0, after.output
    assert json.loads(after.output) == json.loads(before.output)


def test_json_after_the_subcommand_also_shapes_errors(db: Path) -> None:
    """An error of `show nope --json` is the JSON error object on stdout."""
    result = run(db, "show", "nope", "--json")
    assert result.exit_code == 3
    assert json.loads(result.output)["error"]["type"] == "NotFound"


def test_version_prints_the_package_version() -> None:
    """`parcelfsm --version` prints `parcelfsm X.Y.Z` and exits 0."""
    result = CliRunner().invoke(cli, ["--version"], prog_name="parcelfsm")
    assert result.exit_code == 0
    assert result.output.strip() == f"parcelfsm {parcelfsm.__version__}"


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["due", "--limit", "abc"], "--limit"),
        (["due", "--limit", "0"], "--limit"),
        (["record", "o-1", "order.shipped", "--expect-version", "-1"], "--expect-version"),
        (["track-ingest", "o-1", "-", "--format", "fedex"], "--format"),
        (["diagram", "truck"], "'truck' is not one of"),
    ],
)
def test_malformed_typed_options_are_validation_errors(db: Path, args: list[str], option: str) -> None:
    """A bad number or an unknown choice is checked by click's types but is input, not
    usage: exit 3, a ValidationError naming the option (usage is only an unknown command
    or option)."""
    result = run(db, *args)
    assert result.exit_code == 3
    assert "ValidationError: Invalid value" in result.output and option in result.output


def test_due_says_how_many_it_did_not_show(db: Path) -> None:
    """`due --limit 2` of 3 deadlines: "showing 2 of 3"; JSON carries `total`; no line when all fit."""
    cut = run(db, "due", "--limit", "2")
    assert cut.exit_code == 0
    assert cut.output.rstrip().endswith("showing 2 of 3")
    payload = json.loads(run(db, "due", "--limit", "2", "--json").output)
    assert (len(payload["deadlines"]), payload["total"]) == (2, 3)
    full = run(db, "due")
    assert "showing" not in full.output
    assert json.loads(run(db, "due", "--json").output)["total"] == 3


@pytest.mark.parametrize(
    "args",
    [
        ["show", "o-1"],
        ["history", "o-1"],
        ["due"],
        ["export"],
        ["advise", "o-1"],
        ["replay"],
        ["replay", "--verify"],
        ["advance", "--to", "2026-04-01", "--dry-run"],
    ],
)
def test_read_commands_refuse_a_missing_database_and_create_nothing(tmp_path: Path, args: list[str]) -> None:
    """A read on a path that does not exist: NotFound (exit 3) naming the file; no file appears."""
    missing = tmp_path / "nowhere.db"
    result = CliRunner().invoke(cli, ["--db", str(missing), "--now", NOW, "--json", *args])
    assert result.exit_code == 3, result.output
    error = json.loads(result.output)["error"]
    assert error["type"] == "NotFound" and str(missing) in error["message"]
    assert not missing.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "args",
    [["init"], ["record", "o-1", "order.placed", "--data", json.dumps(DEFAULTS["order.placed"])], ["tick"]],
)
def test_init_and_writes_create_the_database(tmp_path: Path, args: list[str]) -> None:
    """`init`, `record` and `tick` create the file they are pointed at."""
    target = tmp_path / "new.db"
    result = run(target, *args)
    assert result.exit_code == 0, result.output
    assert target.exists()


def _policy(tmp_path: Path, data: dict[str, Any]) -> str:
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return str(path)


def test_global_policy_is_the_policy_new_orders_start_under(db: Path, tmp_path: Path) -> None:
    """`--policy FILE record … order.placed`: the order records that policy; others keep theirs."""
    policy = _policy(tmp_path, {"version": "shop-2026", "order.processing_days_default": 3})
    placed = json.dumps(DEFAULTS["order.placed"])
    result = CliRunner().invoke(
        cli,
        [
            "--db",
            str(db),
            "--now",
            NOW,
            "--policy",
            policy,
            "record",
            "o-9",
            "order.placed",
            "--data",
            placed,
        ],
    )
    assert result.exit_code == 0, result.output
    shown = json.loads(run(db, "show", "o-9", "--json").output)
    assert shown["policy_version"] == "shop-2026"
    assert json.loads(run(db, "show", "o-0", "--json").output)["policy_version"] == parcelfsm.Policy().version


def test_replay_what_if_answers_for_existing_orders_without_writing(db: Path, tmp_path: Path) -> None:
    """`replay --what-if FILE` reports differences, writes nothing; `replay --policy` is the old spelling."""
    policy = _policy(
        tmp_path, {"version": "slow", "order.processing_days_default": 9, "order.processing_days_max": 9}
    )
    before = db.read_bytes()
    new = run(db, "replay", "--what-if", policy, "--json", now="2026-03-05T10:00:00Z")
    assert new.exit_code == 0, new.output
    report = json.loads(new.output)
    assert db.read_bytes() == before
    old = CliRunner().invoke(
        cli, ["--db", str(db), "--now", "2026-03-05T10:00:00Z", "--json", "replay", "--policy", policy]
    )
    assert old.exit_code == 0
    assert json.loads(old.stdout) == report
    assert "replay --what-if" in old.stderr
    assert "--what-if" in CliRunner().invoke(cli, ["replay", "--help"]).output
    assert "--policy" not in CliRunner().invoke(cli, ["replay", "--help"]).output


def test_diagram_json_gives_each_machine_s_mermaid_text() -> None:
    """`diagram --json` is {"diagrams": {name: text}}, no longer ignoring --json."""
    result = CliRunner().invoke(cli, ["diagram", "--json"])
    assert result.exit_code == 0
    diagrams = json.loads(result.output)["diagrams"]
    assert sorted(diagrams) == ["dispute", "order", "parcel"]
    assert all(text.startswith("%%") or "stateDiagram-v2" in text for text in diagrams.values())


def test_demo_json_prints_each_order_s_final_view_and_keeps_the_story_on_stderr() -> None:
    """`demo --json`: stdout is {"orders": [show --json, …]}; the narrative goes to stderr."""
    result = CliRunner().invoke(cli, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    orders = json.loads(result.stdout)["orders"]
    assert [o["order_id"] for o in orders] == ["demo-1", "demo-2", "demo-3", "demo-4"]
    assert orders[0]["states"]["order"] == "cancelled"
    assert "== demo-1" in result.stderr and "paid $25.99" in result.stderr
