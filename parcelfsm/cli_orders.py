"""`parcelfsm` commands on the order book: init, record, show, history, due, list,
advise, head (docs/cli.md). The group, its global options and the error boundary are
in `parcelfsm.cli` and `parcelfsm.cli_support`; this module loads when one of these
commands runs."""

from __future__ import annotations

from typing import Any

import click

from parcelfsm import render
from parcelfsm.cli_support import (
    Env,
    TypedCommand,
    handled,
    json_arg,
    option_time,
    output_options,
)
from parcelfsm.clock import format_time
from parcelfsm.errors import CorruptLog


@click.command(cls=TypedCommand)
@output_options
@handled
def init(env: Env) -> None:
    """Create the database (idempotent); on an existing one, check its pages."""
    problems = env.orders().check_storage()
    if problems:
        raise CorruptLog(f"database {env.db!r} is damaged: {problems[0]}")
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


@click.command(cls=RecordCommand)
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


@click.command(cls=TypedCommand)
@click.argument("order")
@click.option("--at", metavar="TIME", help="Show the order as it stood at this instant.")
@click.option("--as-recorded", is_flag=True, help="Only what had been written by --at (audit view).")
@output_options
@handled
def show(env: Env, order: str, at: str | None, as_recorded: bool) -> None:
    """State, money, open deadlines, alerts, advice and allowed commands — now or at any instant."""
    view = env.orders(must_exist=True).show(order, at=option_time(at, "--at"), as_recorded=as_recorded)
    env.emit(view.to_json, lambda: render.view(view))  # the allowed commands are worked out once


@click.command(cls=TypedCommand)
@click.argument("order")
@output_options
@handled
def history(env: Env, order: str) -> None:
    """The order's events in version order."""
    events = env.orders(must_exist=True).history(order)
    env.emit({"order_id": order, "events": [e.to_json() for e in events]}, lambda: render.events(events))


@click.command(cls=TypedCommand)
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


@click.command(name="list", cls=TypedCommand)
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


@click.command(cls=TypedCommand)
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


@click.command(cls=TypedCommand)
@output_options
@handled
def head(env: Env) -> None:
    """Digest of the whole log in position order (POSITION:HEX); keep it elsewhere and
    check it later with `replay --verify --expect-head`."""
    log_head = env.orders(must_exist=True).head()
    env.emit(log_head.to_json(), log_head.token)
