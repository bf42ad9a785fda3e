"""Exact money: integer minor units, one currency per order, the escrow invariant.

`paid == held + released_to_seller + refunded_to_buyer` must hold after every event
(docs/rules.md); `Escrow.check` raises if a bug ever breaks it.
"""

from __future__ import annotations

from typing import Any

import attrs


@attrs.frozen
class Escrow:
    """The order's money, in minor units of `currency`."""

    currency: str
    paid: int
    held: int
    released_to_seller: int = 0
    refunded_to_buyer: int = 0

    @classmethod
    def placed(cls, currency: str, amount: int) -> Escrow:
        """The buyer paid `amount`; all of it is held by the platform."""
        return cls(currency=currency, paid=amount, held=amount)

    def refund_all(self) -> Escrow:
        """Cancellation: everything still held goes back to the buyer."""
        return attrs.evolve(self, held=0, refunded_to_buyer=self.refunded_to_buyer + self.held)

    def release_all(self) -> Escrow:
        """Completion: everything still held goes to the seller."""
        return attrs.evolve(self, held=0, released_to_seller=self.released_to_seller + self.held)

    def settle(self, refund: int) -> Escrow:
        """Dispute resolution: refund `refund` to the buyer, the rest to the seller.

        Works whether the money is still held or was already released (the refund is
        then clawed back from the seller, docs/rules.md).
        """
        refunded = self.refunded_to_buyer + refund
        return attrs.evolve(self, held=0, refunded_to_buyer=refunded, released_to_seller=self.paid - refunded)

    def check(self) -> None:
        """Raise `AssertionError` if the escrow identity or signs are broken."""
        parts = (self.held, self.released_to_seller, self.refunded_to_buyer)
        if self.paid != sum(parts) or min(parts) < 0:
            raise AssertionError(f"escrow invariant broken: {self}")

    def to_json(self) -> dict[str, Any]:
        """The `money` object of `show --json`."""
        return {
            "currency": self.currency,
            "paid": self.paid,
            "held": self.held,
            "released_to_seller": self.released_to_seller,
            "refunded_to_buyer": self.refunded_to_buyer,
        }


def refund_for(asked: int, *, amount: int, item_value: int, shipping: int = 0) -> int:
    """Money refunded for a dispute amount in item-value terms (docs/rules.md).

    `max(0, floor((asked − shipping) × amount / item_value))`: the buyer asks the full
    item value, the coupon share is deducted here, and minus-shipping outcomes pass the
    order's `shipping_cost`.
    """
    if item_value <= 0:
        return 0
    return max(0, ((asked - shipping) * amount) // item_value)
