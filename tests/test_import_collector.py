"""An import pauses Python's cyclic garbage collector while it runs (its objects form
no reference cycles) and gives it back as it found it, after a refused line too."""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import parcelfsm
from parcelfsm.clock import ManualClock
from parcelfsm.errors import ValidationError

PLACED = {"amount": 1000, "currency": "USD", "shipping_cost": 0, "destination_country": "US"}


def _lines(tmp_path: Path, orders: int) -> list[str]:
    """Exported lines of `orders` orders, each placed and shipped."""
    clock = ManualClock("2026-01-01")
    with parcelfsm.open(str(tmp_path / "source.db"), clock=clock) as source:
        for i in range(orders):
            clock.set(f"2026-01-01T00:00:{i:02d}Z")
            source.record(f"o-{i}", "order.placed", PLACED)
            source.record(f"o-{i}", "order.shipped", {"tracking_number": f"LP{i:09d}"})
        return [json.dumps(e.to_json(), sort_keys=True) for e in source.export_events()]


@pytest.fixture
def collector() -> Iterator[None]:
    """Restores the collector's state whatever a test leaves it in."""
    enabled = gc.isenabled()
    yield
    if enabled:
        gc.enable()
    else:
        gc.disable()


@pytest.mark.usefixtures("collector")
@pytest.mark.parametrize("enabled", [True, False])
def test_an_import_pauses_the_collector_and_restores_it(tmp_path: Path, enabled: bool) -> None:
    """While lines are read the collector is off; after the import it is on again only
    if it was on before."""
    seen: list[bool] = []

    def lines() -> Iterator[str]:
        for text in _lines(tmp_path, 3):
            seen.append(gc.isenabled())
            yield text

    (gc.enable if enabled else gc.disable)()
    with parcelfsm.open(str(tmp_path / "target.db"), clock=ManualClock("2027-01-01")) as target:
        assert target.import_lines(lines()).appended == 6
    assert seen and not any(seen)
    assert gc.isenabled() is enabled


@pytest.mark.usefixtures("collector")
def test_a_refused_import_gives_the_collector_back(tmp_path: Path) -> None:
    """A bad line ends the import with its error and the collector running again."""
    gc.enable()
    lines = [*_lines(tmp_path, 1), "{not json"]
    target = parcelfsm.open(str(tmp_path / "target.db"), clock=ManualClock("2027-01-01"))
    with target, pytest.raises(ValidationError, match="line 3"):
        target.import_lines(lines)
    assert gc.isenabled()


@pytest.mark.usefixtures("collector")
def test_an_import_leaves_no_reference_cycles_whatever_its_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the collector finds after an import (its per-batch passes switched off) does
    not grow with the lines imported: reference counting frees everything, so pausing
    the collector costs no memory."""
    collect = gc.collect
    monkeypatch.setattr(gc, "collect", lambda generation=2: 0)
    found = []
    for orders in (5, 60):
        (tmp_path / str(orders)).mkdir()
        lines = _lines(tmp_path / str(orders), orders)
        with parcelfsm.open(str(tmp_path / f"t{orders}.db"), clock=ManualClock("2027-01-01")) as target:
            collect()
            gc.disable()
            assert target.import_lines(lines).appended == 2 * orders
            found.append(collect())
            gc.enable()
    assert found[1] <= found[0] + 5
