"""Generate realistic, seeded order histories by driving the real parcelfsm library.

Usage:
    python scripts/simulate.py --orders 2000 --seed 7 --out sim.jsonl
    python scripts/simulate.py --orders 200 --seed 1 --start 2026-01-01 --db sim.db > sim.jsonl
    python scripts/simulate.py --orders 500 --seed 3 --until 2026-03-01 --out snapshot.jsonl

Every order gets a random life planned up front from its own seeded RNG (so the same
`--seed` gives byte-identical output): never shipped (auto-cancel), cancelled by the
buyer or the seller, or shipped — tracked or untracked, to US/RU/BR/other countries —
with a carrier scan sequence (info received, transit, customs arrived/held/cleared/
failed/seized, pickup point, out for delivery, delivered, returning/returned, track
replaced, silence until presumed lost, found again, late-reported and re-delivered
scans). On top of it the buyer and seller act: receipt confirmed, protection left to
auto-complete, extensions, and disputes of every kind (seller accepts, seller silent,
offers and agreements incl. 0, escalation and mediation decision, auto-escalation,
customs disputes with and without the document, withdraw and reopen, withdraw and the
reopen window closes), `dispute.return_shipped`, `refund.received`, complaints. A few
commands are deliberately late or illegal (a seller answering after the timeout, a
reopen after the window, a shipment after the auto-cancel …): the library rejects them
and they are counted.

The plans are then played on one global timeline — a heap of (next action time,
order) — against an `Orders` on a SQLite file with a `ManualClock`: before each
command the clock moves, and every cron tick (`--tick-minutes`, default 60) at which
a deadline is due is run with `advance`, so timed events fire as they would live
(`recorded_at` = the tick). When every plan is done the ticks go on until nothing is
due (or until `--until`). The whole log is written as JSON lines (`export_events()`,
`json.dumps(e.to_json(), sort_keys=True)`) to `--out` (default stdout) and a JSON
summary goes to stderr: orders, events, events by type, accepted / deduplicated /
rejected commands (by type and error; `unexpected_rejections` should stay empty),
ticks, lifecycle paths taken, seconds and orders/s.

`--db` keeps the database (it must be new; default: a temporary file) and
`--synchronous` sets SQLite's mode (default OFF: nothing here needs to survive a
power cut). Throughput is bounded by the library's `record` (a full read and fold of
the stream per command): on a 2-CPU box ~75-130 orders/s (~12 events per order).

Importable: `simulate(n, seed, …)` returns (`SimResult`, counts by type, events); `plan_orders` gives the
plans alone (`scripts/bench.py` uses both).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import heapq
import json
import math
import os
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TextIO

import parcelfsm
from parcelfsm.clock import ManualClock, format_time, parse_time
from parcelfsm.errors import ParcelFsmError
from parcelfsm.money import refund_for
from parcelfsm.policy import Policy
from parcelfsm.tracking import s10_check_digit

DAY: Final = dt.timedelta(days=1)
HOUR: Final = dt.timedelta(hours=1)
MINUTE: Final = dt.timedelta(minutes=1)

OTHER_COUNTRIES: Final = {
    "DE": "EUR",
    "FR": "EUR",
    "ES": "EUR",
    "IT": "EUR",
    "NL": "EUR",
    "PL": "PLN",
    "GB": "GBP",
    "IL": "ILS",
    "CA": "CAD",
    "AU": "AUD",
}
ITEMS: Final = (
    "phone case",
    "usb cable",
    "led strip",
    "watch band",
    "bluetooth earbuds",
    "fishing lure set",
    "sewing kit",
    "kids backpack",
    "drone propellers",
    "car phone holder",
    "yoga mat",
    "ring light",
    "tool set",
    "dress",
    "sneakers",
)
#: raw carrier texts the library's normalizer maps to each status (used for ~1/3 of scans)
TEXTS: Final[dict[str, tuple[str, ...]]] = {
    "no_info": ("Tracking number not available", "Sending is expected"),
    "info_received": ("Shipping information received", "Electronic information submitted"),
    "in_transit": (
        "Departed from sorting center",
        "Arrived at sorting center",
        "Hub processing",
        "Leaving from departure country/region",
        "Arrived at destination country/region",
        "Arrived at the distribution center in place of delivery",
    ),
    "arrived_at_customs": ("Clearing Customs", "Import customs clearance started"),
    "customs_held": ("Held At Customs", "Customs inspection"),
    "customs_cleared": ("Import customs clearance complete", "Released from customs"),
    "customs_failed": ("Customs clearance failed",),
    "seized": ("Seized by customs",),
    "at_pickup_point": ("Arrived at post office", "Available for pickup"),
    "out_for_delivery": ("Out for delivery",),
    "attempt_failed": ("Delivery attempt failed", "Notice left"),
    "delivered": ("Delivered", "Signed for"),
    "returning": ("Returning to sender",),
    "returned": ("Returned to sender",),
    "delivery_canceled": ("Delivery canceled", "Shipment cancelled"),
}
LOCATIONS: Final = ("Shenzhen", "Guangzhou", "Hong Kong", "Leipzig", "Liege", "Moscow", "Sao Paulo", "NYC")
DESCRIPTIONS: Final[dict[str, str]] = {
    "protection_expiring": "Protection is about to expire and the parcel is still on its way.",
    "returned_by_carrier": "The carrier returned the parcel to the seller.",
    "no_tracking_info": "The tracking shows no information for weeks.",
    "customs_duty_too_high": "Customs asks a duty that is too high; I will not pay it.",
    "customs_problem": "The parcel is stuck at customs because of a problem with it.",
    "wrong_address": "The parcel was sent to the wrong address.",
    "delivered_elsewhere": "Tracking says delivered but it went to another city.",
    "empty_parcel": "The parcel arrived empty.",
    "wrong_parcel": "I received someone else's parcel.",
    "not_as_described": "The item is not as described in the listing.",
    "damaged": "The item arrived damaged.",
    "missing_items": "Some items are missing from the parcel.",
}
SELLER_CAUSES: Final = ("no_licence", "no_invoice", "counterfeit", "undervalued")
BUYER_CAUSES: Final = ("prohibited_goods", "unpaid_duty")


@dataclass(frozen=True, slots=True)
class Step:
    """One command of an order's plan: reaches the system at `when`."""

    when: dt.datetime
    type: str
    data: dict[str, Any]
    at: dt.datetime | None = None  # occurred_at when earlier than `when` (carrier time)
    key: str | None = None
    retry: bool = False  # a re-delivered command with the same key: appends nothing
    mistake: bool = False  # deliberately late or illegal: expected to be rejected


@dataclass(slots=True)
class Journey:
    """The carrier side of a shipped parcel, planned before the buyer's side."""

    steps: list[Step] = field(default_factory=list)
    delivered_seen: dt.datetime | None = None  # when the buyer learns it was delivered
    ending: str = "in_flight"  # delivered | lost | returned | seized | held | slow | untracked_lost …


@dataclass(slots=True)
class Cursor:
    """Where a parcel's scan sequence stands: the last carrier time and the tracking number."""

    t: dt.datetime
    number: str


def days(x: float) -> dt.timedelta:
    """`x` days as a timedelta (rounded to the second, so times print without micros)."""
    return dt.timedelta(seconds=round(x * 86_400))


class OrderPlanner:
    """Plans one order's whole life (commands and their times) from its own RNG."""

    def __init__(self, order_id: str, placed_at: dt.datetime, rng: random.Random, policy: Policy) -> None:
        self.oid = order_id
        self.t0 = placed_at
        self.rng = rng
        self.policy = policy
        self.steps: list[Step] = []
        self.path: list[str] = []  # labels of the paths taken (summarized by the driver)
        self.amount = self.shipping = self.item_value = 0

    # -- helpers -------------------------------------------------------------------------

    def u(self, lo: float, hi: float) -> float:
        return self.rng.uniform(lo, hi)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def add(self, when: dt.datetime, type_name: str, data: dict[str, Any] | None = None, **kw: Any) -> None:
        self.steps.append(Step(when, type_name, data or {}, **kw))

    def tracking_number(self) -> str:
        r = self.rng
        if self.chance(0.75):
            serial = f"{r.randrange(10**8):08d}"
            prefix = r.choice(("RB", "RR", "RP", "LA", "UA", "CP", "RS"))
            return f"{prefix}{serial}{s10_check_digit(serial)}CN"
        if self.chance(0.5):
            return f"LP00{r.randrange(10**12):012d}"
        return f"YT{r.randrange(10**16):016d}"

    # -- the plan ------------------------------------------------------------------------

    def plan(self) -> list[Step]:
        """The order's commands, sorted by the time they reach the system."""
        r = self.rng
        country_roll = r.random()
        if country_roll < 0.30:
            country, currency = "US", "USD"
        elif country_roll < 0.50:
            country, currency = "RU", "RUB"
        elif country_roll < 0.65:
            country, currency = "BR", "BRL"
        else:
            country = r.choice(sorted(OTHER_COUNTRIES))
            currency = OTHER_COUNTRIES[country]
        amount = max(99, int(math.exp(r.gauss(7.6, 0.9))))  # minor units, median ~20.00
        shipping = 0 if self.chance(0.4) else r.randint(50, max(50, min(1500, amount // 2)))
        coupon = r.randint(50, max(50, amount // 4)) if self.chance(0.2) else 0
        tracked = self.chance(0.97) if amount >= 800 else self.chance(0.6)
        data: dict[str, Any] = {
            "amount": amount,
            "currency": currency,
            "shipping_cost": shipping,
            "destination_country": country,
            "seller": f"seller-{r.randint(1, 300)}",
            "buyer": f"buyer-{r.randint(1, 5000)}",
            "item": r.choice(ITEMS),
        }
        if coupon:
            data["coupon_discount"] = coupon
        if not tracked:
            data["tracked"] = False
        processing = self.policy.processing_days_default
        if self.chance(0.6):
            processing = r.randint(1, self.policy.processing_days_max)
            data["processing_days"] = processing
        self.amount, self.shipping, self.item_value = amount, shipping, amount + coupon
        self.add(self.t0, "order.placed", data, key=f"{self.oid}:placed")
        if self.chance(0.01):  # the shop's webhook delivers the order twice
            self.add(
                self.t0 + days(self.u(0.001, 0.05)),
                "order.placed",
                data,
                key=f"{self.oid}:placed",
                retry=True,
            )

        roll = r.random()
        if roll < 0.05:
            self.path.append("never_shipped")
            if self.chance(0.15):  # the seller ships after the order was auto-cancelled
                late = self.t0 + days(processing + self.u(0.1, 3))
                self.add(late, "order.shipped", {"tracking_number": self.tracking_number()}, mistake=True)
            return self.finish()
        if roll < 0.10:
            by = "buyer" if self.chance(0.7) else "seller"
            self.path.append(f"cancelled_by_{by}")
            self.add(self.t0 + days(self.u(0.05, processing - 0.05)), "order.cancelled", {"by": by})
            return self.finish()

        ship = self.t0 + days(self.u(0.05, processing - 0.05))
        shipped: dict[str, Any] = {"carrier": r.choice(("China Post", "Cainiao", "YunExpress", "4PX"))}
        number = self.tracking_number() if tracked else None
        if number:
            shipped["tracking_number"] = number
        self.add(ship, "order.shipped", shipped)
        if self.chance(0.01):  # the buyer tries to cancel a shipped order
            self.add(ship + days(self.u(0.2, 3)), "order.cancelled", {"by": "buyer"}, mistake=True)
        journey = self.tracked_journey(ship, number) if number else self.untracked_journey(ship)
        self.path.append(journey.ending)
        self.steps.extend(journey.steps)
        protection_days, _ = self.policy.protection_days(country)
        self.buyer(ship, ship + days(protection_days), journey)
        return self.finish()

    def finish(self) -> list[Step]:
        self.steps.sort(key=lambda s: s.when)  # stable: equal times keep plan order
        return self.steps

    # -- carrier ---------------------------------------------------------------------------

    def tracked_journey(self, ship: dt.datetime, number: str) -> Journey:
        """Scans for a tracked parcel, with their carrier times and report times."""
        r = self.rng
        j = Journey()
        kind = r.choices(
            (
                "courier",
                "pickup",
                "silent_from_start",
                "silent_midway",
                "found_again",
                "customs_failed",
                "seized",
                "held_forever",
                "not_collected",
                "slow",
            ),
            weights=(48, 22, 3, 6, 2, 3, 2, 2, 4, 8),
        )[0]
        j.ending = kind
        cursor = Cursor(ship, number)

        def scan(status: str, gap: float, *, location: bool = True) -> dt.datetime:
            t = cursor.t + days(gap)
            cursor.t = t
            data: dict[str, Any]
            if status in TEXTS and self.chance(0.35):
                data = {"text": r.choice(TEXTS[status])}
            else:
                data = {"status": status}
            if location and self.chance(0.5):
                data["location"] = r.choice(LOCATIONS)
            if self.chance(0.03):
                report = t + days(self.u(1, 4))  # a checkpoint the aggregator delivers days late
            else:
                report = t + dt.timedelta(minutes=r.randint(5, 360))
            key = f"{self.oid}:{cursor.number}:{format_time(t)}:{status}"
            j.steps.append(Step(report, "parcel.scanned", data, at=t, key=key))
            if self.chance(0.02):  # webhook retry of the same checkpoint
                j.steps.append(
                    Step(
                        report + MINUTE * r.randint(1, 90), "parcel.scanned", data, at=t, key=key, retry=True
                    )
                )
            if status == "delivered":
                j.delivered_seen = report
            return t

        if self.chance(0.2):
            scan("no_info", self.u(0.5, 3), location=False)
        if kind == "silent_from_start":
            return j
        first_gap = self.u(10.5, 16) if self.chance(0.05) else self.u(0.3, 4)
        scan("info_received", first_gap)
        scan("in_transit", self.u(0.3, 3))
        if kind == "silent_midway":
            if self.chance(0.5):
                scan("in_transit", self.u(1, 6))
            return j
        if self.chance(0.04):  # the track number is replaced
            scan("delivery_canceled", self.u(0.5, 3))
            new = self.tracking_number()
            replaced_at = cursor.t + days(self.u(0.2, 3))
            j.steps.append(Step(replaced_at, "parcel.track_replaced", {"tracking_number": new}))
            cursor.t, cursor.number = replaced_at, new
            scan("info_received", self.u(1, 6))
            self.path.append("track_replaced")
        slow = kind == "slow"
        for _ in range(r.randint(0, 3)):
            scan("in_transit", self.u(8, 25) if slow else self.u(0.5, 6))
        if kind == "found_again":
            scan("in_transit", self.u(31, 45))  # silence long enough to be presumed lost
            self.path.append("found_again")
        customs_p = {"RU": 0.9, "BR": 0.95, "US": 0.5}.get(self.country_of(), 0.65)
        if kind in ("customs_failed", "seized", "held_forever") or self.chance(customs_p):
            scan("arrived_at_customs", self.u(0.5, 5))
            if kind in ("seized", "held_forever") or self.chance(0.25):
                scan("customs_held", self.u(0.2, 2))
                if kind == "held_forever":
                    if self.chance(0.5):
                        scan("customs_held", self.u(3, 9))  # another notice; the stall clock restarts
                    return j
                if self.chance(0.3):
                    scan("customs_held", self.u(2, 4))
                hold = self.u(1, 9)  # > 5 days: the customs_stalled alert fires
            else:
                hold = self.u(0.2, 3)
            if kind == "seized":
                scan("seized", hold)
                return j
            if kind == "customs_failed":
                scan("customs_failed", hold)
                if self.chance(0.6):
                    scan("returning", self.u(1, 5))
                if self.chance(0.8):
                    scan("returned", self.u(10, 28))
                return j
            scan("customs_cleared", hold)
        for _ in range(r.randint(0, 2)):
            scan("in_transit", self.u(6, 20) if slow else self.u(0.5, 3))
        if kind == "not_collected":
            t = scan("at_pickup_point", self.u(0.5, 3))
            if self.chance(0.5):
                scan("at_pickup_point", self.u(5, 12))  # second notice: the pickup clock runs on
            # pickup_expires fires at t + 30 d (parcel.return_started); then the return trip
            cursor.t = t + days(self.policy.pickup_days)
            if self.chance(0.7):
                scan("returning", self.u(0.5, 3))
                if self.chance(0.7):
                    scan("returned", self.u(8, 25))
            return j
        if kind == "pickup" or (slow and self.chance(0.4)):
            scan("at_pickup_point", self.u(0.5, 3))
            if self.chance(0.2):
                scan("at_pickup_point", self.u(3, 8))
            scan("delivered", self.u(0.2, 12), location=False)
            return j
        scan("out_for_delivery", self.u(0.5, 3))
        if self.chance(0.1):
            scan("attempt_failed", self.u(0.1, 0.4))
            if self.chance(0.5):
                scan("at_pickup_point", self.u(0.2, 1))
                scan("delivered", self.u(0.5, 10), location=False)
                return j
            scan("out_for_delivery", self.u(0.6, 1.2))
        scan("delivered", self.u(0.05, 0.4), location=False)
        return j

    def untracked_journey(self, ship: dt.datetime) -> Journey:
        """No scans at all: the buyer just receives it (or not)."""
        j = Journey()
        if self.chance(0.85):
            j.delivered_seen = ship + days(self.u(10, 50))
            j.ending = "untracked_delivered"
        else:
            j.ending = "untracked_lost"
        return j

    def country_of(self) -> str:
        return str(self.steps[0].data["destination_country"])

    # -- buyer and seller ------------------------------------------------------------------

    def buyer(self, ship: dt.datetime, end: dt.datetime, j: Journey) -> None:
        """What the buyer does given the parcel's journey and the protection end."""
        r = self.rng
        extensions = 0
        seen = j.delivered_seen
        while seen is None or seen > end - DAY:
            # protection runs out before the parcel is (known to be) delivered
            roll = r.random()
            if extensions < 2 and roll < 0.25:
                at = end - days(self.u(1, 4.5))
                extra = r.randint(10, 30)
                self.add(at, "protection.extended", {"days": extra, "by": r.choice(("buyer", "seller"))})
                end += days(extra)
                extensions += 1
                self.path.append("extended")
                continue
            if roll < 0.85:
                opened = end - days(self.u(0.3, 4.8))
                reason, cause = self.undelivered_reason(j.ending)
                self.dispute(opened, reason, cause, goods_received=False, protection_end=end)
                return
            self.path.append("auto_completed")
            if self.chance(0.5):
                when = end + days(self.policy.dispute_window_days + self.u(1, 20))
                self.add(
                    when, "complaint.filed", {"text": "The parcel never arrived and no dispute is possible."}
                )
                self.path.append("complaint")
            return
        choice = r.choices(
            (
                "confirm",
                "silent",
                "dispute",
                "confirm_then_dispute",
                "auto_then_dispute",
                "confirm_then_complaint",
            ),
            weights=(45, 22, 15, 6, 3, 3),
        )[0]
        window = days(self.policy.dispute_window_days)
        if choice == "silent":
            self.path.append("auto_completed")
            return
        if choice == "auto_then_dispute":
            self.path.append("auto_completed")
            reason, cause = self.delivered_reason()
            self.dispute(end + days(self.u(0.5, 14)), reason, cause, goods_received=True, protection_end=None)
            return
        if choice == "dispute":
            opened = min(seen + days(self.u(0.3, 10)), end - days(self.u(0.2, 0.9)))
            reason, cause = self.delivered_reason()
            self.dispute(opened, reason, cause, goods_received=True, protection_end=end)
            return
        confirmed = min(seen + days(self.u(0.05, 10)), end - days(self.u(0.1, 0.9)))
        self.add(confirmed, "order.receipt_confirmed")
        self.path.append("receipt_confirmed")
        if self.chance(0.01):  # the buyer presses the button twice
            self.add(confirmed + MINUTE * r.randint(1, 600), "order.receipt_confirmed", mistake=True)
        if choice == "confirm_then_dispute":
            reason, cause = self.delivered_reason()
            self.dispute(
                confirmed + days(self.u(0.5, 14)), reason, cause, goods_received=True, protection_end=None
            )
        elif choice == "confirm_then_complaint":
            when = confirmed + window + days(self.u(1, 20))
            self.add(when, "complaint.filed", {"text": "The item broke after a month."})
            self.path.append("complaint")

    def undelivered_reason(self, ending: str) -> tuple[str, str | None]:
        r = self.rng
        if ending in ("silent_from_start",):
            return r.choice(("no_tracking_info", "protection_expiring")), None
        if ending in ("silent_midway", "untracked_lost"):
            return r.choice(("no_tracking_info", "protection_expiring")), None
        if ending in ("customs_failed", "held_forever"):
            if self.chance(0.3):
                return "customs_duty_too_high", None if self.chance(0.5) else r.choice(BUYER_CAUSES)
            return "customs_problem", r.choice(SELLER_CAUSES + BUYER_CAUSES)
        if ending == "seized":
            return "customs_problem", r.choice(("prohibited_goods", "counterfeit", "no_licence"))
        if ending == "not_collected":
            return "returned_by_carrier", None
        return "protection_expiring", None

    def delivered_reason(self) -> tuple[str, None]:
        reason = self.rng.choices(
            (
                "not_as_described",
                "damaged",
                "missing_items",
                "empty_parcel",
                "wrong_parcel",
                "wrong_address",
                "delivered_elsewhere",
            ),
            weights=(30, 25, 15, 6, 6, 8, 10),
        )[0]
        return reason, None

    def refund(self, asked: int, shipping: int = 0) -> int:
        return refund_for(asked, amount=self.amount, item_value=self.item_value, shipping=shipping)

    def dispute(
        self,
        opened: dt.datetime,
        reason: str,
        cause: str | None,
        *,
        goods_received: bool,
        protection_end: dt.datetime | None,
    ) -> None:
        """Open a dispute at `opened` and plan how it goes (one of the paths below)."""
        r = self.rng
        customs = reason in ("customs_duty_too_high", "customs_problem")
        partial = reason in ("damaged", "missing_items", "not_as_described") and self.chance(0.4)
        asked = max(1, int(self.item_value * self.u(0.2, 0.95))) if partial else self.item_value
        solution = (
            "return_and_refund"
            if reason in ("not_as_described", "damaged", "wrong_parcel") and self.chance(0.4)
            else "refund_only"
        )
        data: dict[str, Any] = {
            "solution": solution,
            "goods_received": goods_received,
            "reason": reason,
            "amount": asked,
            "description": DESCRIPTIONS[reason],
        }
        if cause:
            data["cause"] = cause
        if self.chance(0.7):
            data["evidence"] = r.sample(
                ["tracking.png", "photo-1.jpg", "photo-2.jpg", "unboxing.mp4"], r.randint(1, 3)
            )
        self.add(opened, "dispute.opened", data)
        self.path.append("dispute:" + reason)
        remaining = protection_end - opened if protection_end is not None else None
        if customs:
            weights = {
                "accept": 10,
                "silent": 5,
                "agree": 10,
                "customs_doc": 45,
                "customs_missing": 25,
                "withdraw": 5,
            }
        else:
            weights = {
                "accept": 20,
                "silent": 13,
                "agree": 22,
                "escalate": 15,
                "auto_escalate": 8,
                "withdraw": 12,
                "withdraw_closed": 10,
            }
        path = r.choices(list(weights), weights=list(weights.values()))[0]
        if remaining is not None and self.chance(0.06) and path not in ("withdraw", "withdraw_closed"):
            # an extension agreed while the dispute runs: adds to the paused remainder
            self.add(
                opened + days(self.u(0.01, 0.09)),
                "protection.extended",
                {"days": r.randint(5, 15), "by": "seller"},
            )
            self.path.append("extended_in_dispute")
        if path == "withdraw_closed":
            withdrawn = opened + days(self.u(0.2, 4.5))
            self.add(withdrawn, "dispute.withdrawn")
            self.path.append("d:withdraw_closed")
            if self.chance(0.3):  # the buyer comes back too late
                late = withdrawn + days(self.policy.reopen_days + self.u(0.2, 10))
                self.add(late, "dispute.reopened", mistake=True)
            return
        if path == "withdraw":
            withdrawn = opened + days(self.u(0.2, 4.5))
            self.add(withdrawn, "dispute.withdrawn")
            reopened = withdrawn + days(self.u(0.5, self.policy.reopen_days - 0.5))
            self.add(reopened, "dispute.reopened")
            self.path.append("d:withdraw_reopen")
            options = (
                ("customs_doc", "customs_missing", "accept")
                if customs
                else ("accept", "silent", "agree", "escalate")
            )
            path = r.choice(options)
            opened = reopened
        self.path.append("d:" + path)
        self.resolve(path, opened, asked, solution, cause, customs)

    def resolve(
        self, path: str, opened: dt.datetime, asked: int, solution: str, cause: str | None, customs: bool
    ) -> None:
        """Plan the rest of a dispute (seller answer, offers, escalation, decision, refund)."""
        r = self.rng
        p = self.policy
        seller_window = p.seller_response_days
        resolved: dt.datetime | None = None
        refund = 0
        if path == "accept":
            resolved = opened + days(self.u(0.1, seller_window - 0.3))
            self.add(resolved, "dispute.seller_accepted")
            refund = self.refund(asked)
        elif path == "silent":
            resolved = opened + days(seller_window)
            refund = self.refund(asked)
            if self.chance(0.2):  # the seller answers after the timeout
                self.add(resolved + days(self.u(0.3, 3)), "dispute.seller_accepted", mistake=True)
        elif path == "agree":
            offer_at = opened + days(self.u(0.1, seller_window - 0.3))
            offer = 0 if self.chance(0.12) else int(asked * self.u(0.2, 0.9))
            self.add(
                offer_at,
                "dispute.offer_made",
                {"by": "seller", "amount": offer, "evidence": ["photo-seller.jpg"]},
            )
            if self.chance(0.6):
                resolved = offer_at + days(self.u(0.1, 4))
                self.add(resolved, "dispute.offer_accepted", {"by": "buyer"})
                refund = self.refund(offer)
            else:
                counter_at = offer_at + days(self.u(0.1, 3))
                counter = r.randint(offer, asked)
                self.add(counter_at, "dispute.offer_made", {"by": "buyer", "amount": counter})
                resolved = counter_at + days(self.u(0.1, 3))
                if self.chance(0.5):
                    self.add(resolved, "dispute.offer_accepted", {"by": "seller"})
                else:
                    self.add(resolved, "dispute.seller_accepted")
                refund = self.refund(counter)
        elif path in ("escalate", "auto_escalate", "customs_doc", "customs_missing"):
            start = opened
            auto = path == "auto_escalate" or (path == "customs_doc" and self.chance(0.3))
            if auto or self.chance(0.7):
                start = opened + days(self.u(0.1, seller_window - 0.3))
                offer = int(asked * self.u(0.0, 0.6))
                self.add(start, "dispute.offer_made", {"by": "seller", "amount": offer})
                if self.chance(0.4):
                    start += days(self.u(0.1, 2))
                    self.add(start, "dispute.offer_made", {"by": "buyer", "amount": r.randint(offer, asked)})
            if auto:
                escalated = opened + days(p.mediation_after_days)  # dispute.auto_escalated
            else:
                limit = seller_window - 0.2 if start == opened else 3
                escalated = start + days(self.u(0.1, limit))
                self.add(escalated, "dispute.escalated", {"by": "buyer" if self.chance(0.8) else "seller"})
            if path == "customs_missing":
                resolved = escalated + days(p.customs_document_days)  # customs_document_missed
                refund = self.refund(asked, self.shipping)
            elif path == "customs_doc":
                doc_at = escalated + days(self.u(0.2, p.customs_document_days - 0.3))
                self.add(doc_at, "dispute.customs_document_provided", {"document": "customs-letter.pdf"})
                resolved = doc_at + days(self.u(0.3, 6))
                decision: dict[str, Any] = {}
                fault = None
                if cause is None or self.chance(0.3):
                    fault = r.choice(("seller", "buyer", "none"))
                    decision["fault"] = fault
                elif cause in SELLER_CAUSES:
                    fault = "seller"
                else:
                    fault = "buyer"
                self.add(resolved, "dispute.decided", decision)
                refund = (
                    0 if fault == "none" else self.refund(asked, self.shipping if fault == "buyer" else 0)
                )
            else:
                resolved = escalated + days(self.u(0.5, 11))  # > 7 days: mediation_overdue alert
                refund_amount = r.choice((0, asked, int(asked * self.u(0.3, 0.9))))
                self.add(
                    resolved,
                    "dispute.decided",
                    {"refund_amount": refund_amount, "fault": r.choice(("seller", "buyer", "none"))},
                )
                refund = self.refund(refund_amount)
        else:  # pragma: no cover - every path is handled above
            raise AssertionError(path)
        if resolved is None:
            return
        if solution == "return_and_refund" and self.chance(0.7):
            self.add(
                resolved + days(self.u(0.2, 4)),
                "dispute.return_shipped",
                {"tracking_number": self.tracking_number()},
            )
        if refund > 0:
            roll = r.random()
            if roll < 0.8:
                self.add(resolved + days(self.u(2, 14)), "refund.received")
            elif roll < 0.9:  # late: refund_overdue fires first
                self.add(resolved + days(self.u(16, 25)), "refund.received")
        elif self.chance(0.2):
            self.add(
                resolved + days(self.u(1, 10)), "complaint.filed", {"text": "The mediators gave me nothing."}
            )
            self.path.append("complaint")


# -- the driver --------------------------------------------------------------------------


def order_id(prefix: str, index: int) -> str:
    return f"{prefix}{index:06d}"


def plan_orders(
    n: int,
    seed: int,
    start: dt.datetime,
    *,
    spread_days: float = 30.0,
    prefix: str = "o-",
    policy: Policy | None = None,
    paths: Counter[str] | None = None,
) -> list[list[Step]]:
    """Plans for `n` orders placed over `spread_days` (Poisson arrivals), one RNG each.

    `paths`, when given, counts the labels of the lifecycle paths the plans took.
    """
    policy = policy or Policy.default()
    arrivals = random.Random(f"arrivals:{seed}")
    mean_gap = spread_days * 86_400 / max(n, 1)
    t = start
    plans: list[list[Step]] = []
    for i in range(n):
        t += dt.timedelta(seconds=max(1, round(arrivals.expovariate(1 / mean_gap))))
        rng = random.Random(f"order:{seed}:{i}")
        planner = OrderPlanner(order_id(prefix, i), t, rng, policy)
        plans.append(planner.plan())
        if paths is not None:
            paths.update(planner.path)
    return plans


@dataclass(slots=True)
class SimResult:
    """What a simulation did (the stderr summary is `to_json()`)."""

    orders: int = 0
    commands: int = 0
    retries: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    unexpected_rejections: Counter[str] = field(default_factory=Counter)
    mistakes_accepted: int = 0
    ticks: int = 0
    fired: int = 0
    end: dt.datetime | None = None
    seconds: float = 0.0
    play_seconds: float = 0.0
    paths: Counter[str] = field(default_factory=Counter)

    def to_json(self) -> dict[str, Any]:
        return {
            "orders": self.orders,
            "commands_accepted": self.commands,
            "retries_deduplicated": self.retries,
            "rejected": sum(self.rejected.values()),
            "rejected_by": dict(sorted(self.rejected.items())),
            "unexpected_rejections": dict(sorted(self.unexpected_rejections.items())),
            "mistakes_accepted": self.mistakes_accepted,
            "ticks": self.ticks,
            "timed_events_fired_by_ticks": self.fired,
            "end": format_time(self.end) if self.end else None,
            "paths": dict(sorted(self.paths.items())),
        }


class Ticker:
    """The cron: runs `advance` at every tick boundary where something is due."""

    def __init__(
        self, orders: parcelfsm.Orders, clock: ManualClock, origin: dt.datetime, tick: dt.timedelta
    ) -> None:
        self.orders, self.clock, self.origin, self.tick = orders, clock, origin, tick

    def boundary(self, when: dt.datetime) -> dt.datetime:
        """The first tick at or after `when`."""
        n = math.ceil((when - self.origin) / self.tick)
        return self.origin + n * self.tick

    def run_until(self, limit: dt.datetime | None, result: SimResult) -> None:
        """Run every tick ≤ `limit` at which a deadline is due (all of them when `limit` is None)."""
        last: tuple[str, dt.datetime] | None = None
        while True:
            due = self.orders.due(before=limit, limit=1)
            if not due or due[0].due_at is None:
                return
            # the cron's next run at or after both the due time and now
            tick = self.boundary(max(due[0].due_at, self.clock.now()))
            if limit is not None and tick > limit:
                return
            marker = (due[0].order_id, due[0].due_at)
            if marker == last:  # advance fired nothing for a due deadline: do not spin
                raise RuntimeError(f"advance({format_time(tick)}) left {marker} due")
            last = marker
            self.clock.set(tick)
            fired = self.orders.advance(tick)
            result.ticks += 1
            result.fired += len(fired)


def simulate(
    n: int,
    seed: int,
    *,
    start: dt.datetime | str = "2026-01-01",
    db: str | None = None,
    synchronous: str = "OFF",
    spread_days: float = 30.0,
    tick_minutes: int = 60,
    until: dt.datetime | str | None = None,
    prefix: str = "o-",
    out: TextIO | None = None,
) -> tuple[SimResult, Counter[str], int]:
    """Plan and play `n` orders; write the log to `out`. Returns (result, counts by type, events)."""
    begin = time.perf_counter()
    origin = parse_time(start) if isinstance(start, str) else start
    stop = (parse_time(until) if isinstance(until, str) else until) if until is not None else None
    tmp: tempfile.TemporaryDirectory[str] | None = None
    if db is None:
        tmp = tempfile.TemporaryDirectory(prefix="parcelfsm-sim-")
        db = os.path.join(tmp.name, "sim.db")
    clock = ManualClock(origin)
    orders = parcelfsm.open(db, clock=clock, synchronous=synchronous)
    try:
        if orders.store.count_streams():
            raise SystemExit(f"simulate: {db} already holds events; give a new --db")
        paths: Counter[str] = Counter()
        plans = plan_orders(n, seed, origin, spread_days=spread_days, prefix=prefix, paths=paths)
        played = time.perf_counter()
        result = play(orders, clock, plans, origin, dt.timedelta(minutes=tick_minutes), stop, prefix)
        result.play_seconds = time.perf_counter() - played
        result.orders, result.paths = n, paths
        counts: Counter[str] = Counter()
        events = 0
        for event in orders.export_events():
            counts[event.type] += 1
            events += 1
            if out is not None:
                out.write(json.dumps(event.to_json(), sort_keys=True))
                out.write("\n")
        result.seconds = time.perf_counter() - begin
        return result, counts, events
    finally:
        orders.close()
        if tmp is not None:
            tmp.cleanup()


def play(
    orders: parcelfsm.Orders,
    clock: ManualClock,
    plans: list[list[Step]],
    origin: dt.datetime,
    tick: dt.timedelta,
    stop: dt.datetime | None,
    prefix: str,
) -> SimResult:
    """Play the plans on one timeline: a heap of (next action time, order, step)."""
    result = SimResult()
    ticker = Ticker(orders, clock, origin, tick)
    heap: list[tuple[dt.datetime, int, int]] = [(p[0].when, i, 0) for i, p in enumerate(plans) if p]
    heapq.heapify(heap)
    while heap:
        when, i, k = heapq.heappop(heap)
        if stop is not None and when > stop:
            break
        # ticks strictly before the command (a tick at the same instant runs after it)
        ticker.run_until(when - dt.timedelta(microseconds=1), result)
        clock.set(when)
        step = plans[i][k]
        try:
            orders.record(order_id(prefix, i), step.type, step.data, key=step.key, at=step.at)
        except ParcelFsmError as exc:
            label = f"{step.type}: {exc.type}"
            result.rejected[label] += 1
            if not step.mistake:
                result.unexpected_rejections[label] += 1
        else:
            if step.retry:
                result.retries += 1
            elif step.mistake:
                result.mistakes_accepted += 1
            else:
                result.commands += 1
        if k + 1 < len(plans[i]):
            heapq.heappush(heap, (plans[i][k + 1].when, i, k + 1))
    ticker.run_until(stop, result)
    if stop is not None and clock.now() < stop:
        clock.set(stop)
    result.end = clock.now()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1000, help="number of orders (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (same seed, same bytes)")
    parser.add_argument("--out", default="-", help="JSON lines file (default: stdout)")
    parser.add_argument("--start", default="2026-01-01", help="first instant (ISO 8601 or a date)")
    parser.add_argument("--db", default=None, help="SQLite file to build (default: a temporary one)")
    parser.add_argument("--days", type=float, default=30.0, help="orders are placed over this many days")
    parser.add_argument("--tick-minutes", type=int, default=60, help="cron period of `advance` (default 60)")
    parser.add_argument("--until", default=None, help="stop the world at this instant (default: run out)")
    parser.add_argument("--prefix", default="o-", help="order id prefix (default o-)")
    parser.add_argument("--synchronous", default="OFF", help="SQLite synchronous mode (default OFF)")
    args = parser.parse_args(argv)
    if args.orders < 0 or args.tick_minutes < 1:
        parser.error("--orders must be >= 0 and --tick-minutes >= 1")
    with contextlib.ExitStack() as stack:
        handle: TextIO = (
            sys.stdout
            if args.out == "-"
            else stack.enter_context(Path(args.out).open("w", encoding="utf-8", newline="\n"))
        )
        result, counts, events = simulate(
            args.orders,
            args.seed,
            start=args.start,
            db=args.db,
            synchronous=args.synchronous,
            spread_days=args.days,
            tick_minutes=args.tick_minutes,
            until=args.until,
            prefix=args.prefix,
            out=handle,
        )
    summary = {
        "seed": args.seed,
        "start": args.start,
        **result.to_json(),
        "events": events,
        "by_type": dict(sorted(counts.items())),
        "seconds": round(result.seconds, 3),
        "seconds_playing": round(result.play_seconds, 3),
        "orders_per_s": round(result.orders / result.seconds, 1) if result.seconds else None,
        "events_per_s": round(events / result.seconds, 1) if result.seconds else None,
    }
    print(json.dumps(summary, indent=2), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
