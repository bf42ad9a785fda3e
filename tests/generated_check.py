"""Drift tests of generated modules: run a `scripts/gen_*.py --check` as a user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def drift(script: str) -> str:
    """`""` when the module `script` generates is up to date, else what the check printed."""
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / script), "--check"], capture_output=True, text=True, timeout=120
    )
    return "" if done.returncode == 0 else done.stdout + done.stderr
