"""One test per article passage the rules follow, through the API or the CLI.

Each docstring names the article by its title and quotes the passage; the articles are
listed in docs/articles.md, which also says where they disagree and which default the
library chose. The order is placed and shipped at T0 (2026-03-01T10:00Z, a Sunday)
unless a test says otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from parcelfsm.cli import cli
from parcelfsm.errors import ValidationError
from parcelfsm.policy import Policy
from parcelfsm.testing import Scenario

T0 = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)
PLACED = {"amount": 2599, "currency": "USD", "shipping_cost": 300, "destination_country": "US"}
CUSTOMS_DISPUTE = {
    "solution": "refund_only",
    "goods_received": False,
    "reason": "customs_problem",
    "amount": 2599,
    "cause": "no_invoice",
    "description": "Customs held the parcel: no invoice.",
}


def day(n: float) -> dt.datetime:
    """The instant `n` days after T0."""
    return T0 + dt.timedelta(days=n)


def ship(scenario: Scenario, **placed: Any) -> None:
    """Place the order (with `placed` overrides) and ship it, both at T0."""
    scenario.given(("order.placed", placed), "order.shipped")


def scan(scenario: Scenario, at: dt.datetime, **data: Any) -> None:
    """A scan with carrier time `at` (the clock moves up to `at` first)."""
    if scenario.clock.now() < at:
        scenario.clock.set(at)
    scenario.when("parcel.scanned", data, at=at)


def due(scenario: Scenario, kind: str) -> dt.datetime | None:
    """The due time of the open deadline `kind`, or None."""
    deadline = scenario.deadline(kind)
    return None if deadline is None else deadline.due_at


def shell(db: Path, now: str, *args: str) -> tuple[int, Any]:
    """`parcelfsm --db DB --now NOW --json ARGS…`: exit code and decoded output."""
    result = CliRunner().invoke(cli, ["--db", str(db), "--now", now, "--json", *args])
    return result.exit_code, json.loads(result.output) if result.output.strip() else None


# --- Error during customs clearance in Aliexpress -------------------------------------------


def test_customs_stall_counts_from_the_first_message_not_from_identical_repeats(
    scenario: Scenario,
) -> None:
    """Error during customs clearance in Aliexpress: act "if the parcel status is not
    updated more than 5 days from receipt of the first message" — a repeat of the same
    status and text is no update, so the stall alert still fires 5 days after the first."""
    ship(scenario)
    scan(scenario, day(2), text="Clearing Customs")
    scan(scenario, day(4), text="Clearing Customs")
    scan(scenario, day(6), text="clearing customs.")  # same words: no news either
    assert due(scenario, "customs_stall") == day(7)
    scenario.clock.set(day(7))
    fired = scenario.orders.tick()
    assert [e.data.get("kind") for e in fired if e.type == "alert.raised"] == ["customs_stalled"]
    assert scenario.view().alerts == ("customs_stalled",)


def test_a_customs_scan_that_brings_news_restarts_the_stall_count(scenario: Scenario) -> None:
    """Error during customs clearance in Aliexpress: the 5 days run from a message; a new
    message (here the parcel is now held) is an update and counts again from itself."""
    ship(scenario)
    scan(scenario, day(2), text="Clearing Customs")
    scan(scenario, day(5), text="Held At Customs")
    assert due(scenario, "customs_stall") == day(10)
    scenario.then(parcel="held_at_customs")


def test_customs_stall_through_the_cli_ignores_a_repeated_notice(tmp_path: Path) -> None:
    """Error during customs clearance in Aliexpress, through the CLI: the same customs
    notice reported twice leaves the stall deadline where the first one set it."""
    db = tmp_path / "o.db"
    assert (
        shell(db, "2026-03-01T10:00:00Z", "record", "o-1", "order.placed", "--data", json.dumps(PLACED))[0]
        == 0
    )
    ship_data = json.dumps({"tracking_number": "RB123456785CN"})
    assert shell(db, "2026-03-01T10:00:00Z", "record", "o-1", "order.shipped", "--data", ship_data)[0] == 0
    notice = json.dumps({"status": "arrived_at_customs", "text": "Import customs clearance started"})
    for when in ("2026-03-03T10:00:00Z", "2026-03-05T10:00:00Z"):
        code, _ = shell(db, when, "record", "o-1", "parcel.scanned", "--data", notice, "--at", when)
        assert code == 0
    code, view = shell(db, "2026-03-06T10:00:00Z", "show", "o-1")
    assert code == 0
    stall = [d for d in view["deadlines"] if d["kind"] == "customs_stall"]
    assert [(d["due_at"], d["set_by_version"]) for d in stall] == [("2026-03-08T10:00:00Z", 3)]


def test_customs_advice_says_do_not_rush_to_escalate(scenario: Scenario) -> None:
    """Error during customs clearance in Aliexpress: "do not immediately aggravate the
    dispute, first try to negotiate with the seller" — while the customs dispute waits
    for the seller, advice says not to rush escalation and names the mediation date."""
    ship(scenario)
    scan(scenario, day(3), status="customs_held")
    scenario.clock.set(day(4))
    scenario.when("dispute.opened", CUSTOMS_DISPUTE)
    advice = [a for a in scenario.view().advice if "rush to escalate" in a.text]
    assert len(advice) == 1
    assert advice[0].by == day(19)
    assert "2026-03-20" in advice[0].text and "7 days" in advice[0].text


# --- How AliExpress Orders Are Cleared For Customs -----------------------------------------


def test_a_parcel_held_a_month_at_customs_is_still_held_not_lost(scenario: Scenario) -> None:
    """How AliExpress Orders Are Cleared For Customs: orders that do not clear "may stay
    with customs indefinitely" — after a month of silence the parcel still reads
    held_at_customs, customs_stalled is active, and no presumed_lost is armed."""
    ship(scenario)
    scan(scenario, day(3), text="Held At Customs")
    scenario.clock.set(day(34))
    fired = scenario.orders.tick()
    assert "parcel.presumed_lost" not in [e.type for e in fired]
    scenario.then(parcel="held_at_customs")
    assert scenario.view().alerts == ("customs_stalled",)
    assert due(scenario, "presumed_lost") is None


def test_where_the_seller_pays_duty_unpaid_duty_is_the_sellers_fault() -> None:
    """How AliExpress Orders Are Cleared For Customs: "the responsibility of paying duties
    may fall on the AliExpress seller or the buyer" — where the policy says the seller
    pays (customs.duty_paid_by), a dispute for unpaid duty refunds in full."""
    policy = Policy.from_dict({"customs.duty_paid_by": {"US": "seller"}})
    scenario = Scenario(policy=policy)
    try:
        ship(scenario)
        scenario.when("dispute.opened", {**CUSTOMS_DISPUTE, "cause": "unpaid_duty"})
        scenario.when("dispute.escalated")
        scenario.when("dispute.decided", {})
        outcome = scenario.view().to_json()["dispute"]["outcome"]
        assert outcome == {"refund": 2599, "how": "mediation", "fault": "seller"}
    finally:
        scenario.close()


def test_by_default_the_buyer_pays_duty_and_unpaid_duty_costs_the_shipping(scenario: Scenario) -> None:
    """How AliExpress Orders Are Cleared For Customs: by default the buyer owes the duty,
    so unpaid duty is the buyer's fault and the refund is the amount minus shipping."""
    ship(scenario)
    scenario.when("dispute.opened", {**CUSTOMS_DISPUTE, "cause": "unpaid_duty"})
    scenario.when("dispute.escalated")
    scenario.when("dispute.decided", {})
    outcome = scenario.view().to_json()["dispute"]["outcome"]
    assert outcome == {"refund": 2299, "how": "mediation", "fault": "buyer"}


# --- My parcel from Aliexpress did not pass customs, what should I do? ---------------------


def test_protection_counts_from_the_sellers_stated_delivery_term(scenario: Scenario) -> None:
    """My parcel from Aliexpress did not pass customs, what should I do?: a full refund is
    due when the goods are not received "within the timeframe specified by the seller" —
    an order placed with protection_days=45 completes 45 days after shipment, and the
    deadline cites the order's term."""
    scenario.when("order.placed", {"protection_days": 45})
    ship_by = scenario.deadline("ship_by")  # the processing rule is not the protection rule
    assert ship_by is not None and ship_by.rule == "order.processing_days_default=7"
    scenario.when("order.shipped")
    deadline = scenario.deadline("protection_ends")
    assert deadline is not None
    assert (deadline.due_at, deadline.rule) == (day(45), "order.protection_days=45")


def test_the_sellers_term_cannot_exceed_the_countrys_maximum(tmp_path: Path) -> None:
    """My parcel from Aliexpress did not pass customs, what should I do?: "The maximum
    guaranteed delivery period … is 60 days (90 days for delivery to Russia, 120 days for
    Brazil)" — a stated term above the destination's maximum is a ValidationError and
    nothing is recorded; at the maximum it is accepted."""
    db = tmp_path / "o.db"
    now = "2026-03-01T10:00:00Z"
    too_long = json.dumps({**PLACED, "destination_country": "RU", "protection_days": 91})
    code, out = shell(db, now, "record", "o-1", "order.placed", "--data", too_long)
    assert code == 3 and out["error"]["type"] == "ValidationError"
    assert "protection_days" in out["error"]["message"]
    assert shell(db, now, "show", "o-1")[0] == 3  # nothing was recorded
    longest = json.dumps({**PLACED, "destination_country": "BR", "protection_days": 120})
    assert shell(db, now, "record", "o-1", "order.placed", "--data", longest)[0] == 0


def test_the_sellers_term_must_be_at_least_one_day(scenario: Scenario) -> None:
    """My parcel from Aliexpress did not pass customs, what should I do?: the seller's
    timeframe is a number of days, at least one."""
    with pytest.raises(ValidationError, match="protection_days"):
        scenario.when("order.placed", {"protection_days": 0})


def test_customs_failure_advice_asks_for_the_customs_document_early_with_dates(
    scenario: Scenario,
) -> None:
    """My parcel from Aliexpress did not pass customs, what should I do?: "the standard
    time frame for registering a request for a document is 3 business days. And the
    document itself can be prepared … within 30 days", while an escalated customs dispute
    gives 7 days — so the advice asks for the document now and names the dates."""
    ship(scenario)
    scan(scenario, day(5), text="Customs clearance failed")  # Friday 2026-03-06
    advice = [a for a in scenario.view().advice if "official customs document" in a.text]
    assert len(advice) == 1
    text = advice[0].text
    # three business days after Friday 03-06 is Wednesday 03-11; thirty days later, 04-10
    assert "until 2026-03-11" in text and "until 2026-04-10" in text and "7 days" in text
    assert advice[0].by == dt.datetime(2026, 3, 11, 10, 0, tzinfo=dt.UTC)


def test_customs_failure_advice_waits_for_the_return_to_china(scenario: Scenario) -> None:
    """My parcel from Aliexpress did not pass customs, what should I do?: "Before opening a
    dispute, wait until the parcel returns to China" — while the refused parcel is on its
    way back, advice says to wait, but to open the dispute before protection ends."""
    ship(scenario)
    scan(scenario, day(5), text="Customs clearance failed")
    scenario.then(parcel="returning")
    waiting = [a for a in scenario.view().advice if "back in China" in a.text]
    assert len(waiting) == 1
    assert waiting[0].by == day(60)
    assert "2026-04-30" in waiting[0].text


def test_seller_fault_customs_failure_is_a_full_refund(scenario: Scenario) -> None:
    """My parcel from Aliexpress did not pass customs, what should I do?: "If the parcel
    did not pass customs due to the fault of the seller … the dispute will probably be
    fully resolved in your favor" — a missing invoice is the seller's fault."""
    ship(scenario)
    scenario.when("dispute.opened", {**CUSTOMS_DISPUTE, "cause": "no_invoice"})
    scenario.when("dispute.escalated")
    scenario.when("dispute.decided", {})
    assert scenario.view().to_json()["dispute"]["outcome"]["refund"] == 2599


def test_seller_reply_window_is_five_days(scenario: Scenario) -> None:
    """My parcel from Aliexpress did not pass customs, what should I do?: "the seller is
    given 5 days during which he can accept your dispute" (How to open dispute on
    Aliexpress? says 7: older rules; docs/articles.md) — a silent seller loses on day 5."""
    ship(scenario)
    scenario.when("dispute.opened", CUSTOMS_DISPUTE)
    assert due(scenario, "seller_response") == day(5)
    scenario.clock.set(day(5))
    assert "dispute.seller_timed_out" in [e.type for e in scenario.orders.tick()]


def test_refund_is_overdue_after_fifteen_days(scenario: Scenario) -> None:
    """My parcel from Aliexpress did not pass customs, what should I do?: "the money is
    returned within the standard time frame - from 3 to 15 days" (the other articles say
    "2 weeks" and "up to 7 days"; docs/articles.md) — refund_overdue is due 15 days on."""
    ship(scenario)
    scenario.when("dispute.opened", CUSTOMS_DISPUTE)
    scenario.when("dispute.seller_accepted")
    deadline = scenario.deadline("refund_overdue")
    assert deadline is not None
    assert (deadline.due_at, deadline.rule) == (day(15), "refund.overdue_days=15")


def test_customs_document_advice_ends_when_no_dispute_can_be_opened(scenario: Scenario) -> None:
    """My parcel from Aliexpress did not pass customs, what should I do?: the document is
    evidence for the dispute — once protection and the dispute window have run out, the
    advice no longer asks for it (only a complaint is left)."""
    ship(scenario)
    scan(scenario, day(5), text="Customs clearance failed")
    assert any("official customs document" in a.text for a in scenario.view().advice)
    scenario.clock.set(day(76))
    scenario.orders.tick()
    texts = [a.text for a in scenario.view().advice]
    assert not any("official customs document" in t for t in texts)
    assert any("only a complaint" in t for t in texts)
