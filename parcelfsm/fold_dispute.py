"""The dispute's event handlers (docs/rules.md "Order and money", "Dispute timers"),
registered into `parcelfsm.fold`.

Opening pauses buyer protection; withdrawing resumes it with the time that was left;
every resolution settles the escrow with `money.refund_for` (coupon share deducted,
shipping deducted for the minus-shipping outcomes) and clawing back from the seller
when the order had already completed.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import attrs

from parcelfsm.errors import IllegalTransition, ValidationError, WindowClosed
from parcelfsm.handlers import Handler, handler_table
from parcelfsm.money import refund_for
from parcelfsm.records import Envelope
from parcelfsm.state import Anchor, DisputeState, OrderState, Outcome, can_open_dispute
from parcelfsm.vocabulary import BUYER_FAULT_CAUSES, SELLER_FAULT_CAUSES


def _pause_protection(s: OrderState, at: dt.datetime) -> None:
    if s.protection_end is not None:
        s.protection_remaining = max(s.protection_end - at, dt.timedelta(0))
        s.protection_end = None


def _guard_open(s: OrderState, e: Envelope) -> None:
    if s.order == "finished" and s.dispute_state == "none" and s.window_closed:
        raise WindowClosed("dispute.opened: the dispute window has closed; only a complaint is left")


def _guard_reopen(s: OrderState, e: Envelope) -> None:
    if s.dispute_state == "closed":
        raise WindowClosed("dispute.reopened: the reopen window has closed")


#: checks that run before the machines step, so their error wins (WindowClosed …)
DISPUTE_GUARDS: Final[dict[str, Handler]] = {"dispute.opened": _guard_open, "dispute.reopened": _guard_reopen}
DISPUTE_HANDLERS, handles = handler_table()


@handles("dispute.opened")
def _opened(s: OrderState, e: Envelope) -> None:
    d = e.data
    if d["amount"] > s.item_value:
        raise ValidationError(
            f"amount: {d['amount']} exceeds the item value {s.item_value} (amount paid + coupon)"
        )
    anchor = Anchor(e.occurred_at, e.version)
    s.dispute = DisputeState(
        solution=d["solution"],
        goods_received=d["goods_received"],
        reason=d["reason"],
        cause=d.get("cause"),
        amount=d["amount"],
        evidence=list(d.get("evidence", [])),
        opened=anchor,
        round=anchor,
    )
    _pause_protection(s, e.occurred_at)


def _dispute(s: OrderState) -> DisputeState:
    assert s.dispute is not None  # the dispute machine guarantees it
    return s.dispute


def _resolve(s: OrderState, e: Envelope, asked: int, how: str, fault: str | None, shipping: int = 0) -> None:
    dispute = _dispute(s)
    refund = refund_for(asked, amount=s.amount, item_value=s.item_value, shipping=shipping)
    s.escrow = s.escrow.settle(refund)
    dispute.outcome = Outcome(refund=refund, how=how, fault=fault)
    dispute.resolved = Anchor(e.occurred_at, e.version)
    s.protection_remaining = None


@handles("dispute.seller_timed_out")
def _seller_timed_out(s: OrderState, e: Envelope) -> None:
    _resolve(s, e, _dispute(s).amount, "seller_timeout", None)


@handles("dispute.seller_accepted")
def _seller_accepted(s: OrderState, e: Envelope) -> None:
    dispute = _dispute(s)
    _resolve(s, e, dispute.offers.get("buyer", dispute.amount), "seller_accepted", None)


@handles("dispute.offer_made")
def _offer_made(s: OrderState, e: Envelope) -> None:
    dispute = _dispute(s)
    by, amount = e.data["by"], e.data["amount"]
    if by == "buyer" and "seller" not in dispute.offers:
        raise IllegalTransition("dispute.offer_made: the buyer's request stands until the seller answers")
    if amount > dispute.amount:
        raise ValidationError(f"amount: {amount} exceeds the amount asked in the dispute ({dispute.amount})")
    dispute.offers[by] = amount


@handles("dispute.offer_accepted")
def _offer_accepted(s: OrderState, e: Envelope) -> None:
    dispute = _dispute(s)
    other = "seller" if e.data["by"] == "buyer" else "buyer"
    if other not in dispute.offers:
        raise IllegalTransition(f"dispute.offer_accepted: the {other} has made no offer to accept")
    _resolve(s, e, dispute.offers[other], "agreement", None)


@handles("dispute.escalated", "dispute.auto_escalated")
def _escalated(s: OrderState, e: Envelope) -> None:
    _dispute(s).escalated = Anchor(e.occurred_at, e.version)


@handles("dispute.customs_document_provided")
def _document(s: OrderState, e: Envelope) -> None:
    dispute = _dispute(s)
    if not dispute.is_customs:
        raise IllegalTransition("dispute.customs_document_provided: not a customs dispute")
    dispute.document = e.data["document"]


@handles("dispute.customs_document_missed")
def _document_missed(s: OrderState, e: Envelope) -> None:
    _resolve(s, e, _dispute(s).amount, "customs_document_missed", "buyer", s.shipping_cost)


@handles("dispute.decided")
def _decided(s: OrderState, e: Envelope) -> None:
    dispute = _dispute(s)
    refund_amount, fault = e.data.get("refund_amount"), e.data.get("fault")
    if refund_amount is not None:
        if refund_amount > dispute.amount:
            raise ValidationError(
                f"refund_amount: {refund_amount} exceeds the amount asked ({dispute.amount})"
            )
        _resolve(s, e, refund_amount, "mediation", fault)
        return
    if not dispute.is_customs:
        raise ValidationError("refund_amount: required for a dispute that is not about customs")
    if fault is None:
        fault = customs_fault(s, dispute.cause)
    if fault is None:
        raise ValidationError("fault: required when refund_amount is omitted and the cause is unknown")
    asked = 0 if fault == "none" else dispute.amount
    shipping = s.shipping_cost if fault == "buyer" else 0
    _resolve(s, e, asked, "mediation", fault, shipping)


def customs_fault(s: OrderState, cause: str | None) -> str | None:
    """Whose fault a customs cause is: `unpaid_duty` is the seller's where the policy's
    `customs.duty_paid_by` names the seller for the destination (duty paid by the sender)."""
    if cause == "unpaid_duty" and s.policy.duty_payer(s.country)[0] == "seller":
        return "seller"
    if cause in SELLER_FAULT_CAUSES:
        return "seller"
    if cause in BUYER_FAULT_CAUSES:
        return "buyer"
    return None


@handles("dispute.return_shipped")
def _return_shipped(s: OrderState, e: Envelope) -> None:
    dispute = _dispute(s)
    if dispute.solution != "return_and_refund":
        raise IllegalTransition("dispute.return_shipped: the dispute asks for a refund only")
    dispute.return_tracking = e.data["tracking_number"]


@handles("dispute.withdrawn")
def _withdrawn(s: OrderState, e: Envelope) -> None:
    _dispute(s).withdrawn = Anchor(e.occurred_at, e.version)
    if s.protection_remaining is not None:  # protection resumes where it paused
        s.protection_end = e.occurred_at + s.protection_remaining
        s.protection_remaining = None
        s.protection_set = Anchor(e.occurred_at, e.version)


@handles("dispute.reopened")
def _reopened(s: OrderState, e: Envelope) -> None:
    dispute = _dispute(s)
    anchor = Anchor(e.occurred_at, e.version)
    s.dispute = attrs.evolve(dispute, round=anchor, offers={}, escalated=None, document=None, withdrawn=None)
    _pause_protection(s, e.occurred_at)


@handles("refund.received")
def _refund_received(s: OrderState, e: Envelope) -> None:
    dispute = _dispute(s)
    if dispute.outcome is None or dispute.outcome.refund <= 0:
        raise IllegalTransition("refund.received: the resolution refunded nothing")
    if dispute.refund_received:
        raise IllegalTransition("refund.received: already recorded")
    dispute.refund_received = True


@handles("complaint.filed")
def _complaint(s: OrderState, e: Envelope) -> None:
    if s.order == "awaiting_shipment" or can_open_dispute(s):
        raise IllegalTransition("complaint.filed: a dispute can still be opened; open one instead")
    if s.dispute_state not in ("none", "resolved", "closed"):
        raise IllegalTransition("complaint.filed: the dispute is still open or can be reopened")
    s.complaints += 1
