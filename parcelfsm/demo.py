"""`parcelfsm demo`: a guided run over four orders in a temporary database.

Frozen (manual) time moves through each story; after every step the demo prints the
three states, the money and the first piece of advice, so a newcomer sees deadlines
fire as ordinary events and the escrow move.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from parcelfsm.clock import ManualClock, format_time
from parcelfsm.money_format import format_money
from parcelfsm.service import Orders
from parcelfsm.service import open as open_orders
from parcelfsm.testing import DEFAULTS

Echo = Callable[[str], Any]

STORIES: tuple[tuple[str, str, list[tuple[str, Any]]], ...] = (
    (
        "demo-1",
        "Never shipped: the seller misses a 7-day processing time",
        [
            ("record", ("order.placed", {"processing_days": 7})),
            ("wait", 7),
        ],
    ),
    (
        "demo-2",
        "Held at customs, then a dispute the seller ignores",
        [
            ("record", ("order.placed", {"destination_country": "RU"})),
            ("wait", 1),
            ("record", ("order.shipped", {})),
            ("wait", 3),
            ("record", ("parcel.scanned", {"text": "Clearing Customs"})),
            ("wait", 3),
            ("record", ("parcel.scanned", {"text": "Held At Customs"})),
            ("wait", 5),
            ("wait", 1),
            (
                "record",
                (
                    "dispute.opened",
                    {
                        "reason": "customs_problem",
                        "cause": "no_invoice",
                        "description": "Held at customs: the seller sent no invoice.",
                    },
                ),
            ),
            ("wait", 5),
        ],
    ),
    (
        "demo-3",
        "Delivered and confirmed; the dispute window runs out",
        [
            ("record", ("order.placed", {})),
            ("wait", 2),
            ("record", ("order.shipped", {})),
            ("wait", 4),
            ("record", ("parcel.scanned", {"text": "In transit"})),
            ("wait", 9),
            ("record", ("parcel.scanned", {"text": "Delivered"})),
            ("wait", 1),
            ("record", ("order.receipt_confirmed", {})),
            ("wait", 15),
        ],
    ),
    (
        "demo-4",
        "Customs failure, escalated dispute, no customs document",
        [
            ("record", ("order.placed", {})),
            ("wait", 1),
            ("record", ("order.shipped", {})),
            ("wait", 6),
            ("record", ("parcel.scanned", {"text": "Customs clearance failed"})),
            ("wait", 1),
            (
                "record",
                (
                    "dispute.opened",
                    {
                        "reason": "customs_problem",
                        "cause": "prohibited_goods",
                        "description": "Customs refused the parcel.",
                    },
                ),
            ),
            ("wait", 2),
            ("record", ("dispute.offer_made", {"by": "seller", "amount": 500})),
            ("wait", 1),
            ("record", ("dispute.escalated", {"by": "buyer"})),
            ("wait", 7),
        ],
    ),
)


def _line(orders: Orders, order_id: str) -> str:
    view = orders.show(order_id)
    s, m = view.states, view.money

    def money(minor: int) -> str:
        return format_money(minor, m.currency)

    advice = view.advice[0].text if view.advice else ""
    return (
        f"      states: order={s['order']} parcel={s['parcel']} dispute={s['dispute'] or '-'}\n"
        f"      money:  paid {money(m.paid)}  held {money(m.held)}  released {money(m.released_to_seller)}  "
        f"refunded {money(m.refunded_to_buyer)}\n" + (f"      advice: {advice}\n" if advice else "")
    )


def run(echo: Echo, keep: str | None = None) -> list[dict[str, Any]]:
    """Play every story, print its timeline, and return each order's final `show` JSON."""
    with tempfile.TemporaryDirectory(prefix="parcelfsm-demo-") as tmp:
        path = keep or str(Path(tmp) / "demo.db")
        clock = ManualClock("2026-03-01T10:00:00Z")
        with open_orders(path, clock=clock) as orders:
            for order_id, title, steps in STORIES:
                clock.set("2026-03-01T10:00:00Z")
                echo(f"\n== {order_id}: {title}")
                for kind, arg in steps:
                    if kind == "wait":
                        clock.advance(days=arg)
                        fired = [e for e in orders.advance(clock.now()) if e.stream_id == order_id]
                        if not fired:
                            continue
                        for event in fired:
                            extra = event.data.get("kind") or event.data.get("deadline")
                            echo(f"  {format_time(event.occurred_at)}  (clock) {event.type}  [{extra}]")
                    else:
                        type_name, data = arg
                        orders.record(order_id, type_name, {**DEFAULTS.get(type_name, {}), **data})
                        echo(f"  {format_time(clock.now())}  {type_name}")
                    echo(_line(orders, order_id).rstrip("\n"))
            final = [orders.show(order_id).to_json() for order_id, _, _ in STORIES]
        echo(
            "\nEvery line above is an event in the log; `show --at` rebuilds any instant."
            + (f"\nDatabase kept at {keep}." if keep else "")
        )
    return final
