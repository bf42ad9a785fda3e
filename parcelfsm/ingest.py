"""Tracking ingestion as a pure plan: a carrier or aggregator payload → scan commands.

Each checkpoint becomes a `parcel.scanned` command keyed by (tracking number, carrier
time, code) (docs/rules.md "Idempotency"); the service skips keys already in the log
whatever their data (aggregators re-word old checkpoints) and appends the rest in one
batch, where a checkpoint the rules refuse (e.g. a scan that would move a delivered
parcel) is reported, not appended, and the others land.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import attrs

from parcelfsm.clock import format_time
from parcelfsm.commands import Command, Recorded
from parcelfsm.errors import ValidationError, quote
from parcelfsm.feeds import parse_feed
from parcelfsm.state import OrderState


@attrs.frozen
class IngestReport:
    """What a tracking ingestion appended, skipped and rejected."""

    order_id: str
    tracking_number: str
    checkpoints: int
    appended: int
    skipped: int
    rejected: tuple[str, ...]
    #: checkpoints whose status stayed `unknown` (recorded with their text)
    warnings: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {**attrs.asdict(self), "rejected": list(self.rejected), "warnings": list(self.warnings)}

    def to_text(self) -> str:
        lines = [
            f"{self.order_id} ({self.tracking_number}): {self.checkpoints} checkpoint(s), "
            f"{self.appended} appended, {self.skipped} already present, {len(self.rejected)} rejected"
        ]
        lines += [f"  - {r}" for r in self.rejected]
        return "\n".join(lines + [f"  warning: {w}" for w in self.warnings])


@attrs.frozen
class IngestPlan:
    """The scan commands a payload asks for, one per checkpoint, in carrier-time order."""

    order_id: str
    tracking_number: str
    checkpoints: int
    commands: tuple[Command, ...]
    #: the feed's warnings (unknown statuses), carried into the report
    warnings: tuple[str, ...] = ()

    def report(self, results: Sequence[Recorded], skipped: int) -> IngestReport:
        """The report once the service has run the fresh commands."""
        rejected = tuple(
            f"{_when(r.command)} {(r.command.data or {}).get('status')}: {r.error.type}: {r.error.message}"
            for r in results
            if r.error is not None
        )
        appended = sum(1 for r in results if r.ok)
        return IngestReport(
            self.order_id, self.tracking_number, self.checkpoints, appended, skipped, rejected, self.warnings
        )


def _when(command: Command) -> str:
    at = command.at
    return format_time(at) if isinstance(at, dt.datetime) else str(at or "")


def plan_ingest(state: OrderState, payload: Any, format: str = "auto") -> IngestPlan:
    """The scan commands of a payload for the order `state` folds.

    Raises:
        ValidationError: a malformed payload, or one for a tracking number the order
            never had (nothing is appended).
    """
    feed = parse_feed(payload, format)
    known = [n for n in (state.tracking_number, *state.old_tracking_numbers) if n]
    number = feed.tracking_number or state.tracking_number
    if number is None or (feed.tracking_number and feed.tracking_number not in known):
        raise ValidationError(
            f"tracking_number: {quote(feed.tracking_number, 60)} is not a number order {state.order_id!r} had"
            + (f" ({', '.join(known)})" if known else " (it has none)")
        )
    commands = []
    for checkpoint in feed.checkpoints:
        data: dict[str, Any] = {"status": checkpoint.status, "text": checkpoint.text}
        if checkpoint.location:
            data["location"] = checkpoint.location[:256]
        commands.append(
            Command(state.order_id, "parcel.scanned", data, key=checkpoint.key(number), at=checkpoint.at)
        )
    return IngestPlan(state.order_id, number, len(feed.checkpoints), tuple(commands), feed.warnings)
