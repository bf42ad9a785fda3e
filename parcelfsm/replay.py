"""Replay checks, pure: verify the hash chain, compare projections, what-if a policy.

These take events and rows, never a store; the service feeds them from the log.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import attrs

from parcelfsm.clock import format_time
from parcelfsm.deadlines import Deadline, open_deadlines
from parcelfsm.decide import fire_due
from parcelfsm.errors import ParcelFsmError
from parcelfsm.fold import evolve
from parcelfsm.policy import Policy
from parcelfsm.records import NewEvent, StoredEvent
from parcelfsm.state import OrderState
from parcelfsm.store.mapping import order_row, projected
from parcelfsm.store.projections import OrderRow


@attrs.frozen
class ReplayReport:
    """What a replay did and found (docs/api.md `replay`)."""

    mode: str
    orders: int
    events: int
    problems: tuple[str, ...] = ()
    differences: dict[str, list[str]] = attrs.field(factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "orders": self.orders,
            "events": self.events,
            "ok": not self.problems,
            "problems": list(self.problems),
            "differences": self.differences,
        }

    def to_text(self) -> str:
        lines = [f"{self.mode}: {self.orders} orders, {self.events} events"]
        if self.mode == "verify":
            lines.append(
                "verified: no problems" if not self.problems else f"{len(self.problems)} problem(s):"
            )
        lines += [f"  - {p}" for p in self.problems]
        if self.mode == "what-if":
            lines.append(f"{len(self.differences)} order(s) would differ")
            for order_id, diffs in self.differences.items():
                lines.append(f"  {order_id}:")
                lines += [f"    - {d}" for d in diffs]
        return "\n".join(lines)


def compare_projection(
    order_id: str, stored: OrderRow | None, stored_deadlines: Sequence[Deadline], state: OrderState
) -> list[str]:
    """How one order's stored projection differs from a fold of its log."""
    problems: list[str] = []
    rebuilt = order_row(state)
    if stored is None:
        problems.append(f"{order_id}: missing from the orders projection")
    elif stored != rebuilt:
        for field in attrs.fields(OrderRow):
            a, b = getattr(stored, field.name), getattr(rebuilt, field.name)
            if a != b:
                problems.append(f"{order_id}: projection {field.name} is {a!r}, the log says {b!r}")
    have = [deadline_tuple(d) for d in stored_deadlines]
    want = [deadline_tuple(d) for d in projected(state)]
    if sorted(have, key=repr) != sorted(want, key=repr):
        problems.append(f"{order_id}: projected deadlines {have} differ from the log's {want}")
    return problems


def deadline_tuple(d: Deadline) -> tuple[Any, ...]:
    """The comparable content of a projected deadline."""
    return (d.kind, format_time(d.due_at) if d.due_at else None, d.rule, d.set_by_version, d.on_expiry)


def what_if(
    events: Sequence[StoredEvent], policy: Policy, until: dt.datetime, actual: OrderState
) -> list[str]:
    """How one order would differ at `until` had it started under `policy`.

    Replays the reported commands (timed events are re-derived) with catch-up, as the
    live system would have, and compares states, money and open deadlines with `actual`.
    """
    state: OrderState | None = None
    diffs: list[str] = []
    for e in events:
        if e.due_at is not None:
            continue
        event: StoredEvent | NewEvent = e
        if e.type == "order.placed":
            event = attrs.evolve(e, data={**e.data, "policy": policy.to_dict()})
        if state is not None:
            state, _ = fire_due(state, e.occurred_at, virtual=True)
        try:
            state = evolve(state, event)
        except ParcelFsmError as exc:
            diffs.append(f"v{e.version} {e.type} would be rejected: {exc.type}: {exc.message}")
    if state is None:
        return diffs
    state, _ = fire_due(state, until, virtual=True)
    for lifecycle in ("order", "parcel", "dispute_state"):
        a, b = getattr(actual, lifecycle), getattr(state, lifecycle)
        if a != b:
            diffs.append(f"{lifecycle.removesuffix('_state')} state: {a} -> {b}")
    for field, a, b in zip(
        ("held", "released_to_seller", "refunded_to_buyer"),
        (actual.escrow.held, actual.escrow.released_to_seller, actual.escrow.refunded_to_buyer),
        (state.escrow.held, state.escrow.released_to_seller, state.escrow.refunded_to_buyer),
        strict=True,
    ):
        if a != b:
            diffs.append(f"money {field}: {a} -> {b}")
    before = {d.kind: d for d in open_deadlines(actual)}
    after = {d.kind: d for d in open_deadlines(state)}
    for kind in sorted(before.keys() | after.keys()):
        a_due = _due_text(before.get(kind))
        b_due = _due_text(after.get(kind))
        if a_due != b_due:
            diffs.append(f"deadline {kind}: {a_due} -> {b_due}")
    return diffs


def _due_text(d: Deadline | None) -> str:
    if d is None:
        return "none"
    if d.paused:
        return f"paused ({int(d.remaining.total_seconds()) if d.remaining else 0} s left)"
    return format_time(d.due_at) if d.due_at else "none"


def dumps(value: Any) -> str:
    """Stable JSON for comparing reports byte for byte."""
    return json.dumps(value, sort_keys=True)
