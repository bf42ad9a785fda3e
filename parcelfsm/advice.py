"""What the buyer should do now and by when, derived from state and deadlines.

Pure: takes the folded state and its open deadlines, never a store. Each line cites
the rule it comes from (a policy key, or a rule of docs/rules.md), in the articles' own
advice:
wait; contact the seller; check whether the track number changed; extend protection;
open a dispute with reason X before D; provide the customs document by D; reopen
until D; complaint only.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from parcelfsm.clock import format_time
from parcelfsm.deadlines import Deadline
from parcelfsm.fold import can_open_dispute
from parcelfsm.money_format import format_money
from parcelfsm.state import OrderState


@attrs.frozen
class Advice:
    """One piece of advice: what to do, by when, and the rule behind it."""

    text: str
    by: dt.datetime | None
    rule: str

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "by": format_time(self.by) if self.by else None,
            "rule": self.rule,
        }


def _dispute_reason(s: OrderState) -> str:
    if s.parcel == "seized" or s.customs_issue is not None:
        return "customs_problem"
    if s.parcel in ("returning", "returned"):
        return "returned_by_carrier"
    if s.parcel == "lost":
        return "no_tracking_info"
    return "protection_expiring"


def advise(
    s: OrderState, deadlines: list[Deadline], alerts: list[str], now: dt.datetime | None = None
) -> list[Advice]:
    """The advice for an order at the instant its state and deadlines describe.

    `now` is that instant (dates the customs-document advice counts from); without it,
    the order's latest event time.
    """
    by = {d.kind: d for d in deadlines}
    out: list[Advice] = []

    def add(text: str, kind: str | None = None, rule: str = "") -> None:
        d = by.get(kind) if kind else None
        out.append(Advice(text, d.due_at if d else None, rule or (d.rule if d else "")))

    dispute = s.dispute
    if s.order == "awaiting_shipment":
        add(
            "Wait for the seller to ship. If it is not shipped in time the order is cancelled "
            "and the money refunded automatically.",
            "ship_by",
        )
    elif s.order == "cancelled":
        add(
            "The order was cancelled; the full amount goes back to where you paid from.",
            rule="rules: a cancelled order is refunded in full",
        )
    if dispute is not None and s.dispute_state == "awaiting_seller":
        add(
            "The seller must accept or propose a solution; if the seller stays silent you win "
            "the amount asked automatically.",
            "seller_response",
        )
    elif s.dispute_state == "negotiating":
        add(
            "Negotiate with the seller: accept the offer or counter it. Mediators step in "
            "automatically on the mediation date.",
            "mediation_date",
        )
    elif s.dispute_state == "escalated":
        if "customs_document" in by:
            add(
                "Provide the official customs document, or the shipping cost is deducted from your refund.",
                "customs_document",
            )
        add("Mediators are deciding the dispute; wait for their decision.", "mediation_overdue")
    elif s.dispute_state == "withdrawn":
        add("You withdrew the dispute; you can still reopen it.", "reopen_window")
    elif dispute is not None and dispute.outcome is not None:
        if "refund_overdue" in alerts:
            add(
                "The refund is overdue: contact the platform's payment support.",
                rule=s.policy.rule("refund.overdue_days"),
            )
        elif "refund_overdue" in by:
            add(
                f"The refund of {format_money(dispute.outcome.refund, s.escrow.currency)} is on its way "
                "(3-15 days); if it has not arrived by then, contact payment support.",
                "refund_overdue",
            )
    _customs_advice(s, by, now or s.last_at or s.placed.at, out)
    if s.order == "awaiting_delivery":
        _parcel_advice(s, add, alerts)
    elif s.order == "finished" and can_open_dispute(s):
        add(
            "The order is complete. If something is wrong, you can still open a dispute.",
            "dispute_window",
        )
    if (
        s.order != "awaiting_shipment"
        and not can_open_dispute(s)
        and s.dispute_state in ("none", "resolved", "closed")
        and s.order != "cancelled"
    ):
        why = {
            "closed": s.policy.rule("dispute.reopen_days"),
            "resolved": "rules: one dispute per order",
        }.get(s.dispute_state, s.policy.rule("dispute.window_days"))
        add("No dispute can be opened any more: only a complaint to the platform is left.", rule=why)
    return out


def _action(s: OrderState, reason: str) -> str:
    """What the buyer can still do about a parcel problem, given the dispute rules."""
    if can_open_dispute(s):
        return f"open a dispute with reason {reason}"
    if s.dispute_state == "withdrawn":
        return "reopen the dispute"
    return "file a complaint with the platform"


def _parcel_advice(s: OrderState, add: Any, alerts: list[str]) -> None:
    reason = _dispute_reason(s)
    act = _action(s, reason)
    if s.parcel == "returning" and s.customs_issue_status == "customs_failed" and can_open_dispute(s):
        return  # the customs advice says: wait for the return to China, then open it
    if s.parcel in ("lost", "returning", "returned", "seized"):
        what = {
            "lost": "is presumed lost",
            "returning": "is going back to the sender",
            "returned": "went back to the sender",
            "seized": "was seized by customs",
        }[s.parcel]
        add(
            f"The parcel {what}: {act} before buyer protection ends, or the money goes to the seller.",
            "protection_ends",
        )
        return
    if "customs_stalled" in alerts:
        add(
            f"Customs has not updated the parcel for days: contact the seller, or {act} "
            "before buyer protection ends.",
            "protection_ends",
        )
    elif s.parcel == "held_at_customs":
        add(
            "The parcel is held at customs (duty, documents or inspection): contact customs "
            f"or the seller; if it does not move, {_action(s, 'customs_problem')}.",
            "customs_stall",
        )
    if "no_first_info" in alerts and "no_news" not in alerts:
        add(
            "No tracking information since shipment: the parcel may not really have been sent. "
            "Ask the seller for a working tracking number.",
            "no_news",
            rule=s.policy.rule("parcel.first_info_days"),
        )
    if "no_news" in alerts:
        add(
            "No news from the carrier: check whether the tracking number changed and ask the seller.",
            "presumed_lost",
            rule=s.policy.rule("parcel.no_news_days"),
        )
    if s.parcel == "at_pickup_point":
        add(
            "The parcel waits at the pickup point: collect it before it goes back to the sender.",
            "pickup_expires",
        )
    if s.parcel == "delivered":
        add(
            "Check the parcel. Confirm receipt if all is well; otherwise "
            + (
                "open a dispute (not_as_described, damaged, missing_items, empty_parcel …)"
                if can_open_dispute(s)
                else _action(s, "")
            )
            + " before buyer protection ends.",
            "protection_ends",
        )
    elif "protection_ending" in alerts:
        add(
            "Buyer protection ends soon and the parcel has not arrived: ask the seller to extend "
            f"protection, or {act} 2-3 days before it ends.",
            "protection_ends",
        )
    else:
        add(
            "Wait: the parcel is on its way. Buyer protection runs until the date shown.",
            "protection_ends",
        )


# --- Customs failure or hold ([000]) ------------------------------------------------------

#: registering a request for the official customs document takes 3 business days and
#: preparing it up to 30 days, while an escalated customs dispute leaves only 7 days
DOCUMENT_REGISTER_BUSINESS_DAYS = 3
DOCUMENT_PREPARE_DAYS = 30
CUSTOMS_ADVICE_RULE = "customs document: 3 business days to register, up to 30 days to prepare"


def add_business_days(start: dt.datetime, days: int) -> dt.datetime:
    """`start` plus `days` business days (Monday to Friday; weekends are skipped)."""
    at = start
    left = days
    while left > 0:
        at += dt.timedelta(days=1)
        if at.weekday() < 5:
            left -= 1
    return at


def _day(at: dt.datetime) -> str:
    return at.strftime("%Y-%m-%d")


def _customs_advice(s: OrderState, by: dict[str, Deadline], now: dt.datetime, out: list[Advice]) -> None:
    """After a customs hold or failure: ask for the official document early, wait for the
    parcel's return to China before the dispute, and do not rush to escalate."""
    dispute = s.dispute
    customs_dispute = dispute is not None and dispute.is_customs
    if s.customs_issue is None and not customs_dispute:
        return
    if dispute is not None and (dispute.document or dispute.outcome is not None):
        return
    if s.dispute_state in ("withdrawn", "closed") or s.order == "cancelled":
        return
    if dispute is None and not can_open_dispute(s):
        return  # no dispute can be opened any more: the document would serve nothing
    days = s.policy.days("dispute.customs_document_days")
    registered = add_business_days(now, DOCUMENT_REGISTER_BUSINESS_DAYS)
    ready = registered + dt.timedelta(days=DOCUMENT_PREPARE_DAYS)
    doc_rule = f"{CUSTOMS_ADVICE_RULE}; {s.policy.rule('dispute.customs_document_days')}"
    if s.dispute_state != "escalated":
        out.append(
            Advice(
                "Request the official customs document (why customs held or refused the parcel) "
                "from your customs office now, before the dispute escalates: registering the request "
                f"takes 3 business days (until {_day(registered)}) and preparing it up to "
                f"{DOCUMENT_PREPARE_DAYS} days (until {_day(ready)}), while an escalated customs "
                f"dispute leaves only {days} days to provide it.",
                registered,
                doc_rule,
            )
        )
    protection = by.get("protection_ends")
    if dispute is None and s.customs_issue_status == "customs_failed" and can_open_dispute(s):
        ends = protection.due_at if protection is not None else None
        if s.parcel == "returning":
            text = (
                "The parcel failed customs and is going back to the sender: wait until it is back "
                "in China before opening the dispute (reason customs_problem) - the seller, seeing "
                "the goods return, agrees to a refund more easily"
            )
            out.append(
                Advice(
                    text + (f"; but open it before buyer protection ends on {_day(ends)}." if ends else "."),
                    ends,
                    protection.rule if protection is not None else doc_rule,
                )
            )
    if s.dispute_state in ("awaiting_seller", "negotiating") and customs_dispute:
        mediation = by.get("mediation_date")
        when = (
            f" (it escalates on its own on {_day(mediation.due_at)})"
            if mediation and mediation.due_at
            else ""
        )
        out.append(
            Advice(
                "Do not rush to escalate the customs dispute: negotiate with the seller first"
                f"{when}; once escalated you have only {days} days to provide the customs document.",
                mediation.due_at if mediation else None,
                mediation.rule if mediation else doc_rule,
            )
        )
