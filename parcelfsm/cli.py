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
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from parcelfsm import __version__, render
from parcelfsm.cli_support import (
    Commands,
    Env,
    TypedCommand,
    handled,
    json_arg,
    option_time,
    output_options,
    read_input,
)
from parcelfsm.clock import format_time, parse_time
from parcelfsm.errors import ValidationError, quote


@click.group(cls=Commands, context_settings={"help_option_names": ["-h", "--help"]})
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


@cli.command()
@output_options
@handled
def init(env: Env) -> None:
    """Create the database (idempotent)."""
    env.orders()
    env.emit({"db": env.db, "created": True}, f"database ready: {env.db}")


class RecordCommand(TypedCommand):
    """`record`, whose help ends with the command types (read from the event registry
    only when the help is shown: the registry is not loaded to parse a command line)."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from parcelfsm.events import COMMAND_TYPES

        self.epilog = "\b\nTYPE is one of (fields of each: `parcelfsm types TYPE`):\n" + "\n".join(
            "  " + "  ".join(COMMAND_TYPES[i : i + 3]) for i in range(0, len(COMMAND_TYPES), 3)
        )
        super().format_epilog(ctx, formatter)


@cli.command(cls=RecordCommand)
@click.argument("order")
@click.argument("type_name", metavar="TYPE")
@click.option("--data", help="Command data as a JSON object.")
@click.option("--key", help="Idempotency key: a retry with the same key appends nothing.")
@click.option("--at", metavar="TIME", help="When it happened (occurred_at); default now.")
@click.option(
    "--expect-version",
    type=click.IntRange(min=0, max=2**62),
    help="Fail (exit 4) unless the order is at this version.",
)
@output_options
@handled
def record(
    env: Env,
    order: str,
    type_name: str,
    data: str | None,
    key: str | None,
    at: str | None,
    expect_version: int | None,
) -> None:
    """Validate a command and append it (after firing the order's overdue deadlines)."""
    payload = json_arg(data, "--data")
    when = option_time(at, "--at")
    env.guard_write()
    env.guard_future(when, "--at")
    events = env.orders().record(order, type_name, payload, key=key, at=when, expect_version=expect_version)
    warnings = [
        f"carrier text {e.data.get('text')!r} is not known: recorded as status unknown (no state change)"
        for e in events
        if e.type == "parcel.scanned" and e.data.get("status") == "unknown"
    ]
    payload_out: dict[str, Any] = {"order_id": order, "events": [e.to_json() for e in events]}
    if warnings:
        payload_out["warnings"] = warnings
    env.emit(payload_out, render.events(events))
    if not env.as_json:
        for warning in warnings:
            click.echo(f"warning: {warning}", err=True)


@cli.command()
@click.argument("order")
@click.option("--at", metavar="TIME", help="Show the order as it stood at this instant.")
@click.option("--as-recorded", is_flag=True, help="Only what had been written by --at (audit view).")
@output_options
@handled
def show(env: Env, order: str, at: str | None, as_recorded: bool) -> None:
    """State, money, open deadlines, alerts, advice and allowed commands — now or at any instant."""
    view = env.orders(must_exist=True).show(order, at=option_time(at, "--at"), as_recorded=as_recorded)
    env.emit(view.to_json, lambda: render.view(view))  # the allowed commands are worked out once


@cli.command()
@click.argument("order")
@output_options
@handled
def history(env: Env, order: str) -> None:
    """The order's events in version order."""
    events = env.orders(must_exist=True).history(order)
    env.emit({"order_id": order, "events": [e.to_json() for e in events]}, lambda: render.events(events))


@cli.command()
@click.option("--before", metavar="TIME", help="Only deadlines due at or before this time.")
@click.option(
    "--limit",
    type=click.IntRange(1, 1_000_000),
    default=100,
    show_default=True,
    help="At most this many deadlines.",
)
@output_options
@handled
def due(env: Env, before: str | None, limit: int) -> None:
    """Open deadlines across all orders, soonest first (says how many there are in all)."""
    orders = env.orders(must_exist=True)
    until = option_time(before, "--before")
    items = orders.due(before=until, limit=limit)
    total = orders.count_due(before=until) if len(items) >= limit else len(items)
    env.emit(
        {"deadlines": [d.to_json() for d in items], "total": total},
        render.deadlines(items, with_order=True) + render.shown(len(items), total),
    )


@cli.command(name="list")
@click.option("--state", help="Orders in this state of any lifecycle (e.g. frozen, held_at_customs).")
@click.option("--alert", help="Orders with this alert active (e.g. customs_stalled).")
@click.option("--due-before", help="Orders with a deadline due at or before this time.")
@click.option("--limit", type=click.IntRange(1, 1_000_000), default=None, help="At most this many orders.")
@output_options
@handled
def list_(env: Env, state: str | None, alert: str | None, due_before: str | None, limit: int | None) -> None:
    """Orders by id, from the projections, filtered by state, alert or due time."""
    orders = env.orders(must_exist=True)
    rows = orders.list(state, alert=alert, due_before=option_time(due_before, "--due-before"), limit=limit)
    env.emit({"orders": [r.to_json() for r in rows]}, lambda: render.order_rows(rows))


def _fired(env: Env, events: list[Any], to: str, dry_run: bool) -> None:
    payload = {
        "to": to,
        "dry_run": dry_run,
        "fired": [
            e.to_json()
            if hasattr(e, "to_json")
            else {
                "stream_id": e.stream_id,
                "type": e.type,
                "occurred_at": format_time(e.occurred_at),
                "due_at": format_time(e.due_at) if e.due_at else None,
                "data": e.data,
            }
            for e in events
        ],
    }
    env.emit(payload, render.events(events))


@cli.command()
@click.option(
    "--batch",
    type=click.IntRange(1, 1_000_000),
    default=1000,
    show_default=True,
    help="Orders fired per transaction (a crash between batches loses nothing).",
)
@click.option(
    "--loop",
    is_flag=True,
    help="Keep firing deadlines as they fall due, one line per batch; any number of "
    "processes may run this on one database. SIGTERM: finish the batch, exit 0.",
)
@output_options
@handled
def tick(env: Env, batch: int, loop: bool) -> None:
    """Fire every deadline due at or before now, in due order; print what fired."""
    env.guard_write()
    orders = env.orders()
    if loop:
        from parcelfsm import timers  # only the worker loop needs signals and threads

        stop = timers.stop_on_signals()
        timers.run_timers(
            orders,
            batch=batch,
            stop=stop,
            on_batch=lambda ev: _fired(env, ev, format_time(orders.now()), False),
        )
        return
    now = orders.now()
    _fired(env, orders.advance(now, batch=batch), format_time(now), False)


@cli.command()
@click.option(
    "--to", "to", metavar="TIME", required=True, help="Target instant (may be later than the wall clock)."
)
@click.option("--dry-run", is_flag=True, help="Show what would fire; append nothing.")
@output_options
@handled
def advance(env: Env, to: str, dry_run: bool) -> None:
    """Fire every deadline due up to --to, across all orders."""
    target = parse_time(to, "--to", bounded=False)
    if not dry_run:
        env.guard_future(target, "--to")
    _fired(env, env.orders(must_exist=dry_run).advance(target, dry_run=dry_run), format_time(target), dry_run)


@cli.command()
@click.option("--verify", is_flag=True, help="Check the hash chain, versions and projections (exit 5).")
@click.option(
    "--what-if",
    "what_if",
    metavar="POLICY_FILE",
    type=click.Path(dir_okay=False),
    help="Replay every order's commands under this policy without writing; report what would differ.",
)
@click.option(
    "--policy",
    "old_policy",
    type=click.Path(dir_okay=False),
    hidden=True,
    help="Deprecated spelling of --what-if.",
)
@click.option(
    "--expect-head",
    help="With --verify: prove nothing up to this `parcelfsm head` digest changed (exit 5 if it did).",
)
@output_options
@handled
def replay(
    env: Env, verify: bool, what_if: str | None, old_policy: str | None, expect_head: str | None
) -> None:
    """Rebuild every projection from the log (or verify it, or what-if a policy)."""
    if old_policy is not None:
        click.echo("warning: `replay --policy FILE` is now `replay --what-if FILE`", err=True)
    source = what_if or old_policy
    from parcelfsm.policy import Policy

    policy = Policy.from_file(source) if source else None
    if expect_head is not None and not verify:
        raise ValidationError("--expect-head: give it with --verify")
    report = env.orders(must_exist=True).replay(
        verify=verify, policy=policy, progress=_progress, expect_head=expect_head
    )
    env.emit(report.to_json(), report.to_text())
    if report.problems:
        sys.exit(5)


@cli.command()
@output_options
@handled
def head(env: Env) -> None:
    """Digest of the whole log in position order (POSITION:HEX); keep it elsewhere and
    check it later with `replay --verify --expect-head`."""
    log_head = env.orders(must_exist=True).head()
    env.emit(log_head.to_json(), log_head.token)


def _progress(total: int, label: str) -> Any:
    """A progress bar on stderr, only when stderr is a terminal (docs/cli.md)."""
    if sys.stderr.isatty():
        return click.progressbar(length=total, label=label, file=sys.stderr)
    from parcelfsm.maintenance import NoProgress

    return NoProgress()


@cli.command()
@click.argument("machine", required=False, type=click.Choice(["order", "parcel", "dispute"]))
@click.option("--order", "order_id", help="Highlight this order's current state in each diagram.")
@output_options
@handled
def diagram(env: Env, machine: str | None, order_id: str | None) -> None:
    """Mermaid stateDiagram-v2 of a machine, generated from its definition."""
    from parcelfsm.diagram import diagram as make

    current: dict[str, str] = {}
    if order_id is not None:
        state = env.orders(must_exist=True).state(order_id)
        current = {"order": state.order, "parcel": state.parcel, "dispute": state.dispute_state}
    names = [machine] if machine else ["order", "parcel", "dispute"]
    if env.as_json:
        env.emit({"diagrams": {name: make(name, current.get(name)) for name in names}}, "")
        return
    for name in names:
        click.echo(make(name, current.get(name)), nl=False)


@cli.command()
@click.argument("order")
@click.option("--at", metavar="TIME", help="Show the order as it stood at this instant (default now).")
@click.option("-o", "--output", metavar="FILE", help="Write to FILE instead of stdout.")
@click.option("--svg", "as_svg", is_flag=True, help="Only the SVG, not the HTML page.")
@output_options
@handled
def timeline(env: Env, order: str, at: str | None, output: str | None, as_svg: bool) -> None:
    """One order's story as a self-contained HTML page: states, events, deadlines, money, now."""
    from parcelfsm.timeline import order_timeline
    from parcelfsm.timeline_html import page
    from parcelfsm.timeline_svg import svg

    if as_svg and env.as_json:
        raise click.UsageError("--svg and --json: choose one")
    model = order_timeline(env.orders(must_exist=True), order, option_time(at, "--at"))
    if env.as_json:
        text = json.dumps(model.to_json(), ensure_ascii=False) + "\n"
    else:
        text = svg(model) if as_svg else page(model)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"--output: cannot write {output!r}: {exc.strerror or exc}") from None
    click.echo(f"timeline of {order} written to {output}", err=True)


@cli.command(name="import")
@click.argument("file", type=click.Path(allow_dash=True))
@output_options
@handled
def import_(env: Env, file: str) -> None:
    """Bulk-load stored events from JSON lines (idempotent by stream and version)."""
    env.guard_write()
    # the input is opened (and counted) before the database is opened or created
    total = _count_lines(file) if file != "-" else 0
    report = env.orders().import_lines(_stream(file), progress=_progress, total=total)
    env.emit(report.to_json(), report.to_text())


def _count_lines(file: str) -> int:
    """How many lines a file has (for the progress bar), read in blocks."""
    try:
        with open(file, "rb") as handle:
            return sum(block.count(b"\n") for block in iter(lambda: handle.read(1 << 20), b""))
    except OSError as exc:
        raise ValidationError(f"FILE: cannot read {quote(file)}: {quote(str(exc))}") from None


def _stream(file: str) -> Iterator[str]:
    """A file's lines (`-` = stdin) as they are read; unreadable or non-UTF-8 input is a
    `ValidationError` (batches imported before it stay)."""
    try:
        with contextlib.ExitStack() as stack:
            handle = sys.stdin if file == "-" else stack.enter_context(open(file, encoding="utf-8"))
            for line in handle:
                yield line.rstrip("\r\n")
    except (OSError, UnicodeError) as exc:
        raise ValidationError(f"FILE: cannot read {quote(file)}: {quote(str(exc))}") from None


@cli.command()
@click.argument("order", required=False)
@output_options
@handled
def export(env: Env, order: str | None) -> None:
    """Dump stored events as JSON lines (one per line) to stdout."""
    orders = env.orders(must_exist=True)
    total = len(orders.history(order)) if order else orders.log.count_events()
    with _progress(total, "export") as bar:
        for event in orders.export_events(order):
            click.echo(json.dumps(event.to_json(), ensure_ascii=False, sort_keys=True))
            bar.update(1)


@cli.command()
@click.argument("order")
@output_options
@handled
def advise(env: Env, order: str) -> None:
    """What the buyer should do now and by when."""
    items = env.orders(must_exist=True).advise(order)
    human = "\n".join(
        f"- {a.text}" + (f" [by {format_time(a.by)}]" if a.by else "") + f"  ({a.rule})" for a in items
    )
    env.emit({"order_id": order, "advice": [a.to_json() for a in items]}, human or "(no advice)")


@cli.command()
@click.argument("text")
@output_options
@handled
def normalize(env: Env, text: str) -> None:
    """Raw carrier status text → normalized status."""
    from parcelfsm.tracking import normalize as norm

    status = norm(text)
    if status == "unknown":
        click.echo(f"warning: unknown status text {text!r}", err=True)
    env.emit({"text": text, "status": status}, status)


@cli.command(name="track-check")
@click.argument("number")
@output_options
@handled
def track_check(env: Env, number: str) -> None:
    """UPU S10 tracking number check (exit 3 when an S10 number is wrong)."""
    from parcelfsm.tracking import check_tracking_number

    result = check_tracking_number(number)
    env.emit(result.to_json(), result.message)
    if not result.valid:
        sys.exit(3)


@cli.command(name="track-ingest")
@click.argument("order")
@click.argument("file", type=click.Path(allow_dash=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "cainiao", "aftership", "17track"]),
    default="auto",
    show_default=True,
    help="The payload's format (auto: detect it).",
)
@output_options
@handled
def track_ingest(env: Env, order: str, file: str, fmt: str) -> None:
    """Append the scans of a carrier / aggregator tracking payload (`-` = stdin)."""
    env.guard_write()
    payload = json_arg(read_input(file), "FILE")
    report = env.orders().ingest_tracking(order, payload, format=fmt)
    env.emit(report.to_json(), report.to_text())


@cli.command()
@click.option("--keep", type=click.Path(dir_okay=False), help="Keep the demo database at this path.")
@output_options
@handled
def demo(env: Env, keep: str | None) -> None:
    """A guided run over a few orders in a temporary database with frozen time."""
    from parcelfsm.demo import run

    if env.as_json:  # the story stays on stderr; stdout is each order's final `show --json`
        env.emit({"orders": run(lambda line: click.echo(line, err=True), keep=keep)}, "")
    else:
        run(click.echo, keep=keep)


@cli.command(name="types")
@click.argument("type_name", metavar="[TYPE]", required=False)
@output_options
@handled
def types_(env: Env, type_name: str | None) -> None:
    """The event types, or one type's fields (type, required, allowed values, default)."""
    from parcelfsm.schema import describe, summaries

    if type_name is None:
        items = summaries()
        env.emit({"types": items}, render.type_list(items))
    else:
        info = describe(type_name)
        env.emit(info, render.type_fields(info))


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="parcelfsm")
