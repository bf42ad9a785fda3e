"""Which deadline rows the projections hold for the states this log wrote.

A command changes one order, and most commands (a carrier scan, say) leave its open
deadlines as they were. Rewriting every deadline row of the order after each command
(delete all, insert all) costs two statements and an index update per row; writing
only what changed costs none when nothing did. To know what changed, the log
remembers, for each folded state whose projection it wrote, the deadlines it wrote —
keyed by the state's identity, for as long as the state lives (the service's state
cache keeps the latest state of each order alive). A state the log did not write (a
fresh fold after another process moved the stream, an order's first command) gets
the full rewrite, so the projection never depends on a guess.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence

from parcelfsm.deadlines import Deadline
from parcelfsm.state import OrderState
from parcelfsm.store.mapping import deadline_row, order_row, projected
from parcelfsm.store.projections import DeadlineRow, OrderRow, ProjectionChange

Full = tuple[OrderRow, list[DeadlineRow]]


class WrittenDeadlines:
    """The projected deadlines (by kind) of each live state whose rows were written."""

    def __init__(self) -> None:
        self._by_state: dict[int, tuple[weakref.ref[OrderState], dict[str, Deadline]]] = {}

    def of(self, state: OrderState | None) -> dict[str, Deadline] | None:
        """The deadlines written for `state`, or None when this log did not write it."""
        if state is None:
            return None
        hit = self._by_state.get(id(state))
        if hit is None or hit[0]() is not state:
            return None
        return hit[1]

    def remember(self, state: OrderState, deadlines: dict[str, Deadline]) -> None:
        """Record that the projections now hold `deadlines` for `state`."""
        key = id(state)
        by_state = self._by_state
        by_state[key] = (weakref.ref(state, lambda _ref: by_state.pop(key, None)), deadlines)

    def forget(self) -> None:
        """Forget every state (the projections were cleared or rewritten elsewhere)."""
        self._by_state.clear()

    def plan(
        self, before: OrderState | None, after: OrderState
    ) -> tuple[ProjectionChange | None, Full | None, dict[str, Deadline]]:
        """What to write for `after`: a change against `before`'s written rows when they
        are known, else the full rows; and the deadlines `after` then has written."""
        now = {d.kind: d for d in projected(after)}
        old = self.of(before)
        if old is None or before is None or before.order_id != after.order_id:
            return None, (order_row(after), [deadline_row(d) for d in now.values()]), now
        removed = [kind for kind in old if kind not in now]
        upserted = [deadline_row(d) for kind, d in now.items() if _differs(old.get(kind), d)]
        return ProjectionChange(order_row(after), tuple(removed), tuple(upserted)), None, now


def _differs(old: Deadline | None, new: Deadline) -> bool:
    """Whether `new`'s row differs from `old`'s: the kind (and with it rank, on_expiry
    and alert) and the order are the same, so only the due time, the event that set it
    and the rule text can."""
    return (
        old is None
        or old.due_at != new.due_at
        or old.set_by_version != new.set_by_version
        or old.rule != new.rule
    )


def split(
    written: WrittenDeadlines, pairs: Sequence[tuple[OrderState | None, OrderState]]
) -> tuple[list[ProjectionChange], list[Full], list[tuple[OrderState, dict[str, Deadline]]]]:
    """The changes, the full rewrites, and what to remember once they are written."""
    changes: list[ProjectionChange] = []
    full: list[Full] = []
    done: list[tuple[OrderState, dict[str, Deadline]]] = []
    for before, after in pairs:
        change, rows, now = written.plan(before, after)
        if change is not None:
            changes.append(change)
        if rows is not None:
            full.append(rows)
        done.append((after, now))
    return changes, full, done
