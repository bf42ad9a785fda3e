"""A command loads only what it needs: `parcelfsm show` as a real process on a real
SQLite file never imports `transitions`, Babel, sqlite-utils, the JSON Schemas or the
timer worker, and `import parcelfsm` alone loads almost nothing.

What each process imported is read from its own `sys.modules` at exit, never timed:
the speed itself is the bench's `show_process` row (docs/benchmarks.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import parcelfsm
from parcelfsm.clock import ManualClock
from parcelfsm.testing import DEFAULTS

#: modules `show` must not load (prefix match): each is tens of milliseconds of start-up
NOT_FOR_SHOW = (
    "transitions",
    "babel",
    "sqlite_utils",
    "pycountry",
    "iso4217",
    "parcelfsm.machines.declared",
    "parcelfsm.schema",
    "parcelfsm.timers",
    "parcelfsm.tracking",
    "parcelfsm.replay",
    "parcelfsm.transfer",
    "parcelfsm.timeline",
    "parcelfsm.diagram",
)

RUN = (
    "import atexit, json, sys\n"
    "out = sys.argv.pop(1)\n"
    "atexit.register(lambda: open(out, 'w').write(json.dumps(sorted(sys.modules))))\n"
    "from parcelfsm.cli import main\n"
    "main()\n"
)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with one shipped and scanned order."""
    path = tmp_path_factory.mktemp("startup") / "orders.db"
    with parcelfsm.open(str(path), clock=ManualClock("2026-03-01T10:00:00Z")) as orders:
        orders.record("o-1", "order.placed", DEFAULTS["order.placed"])
        orders.record("o-1", "order.shipped", {"tracking_number": "LP00123456789012"})
        orders.record("o-1", "parcel.scanned", {"status": "in_transit"})
    return path


def loaded_by(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run `parcelfsm ARGS` in a fresh interpreter; its result and the modules it had loaded."""
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", RUN, str(out), *args], capture_output=True, text=True, check=False
    )
    return done, set(json.loads(out.read_text(encoding="utf-8")))


def unwanted(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in NOT_FOR_SHOW))


@pytest.mark.parametrize("output", [[], ["--json"]], ids=["human", "json"])
def test_show_imports_neither_transitions_nor_babel_nor_sqlite_utils(
    db: Path, tmp_path: Path, output: list[str]
) -> None:
    """`parcelfsm show` prints the order and loads none of the heavy modules it does not use."""
    done, modules = loaded_by(tmp_path, "--db", str(db), "--now", "2026-03-05", "show", "o-1", *output)
    assert done.returncode == 0, done.stderr
    assert "in_transit" in done.stdout and "LP00123456789012" in done.stdout
    assert "parcelfsm.service" in modules and "parcelfsm.store.sqlite" in modules
    assert unwanted(modules) == []


def test_human_show_still_prints_money_as_babel_would(db: Path, tmp_path: Path) -> None:
    """Without Babel loaded, the human view writes "$25.99"-style amounts."""
    done, modules = loaded_by(tmp_path, "--db", str(db), "--now", "2026-03-05", "show", "o-1")
    assert done.returncode == 0, done.stderr
    assert "money: paid $" in done.stdout
    assert not any(m.split(".")[0] == "babel" for m in modules)


def test_import_parcelfsm_loads_only_its_light_core() -> None:
    """`import parcelfsm` loads the errors and the clock; the rest comes with first use,
    and `parcelfsm.open` then works as before."""
    code = (
        "import json, sys, parcelfsm\n"
        "before = sorted(m for m in sys.modules if m.startswith('parcelfsm'))\n"
        "with parcelfsm.open('memory:') as orders:\n"
        "    pass\n"
        "print(json.dumps([before, 'parcelfsm.service' in sys.modules, 'attrs' in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, service_loaded, _ = json.loads(done.stdout)
    assert before == ["parcelfsm", "parcelfsm.clock", "parcelfsm.errors"]
    assert service_loaded


def test_every_public_name_is_importable_from_the_package() -> None:
    """`from parcelfsm import X` works for every name in `__all__`, lazy or not, and
    `dir(parcelfsm)` lists them."""
    code = (
        "import parcelfsm\n"
        "for name in parcelfsm.__all__:\n"
        "    exec(f'from parcelfsm import {name}')\n"
        "print(sorted(set(parcelfsm.__all__) - set(dir(parcelfsm))))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_an_unknown_name_is_an_attribute_error() -> None:
    """A misspelt public name fails like any missing attribute (not a KeyError)."""
    with pytest.raises(AttributeError, match="Ordres"):
        parcelfsm.Ordres  # type: ignore[attr-defined]  # noqa: B018


@pytest.mark.parametrize(
    "args",
    [["--help"], ["record", "--help"], ["normalize", "Delivered"], ["track-check", "RR123456785RU"]],
    ids=["help", "record-help", "normalize", "track-check"],
)
def test_commands_that_open_no_database_load_neither_the_service_nor_the_store(
    tmp_path: Path, args: list[str]
) -> None:
    """Help and the tracking tools answer without loading the service, the store or SQLite."""
    done, modules = loaded_by(tmp_path, *args)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    heavy = {"parcelfsm.service", "parcelfsm.store", "parcelfsm.fold", "sqlite3", "transitions", "babel"}
    assert sorted(heavy & modules) == []


def test_record_help_still_lists_every_command_type(tmp_path: Path) -> None:
    """The epilog of `record --help` is read from the registry when shown: every command type."""
    from parcelfsm.events import COMMAND_TYPES

    done, _ = loaded_by(tmp_path, "record", "--help")
    listed = done.stdout.split("TYPE is one of")[1].split()
    assert [t for t in listed if "." in t and "`" not in t] == list(COMMAND_TYPES)


def test_every_registered_command_resolves_to_the_command_of_that_name() -> None:
    """Each `COMMANDS` entry imports to a click command named as registered, the group
    lists exactly those, and an unknown name resolves to nothing."""
    import click

    from parcelfsm.cli import COMMANDS, cli
    from parcelfsm.cli_support import Commands

    assert isinstance(cli, Commands)
    context = click.Context(cli)
    assert cli.list_commands(context) == sorted(COMMANDS)
    commands = cli.every_command(context)
    assert sorted(commands) == sorted(COMMANDS)
    assert all(command.name == name for name, command in commands.items())
    assert cli.get_command(context, "shwo") is None


def test_show_loads_the_order_commands_only(db: Path, tmp_path: Path) -> None:
    """Running `show` imports its own command module, not the timer, data or tool commands."""
    done, modules = loaded_by(tmp_path, "--db", str(db), "--now", "2026-03-05", "show", "o-1")
    assert done.returncode == 0, done.stderr
    assert "parcelfsm.cli_orders" in modules
    assert sorted({"parcelfsm.cli_timers", "parcelfsm.cli_data", "parcelfsm.cli_tools"} & modules) == []


def test_a_misspelt_command_is_still_answered_with_the_close_name() -> None:
    """`parcelfsm shwo` exits 2 and suggests `show`, although no command module was loaded."""
    from click.testing import CliRunner

    from parcelfsm.cli import cli

    result = CliRunner().invoke(cli, ["shwo"])
    assert result.exit_code == 2
    assert "No such command 'shwo'" in result.output and "Did you mean 'show'?" in result.output
