"""The README is executable: its console outputs, diagrams and command list are checked."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from parcelfsm.cli import cli

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _readme_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("readme_script", ROOT / "scripts" / "readme.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_console_outputs_and_diagrams_are_current() -> None:
    """Every README example re-runs to the printed output; diagrams equal the generator."""
    fresh = _readme_module().render(README)
    assert fresh == README, "run `python scripts/readme.py --write` and review the diff"


def test_readme_embeds_the_three_generated_diagrams() -> None:
    """The order, parcel and dispute diagrams are all in the README."""
    for name in ("order", "parcel", "dispute"):
        assert f"`parcelfsm diagram {name}`" in README


def test_every_cli_command_has_help_and_a_readme_entry() -> None:
    """A command without help text or without a mention in the README fails."""
    for name, command in cli.commands.items():
        assert command.help and command.help.strip(), name
        assert f"`{name}`" in README, f"README does not document `{name}`"


def test_readme_quick_start_has_the_two_commands_ci_runs() -> None:
    """The README's test command is the one `.ci/run` runs."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ".venv/bin/python -m pytest" in README
    assert ".venv/bin/python -m pytest" in ci


def test_readme_python_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's Python blocks run as written (and their asserts hold)."""
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", README, re.S)
    assert len(blocks) >= 2
    for block in blocks:
        namespace: dict[str, object] = {}
        exec(compile(block, "README.md", "exec"), namespace)
        for name, value in namespace.items():
            if name.startswith("test_") and callable(value):
                value()
