"""Stories several test files tell the same way (one telling each, so they cannot drift)."""

from __future__ import annotations

from parcelfsm.testing import Scenario

CUSTOMS = {"reason": "customs_problem", "cause": "no_invoice", "description": "Held at customs."}


def customs_story(s: Scenario) -> None:
    """o-1 shipped to RU, held at customs (its stall alert fires), a customs dispute the
    seller lets time out (full refund), the refund arrives — 21 days after the order."""
    s.given(("order.placed", {"destination_country": "RU"}))
    s.advance(days=1)
    s.when("order.shipped")
    s.advance(days=3)
    s.when("parcel.scanned", {"text": "Clearing Customs"})
    s.advance(days=3)
    s.when("parcel.scanned", {"text": "Held At Customs"})
    s.advance(days=6)
    s.when("dispute.opened", CUSTOMS)
    s.advance(days=5)
    s.advance(days=3)
    s.when("refund.received")
