"""`parcelfsm` commands that move many events: replay (rebuild, verify, what-if),
import, export and track-ingest (docs/cli.md)."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import click

from parcelfsm.cli_support import (
    Env,
    TypedCommand,
    handled,
    json_arg,
    output_options,
    read_input,
)
from parcelfsm.errors import ValidationError, quote


@click.command(cls=TypedCommand)
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


def _progress(total: int, label: str) -> Any:
    """A progress bar on stderr, only when stderr is a terminal (docs/cli.md)."""
    if sys.stderr.isatty():
        return click.progressbar(length=total, label=label, file=sys.stderr)
    from parcelfsm.maintenance import NoProgress

    return NoProgress()


@click.command(name="import", cls=TypedCommand)
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


@click.command(cls=TypedCommand)
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


@click.command(name="track-ingest", cls=TypedCommand)
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
