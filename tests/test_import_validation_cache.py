"""An import validates a (type, data) pair once and remembers it: a remembered pair
never lets through data that is invalid for another type, and every line is still held
to its own stream's rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import parcelfsm
from parcelfsm.clock import ManualClock
from parcelfsm.errors import IllegalTransition, ValidationError

PLACED = {"amount": 1000, "currency": "USD", "shipping_cost": 0, "destination_country": "US"}


def _line(stream: str, version: int, type_name: str, data: dict[str, Any], second: int) -> str:
    at = f"2026-01-01T00:00:{second:02d}Z"
    return json.dumps(
        {"stream_id": stream, "version": version, "type": type_name, "occurred_at": at, "data": data}
    )


def _import(tmp_path: Path, lines: list[str]) -> parcelfsm.Orders:
    orders = parcelfsm.open(str(tmp_path / "o.db"), clock=ManualClock("2027-01-01"))
    try:
        orders.import_lines(lines)
    except BaseException:
        orders.close()
        raise
    return orders


def test_data_valid_for_one_type_is_still_refused_for_another(tmp_path: Path) -> None:
    """`{"status": "in_transit"}` passed as a scan; as an `order.shipped` it is refused."""
    lines = [
        _line("o-1", 1, "order.placed", PLACED, 1),
        _line("o-1", 2, "order.shipped", {"tracking_number": "LP1"}, 2),
        _line("o-1", 3, "parcel.scanned", {"status": "in_transit"}, 3),
        _line("o-2", 1, "order.placed", PLACED, 4),
        _line("o-2", 2, "order.shipped", {"status": "in_transit"}, 5),
    ]
    with pytest.raises(ValidationError, match=r"line 5: .*status: unknown field"):
        _import(tmp_path, lines)


def test_remembered_data_is_still_folded_by_its_own_stream(tmp_path: Path) -> None:
    """The same scan data, valid before, is refused on an order that was never shipped."""
    lines = [
        _line("o-1", 1, "order.placed", PLACED, 1),
        _line("o-1", 2, "order.shipped", {"tracking_number": "LP1"}, 2),
        _line("o-1", 3, "parcel.scanned", {"status": "in_transit"}, 3),
        _line("o-2", 1, "order.placed", PLACED, 4),
        _line("o-2", 2, "parcel.scanned", {"status": "in_transit"}, 5),
    ]
    with pytest.raises(IllegalTransition, match="line 5"):
        _import(tmp_path, lines)


def test_repeated_valid_data_imports_like_distinct_data(tmp_path: Path) -> None:
    """Many orders with identical data import and verify clean, one event per line."""
    lines = []
    for i in range(30):
        lines.append(_line(f"o-{i}", 1, "order.placed", PLACED, 1))
        lines.append(_line(f"o-{i}", 2, "order.shipped", {"tracking_number": "LP1"}, 2))
    with _import(tmp_path, lines) as orders:
        assert orders.log.count_events() == 60
        assert orders.replay(verify=True).problems == ()
