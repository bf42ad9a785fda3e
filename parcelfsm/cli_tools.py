"""`parcelfsm` tools: diagram, timeline, normalize, track-check, demo and types
(docs/cli.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from parcelfsm import render
from parcelfsm.cli_support import (
    Env,
    TypedCommand,
    handled,
    option_time,
    output_options,
)
from parcelfsm.errors import ValidationError


@click.command(cls=TypedCommand)
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


@click.command(cls=TypedCommand)
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


@click.command(cls=TypedCommand)
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


@click.command(name="track-check", cls=TypedCommand)
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


@click.command(cls=TypedCommand)
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


@click.command(name="types", cls=TypedCommand)
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
