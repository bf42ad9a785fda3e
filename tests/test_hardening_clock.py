"""Issue 14, "a clock guard on the CLI": a write dated more than a day ahead of the system
clock (`record --now 2099-…`, a typo in the year) would fire every deadline of the order
irreversibly; it is refused (ValidationError, exit 3, nothing written) unless
`--allow-future` or `$PARCELFSM_ALLOW_FUTURE=1` is given. Reads, dry runs and the API
with an injected clock are unaffected. The system clock is frozen with freezegun."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Final

import pytest
from freezegun import freeze_time
from hardening_kit import build, error_of, logical, ok, run

import parcelfsm
from parcelfsm.clock import ManualClock
from parcelfsm.testing import DEFAULTS

WALL: Final = "2026-03-20T10:00:00Z"
NEXT_DAY: Final = "2026-03-21T10:00:00Z"  # exactly one day ahead: allowed
TYPO: Final = "2099-03-20T10:00:00Z"
SCAN: Final = json.dumps({"status": "in_transit"})


@pytest.fixture(autouse=True)
def _guard_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The suite allows the future by default (tests/conftest.py); these tests do not."""
    monkeypatch.delenv("PARCELFSM_ALLOW_FUTURE", raising=False)
    with freeze_time(WALL):
        yield


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build(tmp_path / "x.db")


def _feed(tmp_path: Path) -> Path:
    payload = {
        "tracking_number": DEFAULTS["order.shipped"]["tracking_number"],
        "checkpoints": [
            {"checkpoint_time": "2026-03-10T10:00:00Z", "tag": "InTransit", "message": "In transit"}
        ],
    }
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(payload))
    return path


def _writes(tmp_path: Path) -> dict[str, list[str]]:
    dump = tmp_path / "in.jsonl"
    dump.write_text("")
    return {
        "record --now": ["--now", TYPO, "record", "o-1", "parcel.scanned", "--data", SCAN],
        "record --at": ["--now", WALL, "record", "o-1", "parcel.scanned", "--data", SCAN, "--at", TYPO],
        "tick": ["--now", TYPO, "tick"],
        "advance --to": ["--now", WALL, "advance", "--to", TYPO],
        "import": ["--now", TYPO, "import", str(dump)],
        "track-ingest": ["--now", TYPO, "track-ingest", "o-1", str(_feed(tmp_path))],
    }


@pytest.mark.parametrize(
    "name", ["record --now", "record --at", "tick", "advance --to", "import", "track-ingest"]
)
def test_a_write_dated_far_ahead_of_the_system_clock_is_refused_and_writes_nothing(
    db: Path, tmp_path: Path, name: str
) -> None:
    """Exit 3, a message naming the option and `--allow-future`, the database unchanged."""
    argv = _writes(tmp_path)[name]
    before = logical(db)
    result = run(db, *argv, now=None)
    assert result.exit_code == 3, result.output
    error = error_of(result)
    assert error["type"] == "ValidationError"
    assert "--allow-future" in error["message"]
    assert argv[argv.index(TYPO) - 1] in error["message"]  # names --now, --at or --to
    assert logical(db) == before


@pytest.mark.parametrize("name", ["record --now", "tick", "advance --to"])
def test_allow_future_flag_or_environment_lets_the_write_through(
    db: Path, tmp_path: Path, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--allow-future` (or PARCELFSM_ALLOW_FUTURE=1) is the deliberate way to simulate."""
    argv = _writes(tmp_path)[name]
    assert run(db, "--allow-future", *argv, now=None).exit_code == 0
    monkeypatch.setenv("PARCELFSM_ALLOW_FUTURE", "1")
    assert run(build(tmp_path / "y.db"), *argv, now=None).exit_code == 0


def test_a_write_up_to_one_day_ahead_is_allowed(db: Path) -> None:
    """Clock skew between machines is not a typo: one day ahead is still accepted."""
    ok(run(db, "record", "o-1", "parcel.scanned", "--data", SCAN, now=NEXT_DAY))


@pytest.mark.parametrize(
    "argv",
    [
        ["show", "o-1"],
        ["show", "o-1", "--at", TYPO],
        ["history", "o-1"],
        ["due"],
        ["advise", "o-1"],
        ["advance", "--to", TYPO, "--dry-run"],
        ["replay", "--verify"],
        ["export"],
    ],
)
def test_reads_and_dry_runs_at_a_future_time_are_unaffected(db: Path, argv: list[str]) -> None:
    """Looking ahead changes nothing, so it needs no guard."""
    before = logical(db)
    assert run(db, *argv, now=TYPO).exit_code == 0
    assert logical(db) == before


def test_the_api_with_an_injected_clock_is_unaffected(db: Path) -> None:
    """An embedding app that injects a clock far ahead is trusted (simulation, tests)."""
    with parcelfsm.open(str(db), clock=ManualClock(TYPO)) as orders:
        events = orders.record("o-1", "parcel.scanned", {"status": "in_transit"})
    assert events[-1].type == "parcel.scanned"
