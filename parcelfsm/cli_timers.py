"""`parcelfsm` commands that fire deadlines: tick (once, or as a timer worker with
`--loop`) and advance (docs/cli.md)."""

from __future__ import annotations

from typing import Any

import click

from parcelfsm import render
from parcelfsm.cli_support import (
    Env,
    TypedCommand,
    handled,
    output_options,
)
from parcelfsm.clock import format_time, parse_time


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


def _batch_fired(env: Env, events: list[Any], at: str) -> None:
    """A timer worker's output for one committed batch: with `--json` the same object as
    `tick` prints (one line), else one summary line — a worker's log is read line by line."""
    if env.as_json:
        _fired(env, events, at, False)
        return
    counts: dict[str, int] = {}
    for e in events:
        counts[e.type] = counts.get(e.type, 0) + 1
    kinds = ", ".join(f"{name} {n}" for name, n in sorted(counts.items()))
    streams = len({e.stream_id for e in events})
    click.echo(f"{at}  fired {len(events)} event(s) on {streams} order(s): {kinds}")


@click.command(cls=TypedCommand)
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
            on_batch=lambda ev: _batch_fired(env, ev, format_time(orders.now())),
        )
        return
    now = orders.now()
    _fired(env, orders.advance(now, batch=batch), format_time(now), False)


@click.command(cls=TypedCommand)
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
