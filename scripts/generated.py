"""What every `scripts/gen_*.py` generator shares: write the generated module, or with
`--check` say whether the file on disk is still what the generator makes (the drift
tests run that)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def module_head(doc: Sequence[str], imports: Sequence[str] = ("from typing import Final",)) -> list[str]:
    """The first lines of a generated module: its docstring (`doc`, one item a line),
    the `__future__` import, then `imports` (blank-line separated groups as given)."""
    first, *rest = doc
    return ['"""' + first, *rest, '"""', "", "from __future__ import annotations", "", *imports, ""]


def write_or_check(target: Path, text: str, argv: Sequence[str]) -> int:
    """Write `text` to `target`; with `--check` in `argv` only compare (exit status 1 on drift)."""
    if "--check" in argv:
        same = target.exists() and target.read_text(encoding="utf-8") == text
        print("up to date" if same else f"drifted: {target}")
        return 0 if same else 1
    target.write_text(text, encoding="utf-8")
    print(f"wrote {target}")
    return 0
