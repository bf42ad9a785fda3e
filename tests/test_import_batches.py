"""Import batches: one transaction per batch, a batch bounded by the streams it touches
(each touched order's projection is written once per batch), by its lines and by its
bytes; a bad line undoes only its own batch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import parcelfsm
import parcelfsm.transfer
from parcelfsm.clock import ManualClock
from parcelfsm.errors import ValidationError

PLACED = {"amount": 1000, "currency": "USD", "shipping_cost": 0, "destination_country": "US"}


def _lines(tmp_path: Path, orders: int = 12) -> list[str]:
    """Exported lines: every order placed, then every order shipped (interleaved)."""
    clock = ManualClock("2026-01-01")
    with parcelfsm.open(str(tmp_path / "source.db"), clock=clock) as source:
        for step in range(2):
            for i in range(orders):
                clock.set(f"2026-01-01T00:{step:02d}:{i:02d}Z")
                if step == 0:
                    source.record(f"o-{i}", "order.placed", PLACED)
                else:
                    source.record(f"o-{i}", "order.shipped", {"tracking_number": f"LP{i:09d}"})
        return [json.dumps(e.to_json(), sort_keys=True) for e in source.export_events()]


def _appended_before_a_bad_line(tmp_path: Path, lines: list[str], bad_at: int) -> int:
    """How many events a failed import left stored (the earlier batches)."""
    with parcelfsm.open(str(tmp_path / "target.db"), clock=ManualClock("2027-01-01")) as target:
        with pytest.raises(ValidationError, match=f"line {bad_at + 1}"):
            target.import_lines([*lines[:bad_at], "{not json"])
        assert target.replay(verify=True).problems == ()
        return target.log.count_events()


def test_a_batch_ends_when_it_has_touched_batch_streams(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With 3 streams per batch, 10 lines over 10 orders commit as 3 + 3 + 3; the tenth
    line's batch is undone with the bad line after it."""
    monkeypatch.setattr(parcelfsm.transfer, "BATCH", 3)
    assert _appended_before_a_bad_line(tmp_path, _lines(tmp_path), 10) == 9


def test_lines_of_few_streams_share_one_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two orders' four lines stay in one batch under a 3-stream bound: a bad fifth line
    leaves nothing stored."""
    lines = _lines(tmp_path, orders=2)
    monkeypatch.setattr(parcelfsm.transfer, "BATCH", 3)
    assert _appended_before_a_bad_line(tmp_path, lines, 4) == 0


def test_a_batch_also_ends_at_its_line_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Few streams, many lines: the line bound still ends batches (rows wait in memory)."""
    monkeypatch.setattr(parcelfsm.transfer, "BATCH_LINES", 4)
    assert _appended_before_a_bad_line(tmp_path, _lines(tmp_path, orders=2), 4) == 4


def test_a_batch_also_ends_at_its_byte_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large events end a batch by their bytes: with a 1-byte bound every line commits."""
    monkeypatch.setattr(parcelfsm.transfer, "BATCH_BYTES", 1)
    assert _appended_before_a_bad_line(tmp_path, _lines(tmp_path, orders=2), 3) == 3
