"""The projections seam: per-order summary rows and the due index, rebuildable from the log.

Projections are written in the same transaction as the events they follow, so a
reader never sees one without the other. A backend stores these rows as given; the
mapping from a folded order to its rows lives above it (`parcelfsm.store.log`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

import attrs


@attrs.frozen(slots=True)
class OrderRow:
    """A row of the `orders` projection (current state summary of one order)."""

    stream_id: str
    version: int
    order_state: str
    parcel_state: str
    dispute_state: str
    currency: str
    paid: int
    held: int
    released_to_seller: int
    refunded_to_buyer: int
    policy_version: str
    #: the active alerts as of the last write, sorted, space-separated ("" for none)
    alerts: str = ""

    @property
    def order_id(self) -> str:
        """The order's id (the stream's id)."""
        return self.stream_id

    def to_json(self) -> dict[str, object]:
        """The row as `list --json` prints it (money in integer minor units)."""
        return {
            "order_id": self.stream_id,
            "version": self.version,
            "states": {"order": self.order_state, "parcel": self.parcel_state, "dispute": self.dispute_state},
            "money": {
                "currency": self.currency,
                "paid": self.paid,
                "held": self.held,
                "released_to_seller": self.released_to_seller,
                "refunded_to_buyer": self.refunded_to_buyer,
            },
            "alerts": self.alerts.split(),
            "policy_version": self.policy_version,
        }


@attrs.frozen(slots=True)
class DeadlineRow:
    """A row of the `deadlines` projection: one open, unpaused deadline of one order.

    `due_us` (integer microseconds since the epoch) orders the due index; `rank` is the
    deadline table's row (the tie-break for equal due times); `alert` the alert kind it
    raises, if any.
    """

    stream_id: str
    kind: str
    due_at: str
    due_us: int
    rank: int
    rule: str
    set_by_version: int | None
    on_expiry: str
    alert: str | None


@attrs.frozen(slots=True)
class ProjectionChange:
    """What changed in one order's projections since the rows last written for it.

    `order` is the new `orders` row; `removed` the deadline kinds no longer open (their
    rows are deleted); `upserted` the deadline rows that are new or differ (written over
    any row of the same kind). Deadlines of other kinds are left as they are.
    """

    order: OrderRow
    removed: tuple[str, ...] = ()
    upserted: tuple[DeadlineRow, ...] = ()


@attrs.frozen(slots=True)
class OrderFilter:
    """Which orders `select_orders` returns (all conditions must hold; None = any)."""

    order_state: str | None = None
    parcel_state: str | None = None
    dispute_state: str | None = None
    alert: str | None = None
    due_before_us: int | None = None


class Projections(Protocol):
    """The read models every backend keeps beside its log."""

    def save_projections(self, rows: Iterable[tuple[OrderRow, Sequence[DeadlineRow]]]) -> None:
        """Replace each order's row and deadlines (inside the append's transaction)."""
        ...

    def update_projections(self, changes: Iterable[ProjectionChange]) -> None:
        """Apply each change (inside the append's transaction): write the order row,
        delete the `removed` deadline kinds, write the `upserted` deadline rows.

        The caller knows the rows it wrote last for each order (the service's state
        cache), so a command that leaves the deadlines alone writes no deadline row.
        """
        ...

    def order_row(self, stream_id: str) -> OrderRow | None:
        """One order's row."""
        ...

    def deadline_rows(self, stream_id: str) -> list[DeadlineRow]:
        """One order's deadlines, by (due_us, rank)."""
        ...

    def select_due(self, before_us: int, limit: int) -> list[DeadlineRow]:
        """Deadlines with `due_us <= before_us`, by (due_us, rank, set_by_version, stream_id)."""
        ...

    def count_due(self, before_us: int) -> int:
        """How many deadlines have `due_us <= before_us`."""
        ...

    def streams_due(self, before_us: int, limit: int) -> list[str]:
        """Orders with a deadline due by `before_us`, earliest first.

        Inside a write transaction a backend serving several workers claims them
        (PostgreSQL: `FOR UPDATE SKIP LOCKED` on their `orders` rows), so two workers
        never fire the same order's deadlines; the claim ends with the transaction.
        """
        ...

    def select_orders(self, where: OrderFilter, after: str, limit: int) -> list[OrderRow]:
        """Up to `limit` order rows matching `where` with `stream_id > after`, by stream_id."""
        ...

    def projected_ids(self) -> set[str]:
        """Order ids present in the projections."""
        ...

    def clear_projections(self) -> None:
        """Empty the projections (a rebuild rewrites them)."""
        ...
