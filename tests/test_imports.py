"""Every module imports on its own (no import cycle depends on import order)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import importlib, pkgutil, sys
import parcelfsm
names = [m.name for m in pkgutil.walk_packages(parcelfsm.__path__, "parcelfsm.")]
for name in names:
    for loaded in [k for k in sys.modules if k == "parcelfsm" or k.startswith("parcelfsm.")]:
        del sys.modules[loaded]
    importlib.import_module(name)
print(len(names))
"""


def test_each_module_imports_first_in_a_fresh_interpreter_state() -> None:
    """Importing any module first works (a cycle once broke `import parcelfsm.advice`)."""
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout.strip()) >= 30
