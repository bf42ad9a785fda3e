"""Read models: `OrderView`, what `show` prints, built from a folded state."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from parcelfsm.advice import Advice, advise
from parcelfsm.allowed import Allowed, allowed_commands
from parcelfsm.clock import format_time
from parcelfsm.deadlines import Deadline, active_alerts, open_deadlines
from parcelfsm.money import Escrow
from parcelfsm.records import NewEvent
from parcelfsm.state import OrderState


@attrs.frozen
class OrderView:
    """One order as of an instant: what `show` prints (docs/cli.md, `show --json`).

    `allowed` (computed on demand) lists every command type with whether it is legal
    at `as_of` and, for a refused one, the reason.
    """

    order_id: str
    version: int
    as_of: dt.datetime
    policy_version: str
    states: dict[str, str | None]
    money: Escrow
    dispute: dict[str, Any] | None
    deadlines: tuple[Deadline, ...]
    unfired: tuple[NewEvent, ...]
    alerts: tuple[str, ...]
    advice: tuple[Advice, ...]
    tracking_number: str | None = None
    old_tracking_numbers: tuple[str, ...] = ()
    final: bool = False
    state: OrderState | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def allowed(self) -> list[Allowed]:
        """The command types legal at `as_of`, and the reason for each refused one."""
        return allowed_commands(self.state, self.as_of) if self.state is not None else []

    def to_json(self) -> dict[str, Any]:
        """The `show --json` object."""
        return {
            "order_id": self.order_id,
            "version": self.version,
            "as_of": format_time(self.as_of),
            "policy_version": self.policy_version,
            "states": dict(self.states),
            "money": self.money.to_json(),
            "dispute": self.dispute,
            "deadlines": [d.to_json() for d in self.deadlines],
            "unfired": [
                {
                    "type": e.type,
                    "deadline": e.data.get("deadline"),
                    "due_at": format_time(e.occurred_at),
                    "rule": e.data.get("rule"),
                    **({"kind": e.data["kind"]} if "kind" in e.data else {}),
                }
                for e in self.unfired
            ],
            "alerts": list(self.alerts),
            "advice": [a.to_json() for a in self.advice],
            "tracking_number": self.tracking_number,
            "old_tracking_numbers": list(self.old_tracking_numbers),
            "final": self.final,
            "allowed": [a.to_json() for a in self.allowed],
        }


def _show_order(d: Deadline) -> tuple[int, dt.datetime, str]:
    return (1, dt.datetime.max.replace(tzinfo=dt.UTC), d.kind) if d.due_at is None else (0, d.due_at, d.kind)


def build_view(state: OrderState, as_of: dt.datetime, unfired: list[NewEvent]) -> OrderView:
    """The view of a folded state; deadlines sorted by (due_at, kind), paused last."""
    deadlines = sorted(open_deadlines(state), key=_show_order)
    alerts = active_alerts(state)
    dispute = None
    if state.dispute is not None:
        dispute = state.dispute.to_json()
        dispute["state"] = state.dispute_state
    return OrderView(
        order_id=state.order_id,
        version=state.version,
        as_of=as_of,
        policy_version=state.policy.version,
        states={
            "order": state.order,
            "parcel": state.parcel,
            "dispute": None if state.dispute_state == "none" else state.dispute_state,
        },
        money=state.escrow,
        dispute=dispute,
        deadlines=tuple(deadlines),
        unfired=tuple(unfired),
        alerts=tuple(alerts),
        advice=tuple(advise(state, deadlines, alerts, as_of)),
        tracking_number=state.tracking_number,
        old_tracking_numbers=tuple(state.old_tracking_numbers),
        final=state.is_final,
        state=state,
    )
