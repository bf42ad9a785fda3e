"""The command line's plumbing: global options (`Env`), the one error boundary
(`handled`), `--json` after the subcommand (`output_options`), typed option values
that are input errors (`TypedCommand`), and the clock guard on writes.

`handled` turns every failure into a typed error with a one-line message and a
documented exit code (docs/cli.md "Exit codes and errors"): no traceback reaches a user.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
import json
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeVar, cast

import click

from parcelfsm.clock import Clock, FixedClock, SystemClock, format_time, parse_time
from parcelfsm.errors import CorruptLog, ValidationError, quote

if TYPE_CHECKING:
    from parcelfsm.service import Orders

F = TypeVar("F", bound=Callable[..., Any])
#: how far ahead of the system clock a write may be dated without --allow-future
FUTURE_SLACK: Final = dt.timedelta(days=1)


class Env:
    """Global options, and the order book opened on first use."""

    def __init__(
        self,
        db: str,
        now: str | None,
        as_json: bool,
        policy: str | None = None,
        allow_future: bool = False,
        read_only: bool = False,
    ) -> None:
        self.db = db
        self.read_only = read_only
        self.now_text = now
        self.as_json = as_json
        self.policy_file = policy
        self.allow_future = allow_future
        self._orders: Orders | None = None

    def guard_future(self, when: dt.datetime | None, option: str) -> None:
        """Refuse a write dated more than a day ahead of the system clock (the clock guard)."""
        if when is None or self.allow_future:
            return
        wall = SystemClock().now()
        if when > wall + FUTURE_SLACK:
            raise ValidationError(
                f"{option}: {format_time(when)} is more than a day ahead of the system clock "
                f"({format_time(wall)}); a write there fires every deadline up to it for good. "
                "Give --allow-future (or PARCELFSM_ALLOW_FUTURE=1) if you mean it"
            )

    def guard_write(self) -> None:
        """The clock guard for a write at `--now` (the system clock needs no guard)."""
        if self.now_text:
            self.guard_future(self.clock().now(), "--now")

    def clock(self) -> Clock:
        if self.now_text:
            return FixedClock(parse_time(self.now_text, "--now", bounded=False))
        return SystemClock()

    def orders(self, *, must_exist: bool = False) -> Orders:
        """The order book; `must_exist` (read commands) refuses a missing database file."""
        if self._orders is None:
            # the service (and everything it folds with) loads with the first command
            # that opens the book: `--help`, `normalize`, `track-check` never do
            from parcelfsm.policy import Policy
            from parcelfsm.service import open as open_orders

            policy = Policy.from_file(self.policy_file) if self.policy_file else None
            secret = os.environ.get("PARCELFSM_HMAC_KEY", "").encode("utf-8", "surrogateescape") or None
            self._orders = open_orders(
                self.db,
                clock=self.clock(),
                policy=policy,
                read_only=self.read_only,
                create=not must_exist,
                secret=secret,
            )
        return self._orders

    def close(self) -> None:
        if self._orders is not None:
            self._orders.close()
            self._orders = None

    def emit(self, payload: Any | Callable[[], Any], human: str | Callable[[], str]) -> None:
        """Print `payload` as JSON with `--json`, else the human text; either may be a
        function, called only when its form is the one printed."""
        if self.as_json:
            click.echo(json.dumps(payload() if callable(payload) else payload, ensure_ascii=False))
        else:
            click.echo(human() if callable(human) else human)


def output_options(fn: F) -> F:
    """`--json` after the subcommand too (`show A-100 --json`), as before it."""
    option = click.option("--json", "json_after", is_flag=True, help="Machine-readable JSON on stdout.")
    return option(fn)


def handled(fn: F) -> F:
    """Run a command body, turning every failure into the documented output and exit codes.

    The one error boundary: library errors keep their type; a driver error or a stored
    value the library cannot process becomes `CorruptLog` (exit 5), a database that
    stayed busy `ConcurrencyConflict` (exit 4). The message is one line.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        env = click.get_current_context().find_object(Env)
        assert env is not None
        if kwargs.pop("json_after", False):
            env.as_json = True
        try:
            return fn(env, *args, **kwargs)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:  # the boundary: nothing untyped gets past here
            from parcelfsm.store.files import translate  # (the store loads with the book)
            from parcelfsm.store.redaction import redact

            shown = redact(env.db)
            error = translate(exc, shown)
            message = " ".join(error.message.splitlines())
            if isinstance(error, CorruptLog) and shown not in message and "position" not in message:
                message = f"database {quote(shown)}: {message}"
            if env.as_json:
                body = {"error": {"type": error.type, "message": message}}
                click.echo(json.dumps(body, ensure_ascii=False))
            else:
                click.echo(f"{error.type}: {message}", err=True)
            close_quietly(env)
            sys.exit(error.exit_code)
        finally:
            close_quietly(env)

    return cast(F, wrapper)


def close_quietly(env: Env) -> None:
    try:
        env.close()
    except Exception:  # closing a broken database must not raise past the boundary
        env._orders = None


def option_time(value: str | None, field: str) -> Any:
    # the service checks the range that applies (events: 1970 … 9000; reads: any date)
    return parse_time(value, field, bounded=False) if value else None


def read_input(file: str) -> str:
    """A file's text (`-` = stdin); unreadable or non-UTF-8 input is a `ValidationError`."""
    try:
        return sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeError) as exc:
        raise ValidationError(f"FILE: cannot read {quote(file)}: {quote(str(exc))}") from None


def json_arg(text: str | None, field: str) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"{field}: not valid JSON ({exc.msg} at column {exc.colno})") from None
    except (ValueError, RecursionError) as exc:  # huge numbers, deep nesting
        raise ValidationError(f"{field}: not usable JSON ({type(exc).__name__})") from None


class BadOptionValue(click.ClickException):
    """A typed option's value click refused: a `ValidationError` (exit 3), as the error
    table says, since usage (exit 2) is only an unknown command or option."""

    exit_code = 3

    def __init__(self, message: str, as_json: bool) -> None:
        super().__init__(message)
        self.as_json = as_json

    def show(self, file: Any = None) -> None:
        error = ValidationError(self.message)
        if self.as_json:
            click.echo(json.dumps(error.to_json(), ensure_ascii=False))
        else:
            click.echo(f"{error.type}: {error.message}", err=True)


class TypedCommand(click.Command):
    """A command whose malformed option values are input errors (exit 3), not usage."""

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        given = list(args)  # click consumes `args` while it parses
        try:
            return super().make_context(info_name, args, parent=parent, **extra)
        except click.MissingParameter:
            raise
        except click.BadParameter as exc:
            env = parent.find_object(Env) if parent is not None else None
            as_json = "--json" in given or bool(env and env.as_json)
            raise BadOptionValue(exc.format_message(), as_json) from None


class Commands(click.Group):
    """The `parcelfsm` group: every subcommand is a `TypedCommand`, and those named in
    `lazy` (`name -> "module:function"`) are imported only when one is run or listed."""

    command_class = TypedCommand

    def __init__(self, *args: Any, lazy: Mapping[str, str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy: dict[str, str] = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*self.commands, *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, _, name = self.lazy[cmd_name].partition(":")
            command = getattr(importlib.import_module(module), name)
            if not isinstance(command, click.Command) or command.name != cmd_name:
                raise RuntimeError(f"{self.lazy[cmd_name]} is not the command {cmd_name!r}")
            self.add_command(command)
        return self.commands.get(cmd_name)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.UsageError:  # an unknown name: suggest among every command, as click does
            self.every_command(ctx)
            return super().resolve_command(ctx, args)

    def every_command(self, ctx: click.Context | None = None) -> dict[str, click.Command]:
        """Every subcommand by name, each module imported (help, docs and tests)."""
        context = ctx or click.Context(self)
        found = {name: self.get_command(context, name) for name in self.list_commands(context)}
        return {name: command for name, command in found.items() if command is not None}
