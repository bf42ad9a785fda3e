"""Carriers' own event codes → normalized statuses, checked before any aggregator's tag.

Aggregators are known to mis-tag some carrier codes (AfterShip tags Cainiao's
`CC_IM_START`, import clearance *started*, as customs clearance *completed*), so a
checkpoint that carries the carrier's code is mapped by that code first
(`carrier_status`); the aggregator's tag is the fallback and the text normalizer the
last resort.
"""

from __future__ import annotations

from parcelfsm.carriers.cainiao import CAINIAO_ACTION_CODES, CAINIAO_FAMILIES, cainiao_status


def carrier_status(code: str | None) -> str | None:
    """The status a carrier code stands for, or None when no carrier table knows it."""
    return cainiao_status(code)


__all__ = ["CAINIAO_ACTION_CODES", "CAINIAO_FAMILIES", "cainiao_status", "carrier_status"]
