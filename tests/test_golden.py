"""A recorded reference log pins every byte the library stores and shows.

`tests/golden/reference.jsonl` is a seeded `scripts/simulate.py` run (24 orders, 274
events: keyed retries, timed events, disputes) made by the code before the
performance work (`main` as of the policy 2026.2; `reference-0.1.jsonl` is the same
run recorded by parcelfsm 0.1); `tests/golden/expected.json` holds its projections, every order's
`show` view at three instants and the `due` list. Any optimisation of the canonical
encoder, the hash chain, the fold, the deadlines or the store must leave all of them
byte-identical, and the stored hashes of the reference log must still verify.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import parcelfsm
from parcelfsm.clock import ManualClock

GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(GOLDEN))
import make_golden  # noqa: E402  (the generator defines how the expected files were made)

REFERENCE = GOLDEN / "reference.jsonl"
#: the same simulation recorded by parcelfsm 0.1 (policy 2026.1): old logs must still verify
REFERENCE_0_1 = GOLDEN / "reference-0.1.jsonl"


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    """The expected projections, views and due list."""
    return json.loads((GOLDEN / "expected.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same seeded simulation, recorded again command by command by today's code."""
    tmp = tmp_path_factory.mktemp("golden")
    db, out = tmp / "sim.db", tmp / "sim.jsonl"
    done = subprocess.run(make_golden.simulate_argv(db, out), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return db, out


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference log imported into an empty database."""
    db = tmp_path_factory.mktemp("golden-import") / "imported.db"
    lines = REFERENCE.read_text(encoding="utf-8").splitlines()
    with parcelfsm.open(str(db), clock=ManualClock("2027-01-01")) as orders:
        report = orders.import_lines(lines)
    assert report.appended == len(lines)
    return db


def test_recording_the_same_commands_stores_byte_identical_events_and_hashes(
    recorded: tuple[Path, Path],
) -> None:
    """Every event the commands produce (data, times, versions, keys, hashes) is the reference's."""
    _, out = recorded
    got, want = out.read_bytes(), REFERENCE.read_bytes()
    if got != want:
        pairs = zip(out.read_text().splitlines(), REFERENCE.read_text().splitlines(), strict=False)
        first = next((i for i, (a, b) in enumerate(pairs) if a != b), None)
        pytest.fail(f"recorded log differs from the reference, first at line {first}")
    assert len(want.splitlines()) == 274


def test_recording_writes_the_reference_projections(
    recorded: tuple[Path, Path], expected: dict[str, Any]
) -> None:
    """The orders and deadlines rows written while recording are the reference rows."""
    db, _ = recorded
    assert make_golden.projections(db) == expected["projections"]


def test_import_then_export_gives_back_the_reference_bytes(imported: Path, tmp_path: Path) -> None:
    """Imported events export as the exact reference lines (the stored hashes verify on import)."""
    with parcelfsm.open(str(imported), clock=ManualClock("2027-01-01")) as orders:
        lines = [json.dumps(e.to_json(), sort_keys=True) for e in orders.export_events()]
    assert "\n".join(lines) + "\n" == REFERENCE.read_text(encoding="utf-8")


def test_import_writes_the_reference_projections(imported: Path, expected: dict[str, Any]) -> None:
    """Projections built by import equal the ones built while recording."""
    assert make_golden.projections(imported) == expected["projections"]


def test_rebuild_and_verify_keep_the_reference_projections(
    imported: Path, expected: dict[str, Any], tmp_path: Path
) -> None:
    """A full rebuild rewrites the same rows, and verify finds the reference log intact."""
    with parcelfsm.open(str(imported), clock=ManualClock("2027-01-01")) as orders:
        rebuilt = orders.replay()
        verified = orders.replay(verify=True)
    assert (rebuilt.events, rebuilt.problems) == (274, ())
    assert (verified.events, verified.problems) == (274, ())
    assert make_golden.projections(imported) == expected["projections"]


def test_show_and_due_answer_as_in_the_reference(imported: Path, expected: dict[str, Any]) -> None:
    """Every order's view at three instants, and the due list, are the reference's."""
    got = make_golden.views(imported)
    assert got["due"] == expected["due"]
    assert got["show"].keys() == expected["show"].keys()
    for oid, views in expected["show"].items():
        assert got["show"][oid] == views, oid


def test_show_json_as_a_process_prints_the_reference_view(imported: Path, expected: dict[str, Any]) -> None:
    """`parcelfsm --json show` prints the reference view (the CLI path, lazy imports included)."""
    at = make_golden.SHOW_AT[1]
    done = subprocess.run(
        [sys.executable, "-c", "from parcelfsm.cli import main; main()", "--db", str(imported),
         "--now", at, "--json", "show", "o-000003"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == expected["show"]["o-000003"][at]


def test_a_changed_byte_in_the_reference_log_fails_verification(tmp_path: Path) -> None:
    """The golden comparison can fail: one edited amount makes import reject the line."""
    lines = REFERENCE.read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0].replace('"amount": 5506', '"amount": 5507', 1)
    with (
        parcelfsm.open(str(tmp_path / "x.db"), clock=ManualClock("2027-01-01")) as orders,
        pytest.raises(parcelfsm.errors.ParcelFsmError),
    ):
        orders.import_lines(lines)


def test_a_log_recorded_by_parcelfsm_0_1_still_imports_verifies_and_exports_byte_identical(
    tmp_path: Path,
) -> None:
    """The stored hashes of an older log (another default policy) verify unchanged."""
    text = REFERENCE_0_1.read_text(encoding="utf-8")
    with parcelfsm.open(str(tmp_path / "old.db"), clock=ManualClock("2027-01-01")) as orders:
        report = orders.import_lines(text.splitlines())
        assert report.appended == len(text.splitlines())
        assert orders.replay(verify=True).problems == ()
        lines = [json.dumps(e.to_json(), sort_keys=True) for e in orders.export_events()]
    assert "\n".join(lines) + "\n" == text
