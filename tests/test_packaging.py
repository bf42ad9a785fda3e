"""What `pip install parcelfsm` (not editable) ships: every module of the source tree,
the typing marker and the JSON schemas — a package left out of the build would import
fine in an editable checkout and fail only for users."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_wheel_ships_every_module_the_py_typed_marker_and_the_schemas(tmp_path: Path) -> None:
    """A wheel built from the checkout holds each `parcelfsm/**.py`, `py.typed` and every
    schema file."""
    # built from a copy: a `build/` left in the checkout would be reused and hide a gap
    src = tmp_path / "src"
    junk = shutil.ignore_patterns(".*", "build", "dist", "*.egg-info", "__pycache__", "node_modules")
    shutil.copytree(ROOT, src, ignore=junk)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(tmp_path),
            str(src),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("parcelfsm-*.whl")
    shipped = set(zipfile.ZipFile(wheel).namelist())
    source = ROOT / "parcelfsm"
    expected = {
        p.relative_to(ROOT).as_posix()
        for p in [*source.rglob("*.py"), source / "py.typed", *(source / "schemas").glob("*.json")]
        if "__pycache__" not in p.parts
    }
    assert expected - shipped == set()
