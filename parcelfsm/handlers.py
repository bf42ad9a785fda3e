"""Fold handler tables: one per lifecycle module, merged explicitly by `parcelfsm.fold`."""

from __future__ import annotations

from collections.abc import Callable

from parcelfsm.records import Envelope
from parcelfsm.state import OrderState

#: applies one event's effect to a (copied) state
Handler = Callable[[OrderState, Envelope], None]


def handler_table() -> tuple[dict[str, Handler], Callable[..., Callable[[Handler], Handler]]]:
    """A fresh handler table and the decorator that fills it: `@handles("a", "b")`."""
    table: dict[str, Handler] = {}

    def handles(*types: str) -> Callable[[Handler], Handler]:
        def wrap(fn: Handler) -> Handler:
            for t in types:
                table[t] = fn
            return fn

        return wrap

    return table, handles
