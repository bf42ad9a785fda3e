"""The public API type-checks the way an embedding app uses it (mypy --strict as a test)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
USAGE = ROOT / "tests" / "typecheck" / "api_usage.py"


def _mypy(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--cache-dir=/dev/null", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_user_code_with_a_manual_clock_type_checks() -> None:
    """`orders.clock.advance(...)` on an `open(clock=ManualClock(...))` book passes mypy --strict."""
    result = _mypy(USAGE)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_rejects_advancing_a_system_clock(tmp_path: Path) -> None:
    """The check can fail: a `SystemClock` book has no `advance`, and mypy says so."""
    bad = tmp_path / "bad_usage.py"
    bad.write_text(
        "import parcelfsm\n\n\ndef f() -> None:\n    parcelfsm.open(':memory:').clock.advance(days=1)\n",
        encoding="utf-8",
    )
    result = _mypy(bad)
    assert result.returncode == 1
    assert '"SystemClock" has no attribute "advance"' in result.stdout
