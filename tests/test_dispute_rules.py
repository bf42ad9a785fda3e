"""The dispute rules of issue #5 (docs/events.md, §4 "Order and money", "Dispute timers",
"Catch-up"; docs/rules.md), each at its boundary: one second before / at the due time.

Every scenario starts at 2026-03-01T10:00Z with a 25.99 USD order (3.00 shipping) to the
US (60 days of protection) and moves time only by hand.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from parcelfsm.errors import IllegalTransition, ParcelFsmError, ValidationError, WindowClosed
from parcelfsm.fold import fold
from parcelfsm.testing import DEFAULTS, Scenario

DAY = dt.timedelta(days=1)
SECOND = dt.timedelta(seconds=1)
ASKED = DEFAULTS["dispute.opened"]["amount"]  # 2599, the full item value of the default order
SHIPPING = DEFAULTS["order.placed"]["shipping_cost"]  # 300


# -- helpers --------------------------------------------------------------------------------


def shipped(scenario: Scenario, **placed: Any) -> Scenario:
    """Place (with overrides) and ship the order now."""
    return scenario.given(("order.placed", placed), "order.shipped")


def opened(scenario: Scenario, placed: dict[str, Any] | None = None, **dispute: Any) -> dt.datetime:
    """Place and ship the order, move one day on, open a dispute; returns the opening time."""
    shipped(scenario, **(placed or {}))
    scenario.clock.advance(days=1)
    scenario.when("dispute.opened", dispute)
    return scenario.clock.now()


def customs(scenario: Scenario, placed: dict[str, Any] | None = None, **dispute: Any) -> dt.datetime:
    """Open a customs dispute (`customs_problem`, cause `no_invoice` unless given), escalate it
    one hour later; returns the escalation time."""
    fields = {"reason": "customs_problem", "cause": "no_invoice", **dispute}
    opened(scenario, placed, **fields)
    scenario.clock.advance(hours=1)
    scenario.when("dispute.escalated", {"by": "buyer"})
    return scenario.clock.now()


PARCEL_ALERTS = frozenset({"no_first_info", "no_news", "customs_stalled"})


def relevant(events: list[Any]) -> list[Any]:
    """The events minus the parcel's own (scans, lost, parcel alerts), which run on regardless."""
    return [e for e in events if not e.type.startswith("parcel.") and e.data.get("kind") not in PARCEL_ALERTS]


def snapshot(scenario: Scenario) -> tuple[int, str]:
    """(history length, last hash) of the order: what a rejected command must leave alone."""
    events = scenario.orders.history(scenario.order_id)
    return len(events), events[-1].hash


def outcome(scenario: Scenario) -> dict[str, Any]:
    """The `dispute.outcome` object of `show --json`."""
    dispute = scenario.view().to_json()["dispute"]
    assert dispute is not None
    result = dispute["outcome"]
    assert result is not None
    return dict(result)


def money(scenario: Scenario) -> dict[str, Any]:
    """The `money` object of `show --json`."""
    return dict(scenario.view().to_json()["money"])


def deadline_json(scenario: Scenario, kind: str) -> dict[str, Any] | None:
    """The `deadlines` entry of that kind in `show --json`, if any."""
    return next((d for d in scenario.view().to_json()["deadlines"] if d["kind"] == kind), None)


def due(scenario: Scenario, kind: str) -> dt.datetime | None:
    """The due time of the open deadline of that kind (None when absent or paused)."""
    deadline = scenario.deadline(kind)
    return deadline.due_at if deadline else None


def alert_kinds(scenario: Scenario) -> list[str]:
    """The `kind` of every `alert.raised` in the stream."""
    return [e.data["kind"] for e in scenario.orders.history(scenario.order_id) if e.type == "alert.raised"]


def rejected(scenario: Scenario, error: type[ParcelFsmError], type_name: str, data: Any = None) -> str:
    """Send a command that must be refused with `error` and append nothing; returns the message."""
    before = snapshot(scenario)
    with pytest.raises(error) as info:
        scenario.when(type_name, data)
    assert snapshot(scenario) == before
    return info.value.message


# -- opening ----------------------------------------------------------------------------------


def test_dispute_cannot_be_opened_before_shipment(scenario: Scenario) -> None:
    """An order not yet shipped has no dispute: `dispute.opened` is IllegalTransition."""
    scenario.given("order.placed")
    rejected(scenario, IllegalTransition, "dispute.opened")
    scenario.then(order="awaiting_shipment", dispute=None)


def test_only_one_dispute_per_order(scenario: Scenario) -> None:
    """A second `dispute.opened` on the same order is IllegalTransition."""
    opened(scenario)
    rejected(scenario, IllegalTransition, "dispute.opened")


def test_opening_a_dispute_freezes_the_order_and_holds_the_money(scenario: Scenario) -> None:
    """Opening after shipment: order `frozen`, dispute `awaiting_seller`, escrow untouched."""
    opened(scenario)
    scenario.then(order="frozen", dispute="awaiting_seller")
    assert money(scenario) == {
        "currency": "USD",
        "paid": 2599,
        "held": 2599,
        "released_to_seller": 0,
        "refunded_to_buyer": 0,
    }


def test_dispute_can_be_opened_on_the_last_second_of_the_window_after_receipt(scenario: Scenario) -> None:
    """Receipt confirmed at R: a dispute opened at R + 15 d − 1 s is accepted."""
    shipped(scenario)
    scenario.clock.advance(days=3)
    scenario.when("order.receipt_confirmed")
    scenario.clock.advance(days=15, seconds=-1)
    scenario.when("dispute.opened")
    scenario.then(order="frozen", dispute="awaiting_seller")


def test_dispute_window_after_receipt_closes_at_fifteen_days(scenario: Scenario) -> None:
    """Receipt confirmed at R: at R + 15 d the window has closed (WindowClosed, nothing written)."""
    shipped(scenario)
    scenario.clock.advance(days=3)
    scenario.when("order.receipt_confirmed")
    scenario.clock.advance(days=15)
    rejected(scenario, WindowClosed, "dispute.opened")


def test_dispute_window_after_protection_end_closes_at_fifteen_days(scenario: Scenario) -> None:
    """Protection ends at P (shipment + 60 d): open at P + 15 d − 1 s ok; at P + 15 d WindowClosed."""
    shipped(scenario)
    shipment = scenario.clock.now()
    end = shipment + 60 * DAY
    scenario.clock.set(end + 15 * DAY)
    rejected(scenario, WindowClosed, "dispute.opened")
    scenario.clock.set(end + 15 * DAY - SECOND)
    scenario.when("dispute.opened")
    assert [(e.type, e.data.get("kind")) for e in relevant(scenario.last)] == [
        ("alert.raised", "protection_ending"),
        ("order.auto_completed", None),
        ("dispute.opened", None),
    ]
    scenario.then(order="frozen", dispute="awaiting_seller")


def test_dispute_window_closes_by_itself_and_then_only_a_complaint_is_left(scenario: Scenario) -> None:
    """At receipt + 15 d `order.dispute_window_closed` fires; then only `complaint.filed` is accepted."""
    shipped(scenario)
    scenario.when("order.receipt_confirmed")
    receipt = scenario.clock.now()
    rejected(scenario, IllegalTransition, "complaint.filed")
    assert relevant(scenario.advance(days=15, seconds=-1)) == []
    fired = relevant(scenario.advance(seconds=1))
    assert [e.type for e in fired] == ["order.dispute_window_closed"]
    assert fired[0].occurred_at == receipt + 15 * DAY
    rejected(scenario, WindowClosed, "dispute.opened")
    before = money(scenario)
    scenario.when("complaint.filed")
    assert money(scenario) == before
    assert scenario.view().final


def test_dispute_on_a_finished_order_claws_back_from_the_seller(scenario: Scenario) -> None:
    """Opened on a `finished` order inside the window: the refund comes back from the seller's
    release and the order returns to `finished`."""
    shipped(scenario)
    scenario.when("order.receipt_confirmed")
    assert money(scenario)["released_to_seller"] == 2599
    scenario.clock.advance(days=2)
    scenario.when("dispute.opened", {"amount": 1000})
    scenario.then(order="frozen", dispute="awaiting_seller")
    scenario.advance(days=5)
    scenario.then(order="finished", dispute="resolved")
    assert money(scenario) == {
        "currency": "USD",
        "paid": 2599,
        "held": 0,
        "released_to_seller": 1599,
        "refunded_to_buyer": 1000,
    }


def test_dispute_on_a_finished_order_after_the_window_is_window_closed(scenario: Scenario) -> None:
    """A `finished` order whose dispute window closed: `dispute.opened` is WindowClosed."""
    shipped(scenario)
    scenario.when("order.receipt_confirmed")
    scenario.advance(days=20)
    rejected(scenario, WindowClosed, "dispute.opened")


# -- the opening form -----------------------------------------------------------------------------


MISSING = object()


def form(**changes: Any) -> dict[str, Any]:
    """The default opening form with `changes` applied (`MISSING` drops a field)."""
    data = {**DEFAULTS["dispute.opened"], **changes}
    return {k: v for k, v in data.items() if v is not MISSING}


FORM_ERRORS = [
    pytest.param("solution", {"solution": MISSING}, id="solution-missing"),
    pytest.param("solution", {"solution": "replacement"}, id="solution-unknown"),
    pytest.param("goods_received", {"goods_received": MISSING}, id="goods_received-missing"),
    pytest.param("goods_received", {"goods_received": "yes"}, id="goods_received-not-bool"),
    pytest.param("reason", {"reason": MISSING}, id="reason-missing"),
    pytest.param("reason", {"reason": "changed_my_mind"}, id="reason-unknown"),
    pytest.param("cause", {"reason": "customs_problem"}, id="cause-missing-for-customs_problem"),
    pytest.param("cause", {"reason": "customs_problem", "cause": "bad_luck"}, id="cause-unknown"),
    pytest.param("cause", {"reason": "damaged", "cause": "no_invoice"}, id="cause-for-non-customs"),
    pytest.param("amount", {"amount": MISSING}, id="amount-missing"),
    pytest.param("amount", {"amount": 0}, id="amount-zero"),
    pytest.param("amount", {"amount": -5}, id="amount-negative"),
    pytest.param("amount", {"amount": 25.99}, id="amount-float"),
    pytest.param("amount", {"amount": "2599"}, id="amount-string"),
    pytest.param("amount", {"amount": 2600}, id="amount-above-item-value"),
    pytest.param("description", {"description": MISSING}, id="description-missing"),
    pytest.param("description", {"description": "   "}, id="description-blank"),
    pytest.param("evidence", {"evidence": "photo.jpg"}, id="evidence-not-a-list"),
    pytest.param("evidence", {"evidence": [1, 2]}, id="evidence-not-strings"),
]


@pytest.mark.parametrize(("field", "data"), FORM_ERRORS)
def test_dispute_form_errors_name_their_field(scenario: Scenario, field: str, data: dict[str, Any]) -> None:
    """Each invalid field of the opening form is a ValidationError whose message names it."""
    shipped(scenario)
    before = snapshot(scenario)
    with pytest.raises(ValidationError) as info:
        scenario.orders.record("o-1", "dispute.opened", form(**data))
    assert snapshot(scenario) == before
    assert info.value.type == "ValidationError"
    assert info.value.message.startswith(field), info.value.message


@pytest.mark.parametrize(
    ("description", "char", "position"),
    [
        ("Order №42 never came", "№", 6),
        ("Посылка не пришла", "П", 0),
        ("Parcel lost 📦 again", "📦", 12),
        ("Tab\tand newline\nare fine, but é is not", "é", 30),
    ],
)
def test_dispute_description_must_be_printable_ascii(
    scenario: Scenario, description: str, char: str, position: int
) -> None:
    """A description with `№`, Cyrillic, an emoji … is a ValidationError naming the field, the
    character and its position."""
    shipped(scenario)
    message = rejected(scenario, ValidationError, "dispute.opened", {"description": description})
    assert message.startswith("description")
    assert char in message
    assert f"position {position}" in message


def test_dispute_amount_may_equal_the_item_value_including_the_coupon(scenario: Scenario) -> None:
    """Paid 2000 with a 500 coupon: item value 2500 may be asked, 2501 may not."""
    shipped(scenario, amount=2000, coupon_discount=500)
    message = rejected(scenario, ValidationError, "dispute.opened", {"amount": 2501})
    assert message.startswith("amount")
    scenario.when("dispute.opened", {"amount": 2500})
    assert scenario.view().to_json()["dispute"]["amount"] == 2500


def test_dispute_form_keeps_reason_cause_and_evidence(scenario: Scenario) -> None:
    """The accepted form is kept: reason, customs cause, amount, solution, goods received."""
    opened(
        scenario,
        reason="customs_problem",
        cause="counterfeit",
        solution="return_and_refund",
        goods_received=True,
        evidence=["customs-letter.pdf", "photo-1.jpg"],
    )
    dispute = scenario.view().to_json()["dispute"]
    assert dispute["reason"] == "customs_problem"
    assert dispute["cause"] == "counterfeit"
    assert dispute["amount"] == ASKED
    assert dispute["solution"] == "return_and_refund"
    assert dispute["goods_received"] is True
    assert scenario.orders.history("o-1")[-1].data["evidence"] == ["customs-letter.pdf", "photo-1.jpg"]


# -- the seller's window ------------------------------------------------------------------------


def test_seller_can_accept_one_second_before_the_seller_window_ends(scenario: Scenario) -> None:
    """Seller accepts at opened + 5 d − 1 s: resolved `seller_accepted` for the amount asked."""
    opened(scenario)
    assert relevant(scenario.advance(days=5, seconds=-1)) == []
    scenario.when("dispute.seller_accepted")
    assert scenario.types() == ["dispute.seller_accepted"]
    assert outcome(scenario) == {"refund": ASKED, "how": "seller_accepted", "fault": None}


def test_seller_silent_five_days_buyer_wins_the_amount_asked(scenario: Scenario) -> None:
    """At opened + 5 d `dispute.seller_timed_out` fires: refund = amount asked, order finished."""
    opening = opened(scenario, amount=2000)
    assert due(scenario, "seller_response") == opening + 5 * DAY
    assert relevant(scenario.advance(days=5, seconds=-1)) == []
    fired = relevant(scenario.advance(seconds=1))
    assert [e.type for e in fired] == ["dispute.seller_timed_out"]
    assert fired[0].occurred_at == fired[0].due_at == opening + 5 * DAY
    scenario.then(order="finished", dispute="resolved")
    assert outcome(scenario) == {"refund": 2000, "how": "seller_timeout", "fault": None}
    assert money(scenario) == {
        "currency": "USD",
        "paid": 2599,
        "held": 0,
        "released_to_seller": 599,
        "refunded_to_buyer": 2000,
    }


def test_seller_answering_on_day_six_finds_the_dispute_already_resolved(scenario: Scenario) -> None:
    """Catch-up: no tick ran, the seller accepts on day 6 of a 5-day window → IllegalTransition,
    judged on the caught-up state; the catch-up is rolled back too."""
    opening = opened(scenario)
    scenario.clock.advance(days=6)
    rejected(scenario, IllegalTransition, "dispute.seller_accepted")
    assert scenario.history_types()[-1] == "dispute.opened"
    fired = scenario.orders.tick()
    assert [(e.type, e.occurred_at) for e in fired] == [("dispute.seller_timed_out", opening + 5 * DAY)]


def test_seller_answering_exactly_at_the_due_time_is_too_late(scenario: Scenario) -> None:
    """A deadline is due at `due_at` inclusive: an offer at opened + 5 d finds the dispute resolved."""
    opened(scenario)
    scenario.clock.advance(days=5)
    rejected(scenario, IllegalTransition, "dispute.offer_made", {"by": "seller", "amount": 1000})


def test_command_after_the_seller_window_records_the_timeout_first(scenario: Scenario) -> None:
    """A legal command on day 6 (return parcel) is appended after the overdue `seller_timed_out`."""
    opened(scenario, solution="return_and_refund")
    scenario.clock.advance(days=6)
    scenario.when("dispute.return_shipped")
    assert scenario.types() == ["dispute.seller_timed_out", "dispute.return_shipped"]


# -- negotiation --------------------------------------------------------------------------------


def test_buyer_accepting_the_sellers_offer_resolves_by_agreement(scenario: Scenario) -> None:
    """Seller offers 1000, buyer accepts: refund 1000 by `agreement`, the rest to the seller."""
    opened(scenario)
    scenario.when("dispute.offer_made", {"by": "seller", "amount": 1000})
    scenario.then(dispute="negotiating")
    scenario.when("dispute.offer_accepted", {"by": "buyer"})
    scenario.then(order="finished", dispute="resolved")
    assert outcome(scenario) == {"refund": 1000, "how": "agreement", "fault": None}
    assert money(scenario)["released_to_seller"] == 1599


def test_seller_may_accept_the_buyers_latest_counter_offer(scenario: Scenario) -> None:
    """Offer 1000, counter-offer 2000, seller accepts the buyer's latest: refund 2000."""
    opened(scenario)
    scenario.when("dispute.offer_made", {"by": "seller", "amount": 1000})
    scenario.when("dispute.offer_made", {"by": "buyer", "amount": 2200})
    scenario.when("dispute.offer_made", {"by": "buyer", "amount": 2000})
    scenario.when("dispute.offer_accepted", {"by": "seller"})
    assert outcome(scenario) == {"refund": 2000, "how": "agreement", "fault": None}


def test_only_the_other_sides_latest_offer_can_be_accepted(scenario: Scenario) -> None:
    """Accepting needs an offer from the other side: the seller cannot accept its own offer."""
    opened(scenario)
    rejected(scenario, IllegalTransition, "dispute.offer_accepted", {"by": "buyer"})
    scenario.when("dispute.offer_made", {"by": "seller", "amount": 1000})
    rejected(scenario, IllegalTransition, "dispute.offer_accepted", {"by": "seller"})


def test_an_offer_above_the_amount_asked_names_the_amount(scenario: Scenario) -> None:
    """An offer above the amount asked is a ValidationError naming `amount`."""
    opened(scenario, amount=2000)
    message = rejected(scenario, ValidationError, "dispute.offer_made", {"by": "seller", "amount": 2001})
    assert message.startswith("amount")


def test_agreed_refund_of_zero_resolves_for_good(scenario: Scenario) -> None:
    """An agreed refund of 0: escrow released to the seller, no refund alert, never reopened."""
    opened(scenario)
    scenario.when("dispute.offer_made", {"by": "seller", "amount": 0})
    scenario.when("dispute.offer_accepted", {"by": "buyer"})
    scenario.then(order="finished", dispute="resolved")
    assert outcome(scenario) == {"refund": 0, "how": "agreement", "fault": None}
    assert money(scenario)["released_to_seller"] == 2599
    assert scenario.deadline("refund_overdue") is None
    rejected(scenario, IllegalTransition, "dispute.withdrawn")
    rejected(scenario, IllegalTransition, "dispute.reopened")
    rejected(scenario, IllegalTransition, "refund.received")
    rejected(scenario, IllegalTransition, "dispute.opened")
    scenario.advance(days=40)
    assert [e.type for e in relevant(scenario.orders.history("o-1"))][-1] == "dispute.offer_accepted"


@pytest.mark.parametrize("by", ["buyer", "seller"])
@pytest.mark.parametrize("negotiating", [False, True])
def test_either_side_may_escalate(scenario: Scenario, by: str, negotiating: bool) -> None:
    """Buyer or seller may escalate, while awaiting the seller or negotiating."""
    opened(scenario)
    if negotiating:
        scenario.when("dispute.offer_made", {"by": "seller", "amount": 500})
    scenario.when("dispute.escalated", {"by": by})
    scenario.then(order="frozen", dispute="escalated")
    assert scenario.deadline("seller_response") is None
    assert scenario.deadline("mediation_date") is None


def test_negotiation_escalates_by_itself_at_the_mediation_date(scenario: Scenario) -> None:
    """Still negotiating at opened + 15 d: `dispute.auto_escalated` fires then, not a second earlier."""
    opening = opened(scenario)
    scenario.when("dispute.offer_made", {"by": "seller", "amount": 500})
    assert due(scenario, "mediation_date") == opening + 15 * DAY
    assert relevant(scenario.advance(days=15, seconds=-1)) == []
    fired = relevant(scenario.advance(seconds=1))
    assert [(e.type, e.occurred_at) for e in fired] == [("dispute.auto_escalated", opening + 15 * DAY)]
    scenario.then(dispute="escalated")


def test_escalating_twice_is_illegal(scenario: Scenario) -> None:
    """An escalated dispute cannot be escalated again, nor negotiated."""
    opened(scenario)
    scenario.when("dispute.escalated", {"by": "seller"})
    rejected(scenario, IllegalTransition, "dispute.escalated", {"by": "buyer"})
    rejected(scenario, IllegalTransition, "dispute.offer_made", {"by": "seller", "amount": 1})
    rejected(scenario, IllegalTransition, "dispute.seller_accepted")


# -- mediation -------------------------------------------------------------------------------------


def test_mediators_decide_the_refund_and_the_fault(scenario: Scenario) -> None:
    """`dispute.decided` with refund_amount and fault resolves by `mediation`."""
    opened(scenario)
    scenario.when("dispute.escalated", {"by": "buyer"})
    scenario.when("dispute.decided", {"refund_amount": 1500, "fault": "seller"})
    scenario.then(order="finished", dispute="resolved")
    assert outcome(scenario) == {"refund": 1500, "how": "mediation", "fault": "seller"}
    assert money(scenario)["refunded_to_buyer"] == 1500


def test_decision_before_escalation_is_illegal(scenario: Scenario) -> None:
    """Mediators decide only an escalated dispute."""
    opened(scenario)
    rejected(scenario, IllegalTransition, "dispute.decided", {"refund_amount": 100, "fault": "none"})


def test_decided_refund_may_equal_but_not_exceed_the_amount_asked(scenario: Scenario) -> None:
    """refund_amount above the amount asked is a ValidationError naming it; equal is fine."""
    opened(scenario, amount=2000)
    scenario.when("dispute.escalated", {"by": "buyer"})
    message = rejected(
        scenario, ValidationError, "dispute.decided", {"refund_amount": 2001, "fault": "seller"}
    )
    assert message.startswith("refund_amount")
    scenario.when("dispute.decided", {"refund_amount": 2000, "fault": "seller"})
    assert outcome(scenario)["refund"] == 2000


def test_decision_without_refund_amount_needs_a_customs_dispute(scenario: Scenario) -> None:
    """Outside customs, a decision without refund_amount is a ValidationError naming it."""
    opened(scenario)
    scenario.when("dispute.escalated", {"by": "buyer"})
    message = rejected(scenario, ValidationError, "dispute.decided", {"fault": "seller"})
    assert message.startswith("refund_amount")


def test_mediation_overdue_alert_seven_days_after_escalation(scenario: Scenario) -> None:
    """Undecided at escalated + 7 d: `alert.raised` {kind: mediation_overdue}, not before."""
    opened(scenario)
    scenario.when("dispute.escalated", {"by": "seller"})
    escalated = scenario.clock.now()
    assert relevant(scenario.advance(days=7, seconds=-1)) == []
    assert "mediation_overdue" not in scenario.view().alerts
    fired = relevant(scenario.advance(seconds=1))
    assert [(e.type, e.data["kind"], e.occurred_at) for e in fired] == [
        ("alert.raised", "mediation_overdue", escalated + 7 * DAY)
    ]
    assert "mediation_overdue" in scenario.view().alerts
    scenario.when("dispute.decided", {"refund_amount": 0, "fault": "none"})
    assert "mediation_overdue" not in scenario.view().alerts


# -- customs disputes --------------------------------------------------------------------------------


def test_customs_document_missing_seven_days_after_escalation_refunds_minus_shipping(
    scenario: Scenario,
) -> None:
    """Escalated customs dispute, no document by escalated + 7 d: refund = asked − shipping."""
    escalated = customs(scenario)
    assert due(scenario, "customs_document") == escalated + 7 * DAY
    assert relevant(scenario.advance(days=7, seconds=-1)) == []
    fired = relevant(scenario.advance(seconds=1))
    assert [(e.type, e.occurred_at) for e in fired] == [
        ("dispute.customs_document_missed", escalated + 7 * DAY)
    ]
    scenario.then(order="finished", dispute="resolved")
    assert outcome(scenario) == {
        "refund": ASKED - SHIPPING,
        "how": "customs_document_missed",
        "fault": "buyer",
    }
    assert money(scenario)["released_to_seller"] == SHIPPING
    assert "mediation_overdue" not in alert_kinds(scenario)


def test_customs_document_missed_never_refunds_below_zero(scenario: Scenario) -> None:
    """Asked less than the shipping cost and no document: refund 0, everything to the seller."""
    customs(scenario, amount=SHIPPING - 100)
    scenario.advance(days=7)
    assert outcome(scenario) == {"refund": 0, "how": "customs_document_missed", "fault": "buyer"}
    assert money(scenario)["released_to_seller"] == 2599
    assert scenario.deadline("refund_overdue") is None


def test_customs_document_provided_in_time_prevents_the_miss(scenario: Scenario) -> None:
    """Document at escalated + 7 d − 1 s: no `customs_document_missed`; the mediators still owe a
    decision (mediation_overdue at escalated + 7 d)."""
    escalated = customs(scenario)
    scenario.advance(days=7, seconds=-1)
    scenario.when("dispute.customs_document_provided")
    assert scenario.deadline("customs_document") is None
    fired = relevant(scenario.advance(seconds=1))
    assert [(e.type, e.data.get("kind"), e.occurred_at) for e in fired] == [
        ("alert.raised", "mediation_overdue", escalated + 7 * DAY)
    ]
    scenario.advance(days=30)
    assert "dispute.customs_document_missed" not in scenario.history_types()
    scenario.then(dispute="escalated")


def test_customs_document_is_only_for_customs_disputes(scenario: Scenario) -> None:
    """A customs document on a non-customs escalated dispute is IllegalTransition."""
    opened(scenario, reason="damaged")
    scenario.when("dispute.escalated", {"by": "buyer"})
    rejected(scenario, IllegalTransition, "dispute.customs_document_provided")


def test_customs_clock_does_not_run_before_escalation(scenario: Scenario) -> None:
    """A customs dispute not yet escalated has no `customs_document` deadline."""
    opened(scenario, reason="customs_problem", cause="no_invoice")
    assert scenario.deadline("customs_document") is None


@pytest.mark.parametrize(
    ("cause", "decision", "refund", "fault"),
    [
        ("no_invoice", {}, ASKED, "seller"),
        ("counterfeit", {"fault": "seller"}, ASKED, "seller"),
        ("no_licence", {"fault": "buyer"}, ASKED - SHIPPING, "buyer"),
        ("prohibited_goods", {}, ASKED - SHIPPING, "buyer"),
        ("unpaid_duty", {"fault": "seller"}, ASKED, "seller"),
        ("undervalued", {"fault": "none"}, 0, "none"),
        ("no_invoice", {"refund_amount": 1234, "fault": "buyer"}, 1234, "buyer"),
    ],
)
def test_customs_decision_follows_from_fault_when_refund_amount_is_omitted(
    scenario: Scenario, cause: str, decision: dict[str, Any], refund: int, fault: str
) -> None:
    """Customs decision: seller fault → amount asked, buyer fault → minus shipping, none → 0;
    fault omitted follows the cause; a given refund_amount is authoritative."""
    customs(scenario, cause=cause)
    scenario.advance(days=1)
    scenario.when("dispute.decided", decision)
    assert outcome(scenario) == {"refund": refund, "how": "mediation", "fault": fault}
    assert money(scenario)["refunded_to_buyer"] == refund


def test_customs_decision_without_cause_or_refund_needs_a_fault(scenario: Scenario) -> None:
    """`customs_duty_too_high` without a cause: a decision with neither refund nor fault names `fault`."""
    escalate_at = customs(scenario, reason="customs_duty_too_high", cause=None)
    assert escalate_at
    message = rejected(scenario, ValidationError, "dispute.decided", {})
    assert message.startswith("fault")


# -- withdraw / reopen ---------------------------------------------------------------------------------


def test_withdrawn_dispute_can_be_reopened_one_second_before_fifteen_days(scenario: Scenario) -> None:
    """Reopened at withdrawn + 15 d − 1 s: back to `awaiting_seller`, seller window starts again."""
    opened(scenario)
    scenario.when("dispute.withdrawn")
    scenario.then(dispute="withdrawn")
    scenario.advance(days=15, seconds=-1)
    scenario.when("dispute.reopened")
    reopened = scenario.clock.now()
    scenario.then(order="frozen", dispute="awaiting_seller")
    assert due(scenario, "seller_response") == reopened + 5 * DAY
    assert due(scenario, "mediation_date") == reopened + 15 * DAY
    fired = scenario.advance(days=5)
    assert [(e.type, e.occurred_at) for e in fired] == [("dispute.seller_timed_out", reopened + 5 * DAY)]


def test_reopen_at_fifteen_days_is_window_closed(scenario: Scenario) -> None:
    """Reopen exactly at withdrawn + 15 d (deadlines are inclusive): WindowClosed, nothing written."""
    opened(scenario)
    scenario.when("dispute.withdrawn")
    scenario.clock.advance(days=15)
    rejected(scenario, WindowClosed, "dispute.reopened")


def test_reopen_one_second_after_fifteen_days_is_window_closed_and_writes_nothing(scenario: Scenario) -> None:
    """Reopen at withdrawn + 15 d + 1 s, no tick: WindowClosed, history length and hash unchanged."""
    opened(scenario)
    scenario.when("dispute.withdrawn")
    length = len(scenario.orders.history("o-1"))
    scenario.clock.advance(days=15, seconds=1)
    rejected(scenario, WindowClosed, "dispute.reopened")
    assert len(scenario.orders.history("o-1")) == length
    row = scenario.orders.store.order_row("o-1")
    assert row is not None
    assert row.dispute_state == "withdrawn"


def test_reopen_window_closes_the_dispute_for_good(scenario: Scenario) -> None:
    """At withdrawn + 15 d `dispute.reopen_window_closed` fires: dispute `closed`."""
    opened(scenario)
    scenario.when("dispute.withdrawn")
    withdrawn = scenario.clock.now()
    assert due(scenario, "reopen_window") == withdrawn + 15 * DAY
    assert relevant(scenario.advance(days=15, seconds=-1)) == []
    fired = relevant(scenario.advance(seconds=1))
    assert [(e.type, e.occurred_at) for e in fired] == [
        ("dispute.reopen_window_closed", withdrawn + 15 * DAY)
    ]
    scenario.then(dispute="closed")
    rejected(scenario, WindowClosed, "dispute.reopened")
    rejected(scenario, IllegalTransition, "dispute.opened")


def test_resolved_dispute_cannot_be_reopened(scenario: Scenario) -> None:
    """A resolved dispute (even one that was withdrawn before) cannot be reopened or withdrawn."""
    opened(scenario)
    scenario.when("dispute.seller_accepted")
    rejected(scenario, IllegalTransition, "dispute.reopened")
    rejected(scenario, IllegalTransition, "dispute.withdrawn")


def test_withdrawing_disarms_the_dispute_timers(scenario: Scenario) -> None:
    """After withdrawal no seller_response / mediation_date fires; reopen_window is armed."""
    opened(scenario)
    scenario.when("dispute.withdrawn")
    kinds = {d.kind for d in scenario.view().deadlines}
    assert not kinds & {"seller_response", "mediation_date", "mediation_overdue", "customs_document"}
    assert "reopen_window" in kinds
    fired = scenario.advance(days=14)
    assert "dispute.seller_timed_out" not in [e.type for e in fired]


def test_withdrawing_an_escalated_customs_dispute_disarms_its_timers(scenario: Scenario) -> None:
    """Withdrawal disarms customs_document and mediation_overdue too."""
    customs(scenario)
    scenario.when("dispute.withdrawn")
    kinds = {d.kind for d in scenario.view().deadlines}
    assert not kinds & {"customs_document", "mediation_overdue"}
    assert relevant(scenario.advance(days=10)) == []


def test_reopened_dispute_forgets_the_previous_round(scenario: Scenario) -> None:
    """Offers and escalation of the withdrawn round do not carry into the reopened one."""
    opened(scenario)
    scenario.when("dispute.offer_made", {"by": "seller", "amount": 100})
    scenario.when("dispute.withdrawn")
    scenario.advance(days=1)
    scenario.when("dispute.reopened")
    rejected(scenario, IllegalTransition, "dispute.offer_accepted", {"by": "buyer"})


# -- buyer protection paused by a dispute ---------------------------------------------------------------


def test_protection_is_paused_while_the_dispute_is_open(scenario: Scenario) -> None:
    """Opened 10 d after shipment: `protection_ends` shows paused with 50 d remaining and never fires."""
    shipped(scenario)
    scenario.clock.advance(days=10)
    scenario.when("dispute.opened")
    entry = deadline_json(scenario, "protection_ends")
    assert entry is not None
    assert entry["paused"] is True
    assert entry["remaining_s"] == 50 * 86_400
    assert entry["due_at"] is None
    reminder = deadline_json(scenario, "protection_reminder")
    assert reminder is not None
    assert reminder["paused"] is True
    assert reminder["remaining_s"] == 45 * 86_400
    assert all(d.kind != "protection_ends" for d in scenario.orders.due())
    scenario.when("dispute.escalated", {"by": "buyer"})
    scenario.advance(days=70)
    assert "order.auto_completed" not in scenario.history_types()
    scenario.then(order="frozen", dispute="escalated")


def test_withdrawal_resumes_protection_with_the_time_remaining_at_opening(scenario: Scenario) -> None:
    """Opened at shipment + 10 d (50 d left), withdrawn 3 d later: protection ends at withdrawal + 50 d."""
    shipped(scenario)
    scenario.clock.advance(days=10)
    scenario.when("dispute.opened")
    scenario.clock.advance(days=3)
    scenario.when("dispute.withdrawn")
    withdrawn = scenario.clock.now()
    scenario.then(order="awaiting_delivery", dispute="withdrawn")
    entry = deadline_json(scenario, "protection_ends")
    assert entry is not None
    assert entry["paused"] is False
    assert due(scenario, "protection_ends") == withdrawn + 50 * DAY
    assert due(scenario, "protection_reminder") == withdrawn + 45 * DAY


def test_withdrawal_after_the_original_protection_end_still_resumes_the_remainder(scenario: Scenario) -> None:
    """A dispute outlasting the original protection end: withdrawal still gives back the remaining time."""
    shipped(scenario)
    scenario.clock.advance(days=50)
    scenario.when("dispute.opened")
    scenario.when("dispute.escalated", {"by": "buyer"})
    scenario.advance(days=20)  # past shipment + 60 d
    scenario.when("dispute.withdrawn")
    withdrawn = scenario.clock.now()
    scenario.then(order="awaiting_delivery")
    assert due(scenario, "protection_ends") == withdrawn + 10 * DAY
    fired = scenario.advance(days=10)
    assert "order.auto_completed" in [e.type for e in fired]


def test_extension_during_a_dispute_adds_to_the_paused_remainder(scenario: Scenario) -> None:
    """Extended by 10 d while frozen: remaining 50 d → 60 d; after withdrawal it ends withdrawal + 60 d."""
    shipped(scenario)
    scenario.clock.advance(days=10)
    scenario.when("dispute.opened")
    scenario.when("protection.extended", {"days": 10, "by": "seller"})
    entry = deadline_json(scenario, "protection_ends")
    assert entry is not None
    assert (entry["paused"], entry["remaining_s"]) == (True, 60 * 86_400)
    scenario.clock.advance(days=2)
    scenario.when("dispute.withdrawn")
    assert due(scenario, "protection_ends") == scenario.clock.now() + 60 * DAY


def test_reopening_pauses_protection_again(scenario: Scenario) -> None:
    """Reopened 2 d after withdrawal: the remainder keeps counting only while withdrawn."""
    shipped(scenario)
    scenario.clock.advance(days=10)
    scenario.when("dispute.opened")
    scenario.when("dispute.withdrawn")
    scenario.advance(days=2)
    scenario.when("dispute.reopened")
    entry = deadline_json(scenario, "protection_ends")
    assert entry is not None
    assert (entry["paused"], entry["remaining_s"]) == (True, 48 * 86_400)


def test_withdrawal_with_little_protection_left_dates_nothing_before_itself(scenario: Scenario) -> None:
    """Opened with 3 d of protection left (reminder already raised), withdrawn a day later: what
    fires afterwards is not dated before the withdrawal that re-armed it."""
    shipped(scenario)
    scenario.advance(days=57)  # the protection_ending reminder fired at shipment + 55 d
    scenario.when("dispute.opened")
    scenario.clock.advance(days=1)
    scenario.when("dispute.withdrawn")
    withdrawn = scenario.clock.now()
    assert due(scenario, "protection_ends") == withdrawn + 3 * DAY
    fired = relevant(scenario.advance(seconds=1))
    assert [(e.type, e.data.get("kind"), e.occurred_at) for e in fired if e.occurred_at < withdrawn] == []


def test_resolution_ends_protection(scenario: Scenario) -> None:
    """After resolution no protection deadline is left and the order is final."""
    opened(scenario)
    scenario.when("dispute.seller_accepted")
    kinds = {d.kind for d in scenario.view().deadlines}
    assert not kinds & {"protection_ends", "protection_reminder", "dispute_window"}
    assert scenario.view().final


# -- refund -----------------------------------------------------------------------------------


def test_refund_overdue_alert_fifteen_days_after_resolution(scenario: Scenario) -> None:
    """Resolved with refund > 0 at T: `refund_overdue` alert at T + 15 d, not a second earlier."""
    opened(scenario)
    scenario.when("dispute.seller_accepted")
    resolved = scenario.clock.now()
    assert due(scenario, "refund_overdue") == resolved + 15 * DAY
    assert relevant(scenario.advance(days=15, seconds=-1)) == []
    fired = relevant(scenario.advance(seconds=1))
    assert [(e.type, e.data["kind"], e.occurred_at) for e in fired] == [
        ("alert.raised", "refund_overdue", resolved + 15 * DAY)
    ]
    assert "refund_overdue" in scenario.view().alerts


def test_refund_received_clears_refund_overdue(scenario: Scenario) -> None:
    """`refund.received` after the alert: the alert no longer holds; the money does not move."""
    opened(scenario)
    scenario.when("dispute.seller_accepted")
    scenario.advance(days=16)
    before = money(scenario)
    scenario.when("refund.received")
    view = scenario.view()
    assert "refund_overdue" not in view.alerts
    assert scenario.deadline("refund_overdue") is None
    assert view.to_json()["dispute"]["refund_received"] is True
    assert money(scenario) == before


def test_refund_received_in_time_prevents_the_alert(scenario: Scenario) -> None:
    """`refund.received` at T + 15 d − 1 s: no refund_overdue ever fires."""
    opened(scenario)
    scenario.when("dispute.seller_accepted")
    scenario.advance(days=15, seconds=-1)
    scenario.when("refund.received")
    scenario.advance(days=30)
    assert "refund_overdue" not in alert_kinds(scenario)


def test_refund_received_twice_is_illegal(scenario: Scenario) -> None:
    """A second `refund.received` is IllegalTransition."""
    opened(scenario)
    scenario.when("dispute.seller_accepted")
    scenario.when("refund.received")
    rejected(scenario, IllegalTransition, "refund.received")


def test_refund_received_needs_a_resolved_refund(scenario: Scenario) -> None:
    """Before any dispute, while it is open, and after a 0 refund, `refund.received` is illegal."""
    shipped(scenario)
    rejected(scenario, IllegalTransition, "refund.received")
    scenario.when("dispute.opened")
    rejected(scenario, IllegalTransition, "refund.received")


# -- money --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("asked", "refund"), [(2500, 2000), (1000, 800), (1, 0), (3, 2)])
def test_coupon_share_is_deducted_at_refund_time(scenario: Scenario, asked: int, refund: int) -> None:
    """Paid 2000 with a 500 coupon (item value 2500): seller times out on A → floor(A × 2000 / 2500)."""
    opened(scenario, {"amount": 2000, "coupon_discount": 500}, amount=asked)
    scenario.advance(days=5)
    assert outcome(scenario) == {"refund": refund, "how": "seller_timeout", "fault": None}
    assert money(scenario) == {
        "currency": "USD",
        "paid": 2000,
        "held": 0,
        "released_to_seller": 2000 - refund,
        "refunded_to_buyer": refund,
    }


def test_minus_shipping_refund_deducts_the_coupon_share_too(scenario: Scenario) -> None:
    """Paid 2000, coupon 500, shipping 300, asked 2500, no customs document: floor(2200 × 0.8) = 1760."""
    customs(scenario, {"amount": 2000, "coupon_discount": 500}, amount=2500)
    scenario.advance(days=7)
    assert outcome(scenario) == {"refund": 1760, "how": "customs_document_missed", "fault": "buyer"}
    assert money(scenario)["released_to_seller"] == 240


def test_offers_are_in_item_value_terms(scenario: Scenario) -> None:
    """With a coupon, an agreed 1250 of a 2500 item value refunds 1000 of the 2000 paid."""
    opened(scenario, {"amount": 2000, "coupon_discount": 500}, amount=2500)
    scenario.when("dispute.offer_made", {"by": "seller", "amount": 1250})
    scenario.when("dispute.offer_accepted", {"by": "buyer"})
    assert outcome(scenario)["refund"] == 1000


def test_escrow_invariant_holds_after_every_event(scenario: Scenario) -> None:
    """paid == held + released + refunded (all ≥ 0) for every prefix of a busy dispute history."""
    shipped(scenario, amount=2000, coupon_discount=500)
    scenario.when("order.receipt_confirmed")
    scenario.advance(days=1)
    scenario.when("dispute.opened", {"amount": 2500, "reason": "customs_problem", "cause": "no_invoice"})
    scenario.when("dispute.withdrawn")
    scenario.advance(days=2)
    scenario.when("dispute.reopened")
    scenario.when("dispute.offer_made", {"by": "seller", "amount": 700})
    scenario.advance(days=15)
    scenario.advance(days=7)
    scenario.advance(days=20)
    events = scenario.orders.history("o-1")
    assert "dispute.customs_document_missed" in [e.type for e in events]
    for n in range(1, len(events) + 1):
        state = fold(events[:n])
        assert state is not None
        m = state.escrow
        assert m.paid == m.held + m.released_to_seller + m.refunded_to_buyer
        assert min(m.held, m.released_to_seller, m.refunded_to_buyer) >= 0


def test_order_finishes_after_resolution_with_the_remainder_released(scenario: Scenario) -> None:
    """After a mediated partial refund the order is `finished`, final, and nothing is held."""
    opened(scenario)
    scenario.when("dispute.escalated", {"by": "buyer"})
    scenario.when("dispute.decided", {"refund_amount": 999, "fault": "seller"})
    view = scenario.view()
    assert view.states["order"] == "finished"
    assert view.final
    assert money(scenario) == {
        "currency": "USD",
        "paid": 2599,
        "held": 0,
        "released_to_seller": 1600,
        "refunded_to_buyer": 999,
    }


# -- the outcome object -------------------------------------------------------------------------------


def _seller_timeout(s: Scenario) -> None:
    opened(s)
    s.advance(days=5)


def _seller_accepted(s: Scenario) -> None:
    opened(s)
    s.when("dispute.seller_accepted")


def _agreement(s: Scenario) -> None:
    opened(s)
    s.when("dispute.offer_made", {"by": "seller", "amount": 1200})
    s.when("dispute.offer_accepted", {"by": "buyer"})


def _mediation(s: Scenario) -> None:
    opened(s)
    s.when("dispute.escalated", {"by": "seller"})
    s.when("dispute.decided", {"refund_amount": 600, "fault": "none"})


def _document_missed(s: Scenario) -> None:
    customs(s)
    s.advance(days=7)


@pytest.mark.parametrize(
    ("route", "expected"),
    [
        (_seller_timeout, {"refund": 2599, "how": "seller_timeout", "fault": None}),
        (_seller_accepted, {"refund": 2599, "how": "seller_accepted", "fault": None}),
        (_agreement, {"refund": 1200, "how": "agreement", "fault": None}),
        (_mediation, {"refund": 600, "how": "mediation", "fault": "none"}),
        (_document_missed, {"refund": 2299, "how": "customs_document_missed", "fault": "buyer"}),
    ],
    ids=["seller_timeout", "seller_accepted", "agreement", "mediation", "customs_document_missed"],
)
def test_show_json_outcome_names_refund_how_and_fault(scenario: Scenario, route: Any, expected: Any) -> None:
    """`show().to_json()["dispute"]["outcome"]` is {refund, how, fault} for every way to resolve."""
    route(scenario)
    data = scenario.view().to_json()
    assert data["states"]["dispute"] == "resolved"
    assert data["dispute"]["outcome"] == expected
    assert data["money"]["refunded_to_buyer"] == expected["refund"]


def test_show_json_outcome_is_null_while_open(scenario: Scenario) -> None:
    """While the dispute is open, `outcome` is null."""
    opened(scenario)
    assert scenario.view().to_json()["dispute"]["outcome"] is None
