"""Deadlines as derived data: (state + policy) → the open deadlines.

`RULES` is the deadline table (docs/rules.md), one row per kind, in the table's order
(which breaks ties between equal due times). Each row's `derive` reads the state's
anchors and returns the deadline while its arming condition holds; a deadline whose
condition no longer holds simply is not there (it is dropped, not fired). A deadline
that already fired for a due time is not open again until its due time moves; an
alert is active while the deadline that raised it would still be due at that time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Final

import attrs

from parcelfsm.clock import DAY, format_time
from parcelfsm.machines.parcel import FINALS as PARCEL_FINALS
from parcelfsm.machines.parcel import LOSABLE
from parcelfsm.state import Anchor, OrderState


@attrs.frozen
class Deadline:
    """One open deadline of one order."""

    order_id: str
    kind: str
    due_at: dt.datetime | None
    rule: str
    set_by_version: int | None
    on_expiry: str
    paused: bool = False
    remaining: dt.timedelta | None = None

    @property
    def alert(self) -> str | None:
        """The alert kind this deadline raises (`alert.raised`), from the deadline table."""
        return ALERT_OF.get(self.kind)

    @property
    def identity(self) -> tuple[dt.datetime | None, int | None]:
        """What makes one arming of a deadline: its due time and the event that set it.

        A deadline that fired is not open again until either changes (a new scan at the
        same carrier time re-arms `presumed_lost`; an extension re-arms the reminder).
        """
        return (self.due_at, self.set_by_version)

    @property
    def rank(self) -> int:
        """Row of the deadline table (tie-break for equal due times)."""
        return RANK[self.kind]

    def to_json(self) -> dict[str, Any]:
        """The CLI / API form (`show --json` `deadlines` entries)."""
        out: dict[str, Any] = {
            "order_id": self.order_id,
            "kind": self.kind,
            "due_at": format_time(self.due_at) if self.due_at else None,
            "rule": self.rule,
            "set_by_version": self.set_by_version,
            "on_expiry": self.on_expiry,
            "paused": self.paused,
        }
        if self.alert:
            out["alert"] = self.alert
        if self.paused and self.remaining is not None:
            out["remaining_s"] = int(self.remaining.total_seconds())
        return out


Derive = Callable[[OrderState], Deadline | None]


@attrs.frozen
class Rule:
    """A row of the deadline table."""

    kind: str
    on_expiry: str
    derive: Derive
    alert: str | None = None


def _at(s: OrderState, kind: str, anchor: Anchor | None, key: str, expiry: str) -> Deadline | None:
    if anchor is None:
        return None
    days = s.policy.days(key)
    return Deadline(s.order_id, kind, anchor.at + days * DAY, s.policy.rule(key), anchor.version, expiry)


def _ship_by(s: OrderState) -> Deadline | None:
    if s.order != "awaiting_shipment":
        return None
    due = s.placed.at + s.processing_days * DAY
    return Deadline(s.order_id, "ship_by", due, s.processing_rule, s.placed.version, "order.auto_cancelled")


def _protection(s: OrderState, kind: str, before: int, rule: str, expiry: str) -> Deadline | None:
    version = s.protection_set.version if s.protection_set else None
    offset = before * DAY
    if s.order == "awaiting_delivery" and s.protection_end is not None:
        due = s.protection_end - offset
        if s.protection_set is not None:  # a reminder is never due before what armed it
            due = max(due, s.protection_set.at)
        return Deadline(s.order_id, kind, due, rule, version, expiry)
    if s.order == "frozen" and s.protection_remaining is not None:
        left = max(s.protection_remaining - offset, dt.timedelta(0))
        return Deadline(s.order_id, kind, None, rule, version, expiry, paused=True, remaining=left)
    return None


def _protection_ends(s: OrderState) -> Deadline | None:
    return _protection(s, "protection_ends", 0, s.protection_rule, "order.auto_completed")


def _protection_reminder(s: OrderState) -> Deadline | None:
    if s.parcel == "delivered":
        return None
    key = "protection.reminder_days"
    return _protection(s, "protection_reminder", s.policy.days(key), s.policy.rule(key), "alert.raised")


def _dispute_window(s: OrderState) -> Deadline | None:
    if s.order != "finished" or s.dispute_state != "none" or s.window_closed:
        return None
    return _at(s, "dispute_window", s.window, "dispute.window_days", "order.dispute_window_closed")


def _parcel_moving(s: OrderState) -> bool:
    return s.parcel not in PARCEL_FINALS and s.parcel not in ("not_shipped", "lost")


def _first_info(s: OrderState) -> Deadline | None:
    if not s.tracked or s.scanned_since_track or not _parcel_moving(s):
        return None
    return _at(s, "first_info", s.track, "parcel.first_info_days", "alert.raised")


def _no_news(s: OrderState) -> Deadline | None:
    if not s.tracked or s.scanned_since_track or not _parcel_moving(s):
        return None
    return _at(s, "no_news", s.track, "parcel.no_news_days", "alert.raised")


#: a parcel the destination's customs has is not lost: its whereabouts are known and
#: it may stay there indefinitely ("Order Returned to Sender" in How AliExpress Orders
#: Are Cleared For Customs); `customs_stall` watches it instead
NOT_LOST_AT: Final = frozenset({"at_customs", "held_at_customs"})


def _presumed_lost(s: OrderState) -> Deadline | None:
    if s.parcel not in LOSABLE or (s.parcel in NOT_LOST_AT and not s.legacy_customs):
        return None
    # Untracked parcels count 90 days from shipment; a scan that arrives anyway restarts
    # the count like any scan does (every scan except no_info restarts it).
    key = "parcel.silent_lost_days" if s.tracked else "parcel.untracked_lost_days"
    return _at(s, "presumed_lost", s.lost_anchor, key, "parcel.presumed_lost")


def _customs_stall(s: OrderState) -> Deadline | None:
    # Counted from the latest customs scan that brought news (the fold moves
    # `customs_anchor` only then): an identical repeat restarts nothing.
    if s.parcel not in NOT_LOST_AT:
        return None
    return _at(s, "customs_stall", s.customs_anchor, "parcel.customs_stall_days", "alert.raised")


def _pickup_expires(s: OrderState) -> Deadline | None:
    if s.parcel != "at_pickup_point":
        return None
    return _at(s, "pickup_expires", s.pickup_anchor, "parcel.pickup_days", "parcel.return_started")


def _seller_response(s: OrderState) -> Deadline | None:
    if s.dispute is None or s.dispute_state != "awaiting_seller":
        return None
    key = "dispute.seller_response_days"
    return _at(s, "seller_response", s.dispute.round, key, "dispute.seller_timed_out")


def _mediation_date(s: OrderState) -> Deadline | None:
    if s.dispute is None or s.dispute_state not in ("awaiting_seller", "negotiating"):
        return None
    key = "dispute.mediation_after_days"
    return _at(s, "mediation_date", s.dispute.round, key, "dispute.auto_escalated")


def _customs_document(s: OrderState) -> Deadline | None:
    d = s.dispute
    if d is None or s.dispute_state != "escalated" or not d.is_customs or d.document:
        return None
    key = "dispute.customs_document_days"
    return _at(s, "customs_document", d.escalated, key, "dispute.customs_document_missed")


def _mediation_overdue(s: OrderState) -> Deadline | None:
    if s.dispute is None or s.dispute_state != "escalated":
        return None
    key = "dispute.mediation_overdue_days"
    return _at(s, "mediation_overdue", s.dispute.escalated, key, "alert.raised")


def _reopen_window(s: OrderState) -> Deadline | None:
    if s.dispute is None or s.dispute_state != "withdrawn":
        return None
    key = "dispute.reopen_days"
    return _at(s, "reopen_window", s.dispute.withdrawn, key, "dispute.reopen_window_closed")


def _refund_overdue(s: OrderState) -> Deadline | None:
    d = s.dispute
    if d is None or d.outcome is None or d.outcome.refund <= 0 or d.refund_received:
        return None
    return _at(s, "refund_overdue", d.resolved, "refund.overdue_days", "alert.raised")


RULES: Final[tuple[Rule, ...]] = (
    Rule("ship_by", "order.auto_cancelled", _ship_by),
    Rule("protection_ends", "order.auto_completed", _protection_ends),
    Rule("protection_reminder", "alert.raised", _protection_reminder, "protection_ending"),
    Rule("dispute_window", "order.dispute_window_closed", _dispute_window),
    Rule("first_info", "alert.raised", _first_info, "no_first_info"),
    Rule("no_news", "alert.raised", _no_news, "no_news"),
    Rule("presumed_lost", "parcel.presumed_lost", _presumed_lost),
    Rule("customs_stall", "alert.raised", _customs_stall, "customs_stalled"),
    Rule("pickup_expires", "parcel.return_started", _pickup_expires),
    Rule("seller_response", "dispute.seller_timed_out", _seller_response),
    Rule("mediation_date", "dispute.auto_escalated", _mediation_date),
    Rule("customs_document", "dispute.customs_document_missed", _customs_document),
    Rule("mediation_overdue", "alert.raised", _mediation_overdue, "mediation_overdue"),
    Rule("reopen_window", "dispute.reopen_window_closed", _reopen_window),
    Rule("refund_overdue", "alert.raised", _refund_overdue, "refund_overdue"),
)
RANK: Final = {rule.kind: i for i, rule in enumerate(RULES)}
KINDS: Final = tuple(rule.kind for rule in RULES)
BY_KIND: Final = {rule.kind: rule for rule in RULES}
ALERT_OF: Final = {rule.kind: rule.alert for rule in RULES if rule.alert}
EXPIRY_OF: Final = {rule.kind: rule.on_expiry for rule in RULES}


def derive(state: OrderState, kind: str) -> Deadline | None:
    """The deadline of `kind` as the state arms it now (fired or not), if armed."""
    rule = BY_KIND.get(kind)
    return rule.derive(state) if rule else None


def open_deadlines(state: OrderState) -> list[Deadline]:
    """The open deadlines, in firing order: (due_at, table row, set_by_version).

    Paused deadlines come last (they have no due time while paused).
    """
    out: list[Deadline] = []
    for rule in RULES:
        deadline = rule.derive(state)
        if deadline is None:
            continue
        if not deadline.paused and state.fired.get(rule.kind) == deadline.identity:
            continue
        out.append(deadline)
    out.sort(key=firing_key)
    return out


_FAR: Final = dt.datetime.max.replace(tzinfo=dt.UTC)


def firing_key(d: Deadline) -> tuple[dt.datetime, int, int]:
    """Firing order (docs/rules.md); paused deadlines sort last."""
    return (d.due_at or _FAR, RANK[d.kind], d.set_by_version or 0)


def next_due(state: OrderState, until: dt.datetime) -> Deadline | None:
    """The first deadline that fires at or before `until`, if any."""
    first = next(iter(open_deadlines(state)), None)
    if first is None or first.paused or first.due_at is None or first.due_at > until:
        return None
    return first


def active_alerts(state: OrderState) -> list[str]:
    """Alerts raised whose condition still holds (docs/rules.md "Reading at an instant")."""
    out: list[str] = []
    for rule in RULES:
        if rule.alert is None or rule.kind not in state.fired:
            continue
        deadline = rule.derive(state)
        if deadline is not None and not deadline.paused and deadline.identity == state.fired[rule.kind]:
            out.append(rule.alert)
    return out
