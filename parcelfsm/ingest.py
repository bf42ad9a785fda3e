"""Tracking ingestion: a Cainiao or AfterShip payload → `parcel.scanned` commands.

Each checkpoint is keyed by (tracking number, carrier time, code) (docs/rules.md
"Idempotency"); a key already present is skipped whatever its data, because
aggregators re-word old checkpoints. A checkpoint the rules reject (e.g. a scan that
would move a delivered parcel) is reported, not appended; the others land.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from parcelfsm.errors import ParcelFsmError, ValidationError
from parcelfsm.feeds import parse_feed
from parcelfsm.fold import fold

if TYPE_CHECKING:
    from parcelfsm.service import Orders


@attrs.frozen
class IngestReport:
    """What a tracking ingestion appended, skipped and rejected."""

    order_id: str
    tracking_number: str
    checkpoints: int
    appended: int
    skipped: int
    rejected: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {**attrs.asdict(self), "rejected": list(self.rejected)}

    def to_text(self) -> str:
        lines = [
            f"{self.order_id} ({self.tracking_number}): {self.checkpoints} checkpoint(s), "
            f"{self.appended} appended, {self.skipped} already present, {len(self.rejected)} rejected"
        ]
        return "\n".join(lines + [f"  - {r}" for r in self.rejected])


def ingest(orders: Orders, order_id: str, payload: Any, format: str = "auto") -> IngestReport:
    """Append the payload's checkpoints to an order.

    Raises:
        ValidationError: a malformed payload, or one for a tracking number the order
            never had (nothing is appended).
    """
    feed = parse_feed(payload, format)
    state = fold(orders.history(order_id))
    assert state is not None
    known = [n for n in (state.tracking_number, *state.old_tracking_numbers) if n]
    number = feed.tracking_number or state.tracking_number
    if number is None or (feed.tracking_number and feed.tracking_number not in known):
        raise ValidationError(
            f"tracking_number: {feed.tracking_number!r} is not a number order {order_id!r} had"
            + (f" ({', '.join(known)})" if known else " (it has none)")
        )
    appended, skipped, rejected = 0, 0, []
    for checkpoint in feed.checkpoints:
        key = checkpoint.key(number)
        if orders.store.find_key(key) is not None:
            skipped += 1
            continue
        data: dict[str, Any] = {"status": checkpoint.status, "text": checkpoint.text}
        if checkpoint.location:
            data["location"] = checkpoint.location[:256]
        try:
            orders.record(order_id, "parcel.scanned", data, key=key, at=checkpoint.at)
            appended += 1
        except ParcelFsmError as exc:
            rejected.append(f"{checkpoint.to_json()['at']} {checkpoint.status}: {exc.type}: {exc.message}")
    return IngestReport(order_id, number, len(feed.checkpoints), appended, skipped, tuple(rejected))
