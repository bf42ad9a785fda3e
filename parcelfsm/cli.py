"""The `parcelfsm` command line (docs/cli.md): parse → one service call → render.

Every command opens the database named by `--db` / `$PARCELFSM_DB`, uses the clock
fixed by `--now` / `$PARCELFSM_NOW` (else the system clock), prints human tables or,
with `--json` (before or after the subcommand), JSON on stdout, and closes the
database before it exits. Read commands refuse a database file that does not exist;
only `init` and writing commands create one. Library errors map to exit codes by
their class (`exit_code`): 3 for rejected input, 4 for a concurrency conflict or a
database that stayed busy, 5 for a failed verification or a corrupt log; click's usage
errors (unknown command or option, a malformed number, an unknown choice) exit 2.
`handled` is the one error boundary: any other failure is translated into one of
those types, so no traceback reaches the user.

Clock guard: a write at a `--now` / `--at` / `--to` more than a day ahead of the system
clock is refused (a typo in the year would fire every deadline irreversibly) unless
`--allow-future` or `$PARCELFSM_ALLOW_FUTURE=1` is given.

This module is the group and its global options; each subcommand lives in one of
`cli_orders`, `cli_timers`, `cli_data`, `cli_tools` (named in `COMMANDS`) and is
imported only when it runs or help lists it, so a command loads only what it needs.
"""

from __future__ import annotations

from typing import Final

import click

from parcelfsm import __version__
from parcelfsm.cli_support import Commands, Env

#: subcommand -> "module:function" defining it (imported when the command is run or listed)
COMMANDS: Final[dict[str, str]] = {
    "init": "parcelfsm.cli_orders:init",
    "record": "parcelfsm.cli_orders:record",
    "show": "parcelfsm.cli_orders:show",
    "history": "parcelfsm.cli_orders:history",
    "due": "parcelfsm.cli_orders:due",
    "list": "parcelfsm.cli_orders:list_",
    "advise": "parcelfsm.cli_orders:advise",
    "head": "parcelfsm.cli_orders:head",
    "tick": "parcelfsm.cli_timers:tick",
    "advance": "parcelfsm.cli_timers:advance",
    "replay": "parcelfsm.cli_data:replay",
    "import": "parcelfsm.cli_data:import_",
    "export": "parcelfsm.cli_data:export",
    "track-ingest": "parcelfsm.cli_data:track_ingest",
    "diagram": "parcelfsm.cli_tools:diagram",
    "timeline": "parcelfsm.cli_tools:timeline",
    "normalize": "parcelfsm.cli_tools:normalize",
    "track-check": "parcelfsm.cli_tools:track_check",
    "demo": "parcelfsm.cli_tools:demo",
    "types": "parcelfsm.cli_tools:types_",
}


@click.group(cls=Commands, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="parcelfsm", message="%(prog)s %(version)s")
@click.option(
    "--db",
    envvar="PARCELFSM_DB",
    default="parcelfsm.db",
    show_default=True,
    help="Database: a file path or sqlite:///PATH, memory:, or postgresql://… "
    "(default $PARCELFSM_DB, else ./parcelfsm.db).",
)
@click.option(
    "--read-only",
    is_flag=True,
    envvar="PARCELFSM_READ_ONLY",
    help="Open the database read-only (reads only; also chosen for a file that cannot be written).",
)
@click.option(
    "--now",
    "now",
    envvar="PARCELFSM_NOW",
    default=None,
    help="Fix the clock: ISO 8601 with Z/offset, or YYYY-MM-DD (= 00:00Z).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON on stdout.")
@click.option(
    "--allow-future",
    is_flag=True,
    envvar="PARCELFSM_ALLOW_FUTURE",
    help="Allow writes dated more than a day ahead of the system clock.",
)
@click.option(
    "--policy",
    envvar="PARCELFSM_POLICY",
    default=None,
    help="JSON policy file: the rules orders placed by this call start under "
    "(default: the built-in policy). For a what-if over existing orders see `replay --what-if`.",
)
@click.pass_context
def cli(
    ctx: click.Context,
    db: str,
    read_only: bool,
    now: str | None,
    as_json: bool,
    allow_future: bool,
    policy: str | None,
) -> None:
    """Marketplace orders, parcels and disputes as replayable state machines."""
    ctx.obj = Env(db, now, as_json, policy, allow_future, read_only)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="parcelfsm")
