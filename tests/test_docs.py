"""The docs are executable and self-contained: outputs, diagrams, examples and links are checked."""

from __future__ import annotations

import importlib.util
import inspect
import re
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from parcelfsm.cli import cli
from parcelfsm.cli_support import Commands
from parcelfsm.clock import ManualClock
from parcelfsm.policy import COUNTRY_KEY, Policy
from parcelfsm.service import open as open_orders
from parcelfsm.testing import START, Scenario

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
DOCS = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md"))}
#: what a clone of the project must never point at (only `.ci/` may: CI runs beside it)
FORBIDDEN = (
    "../" + "shared",
    "CONTRACT" + ".md",
    "DOMAIN" + ".md",
)  # spelled apart: this file is checked too


def _readme_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("readme_script", ROOT / "scripts" / "readme.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["README.md", *(f"docs/{n}" for n in DOCS)])
def test_console_outputs_and_diagrams_are_current(name: str) -> None:
    """Every console example re-runs to the printed output; diagrams equal the generator."""
    text = (ROOT / name).read_text(encoding="utf-8")
    fresh = _readme_module().render(text)
    assert fresh == text, "run `python scripts/readme.py --write` and review the diff"


def test_architecture_embeds_the_three_generated_diagrams() -> None:
    """The order, parcel and dispute diagrams are all in docs/architecture.md."""
    for name in ("order", "parcel", "dispute"):
        assert f"`parcelfsm diagram {name}`" in DOCS["architecture.md"]


def test_architecture_places_every_module_of_the_package() -> None:
    """docs/architecture.md's layer map names every module of `parcelfsm/` (a new module
    gets a place in the layers, or the map drifts from the code)."""
    names = {p.stem for p in (ROOT / "parcelfsm").rglob("*.py") if p.stem != "__init__"}
    assert sorted(n for n in names if n not in DOCS["architecture.md"]) == []


def test_every_cli_command_has_help_and_a_cli_reference_entry() -> None:
    """A command without help text or without a row in docs/cli.md fails."""
    assert isinstance(cli, Commands)
    for name, command in cli.every_command().items():
        assert command.help and command.help.strip(), name
        assert f"| `{name}" in DOCS["cli.md"], f"docs/cli.md does not document `{name}`"


def test_every_policy_key_is_explained_in_the_rules() -> None:
    """docs/rules.md names every policy key with its default."""
    keys = [k for k in Policy.default().to_dict() if k != "version"]
    assert COUNTRY_KEY in keys
    missing = [k for k in keys if f"`{k}`" not in DOCS["rules.md"]]
    assert missing == []


def test_rules_cite_all_five_articles_by_title() -> None:
    """Each source [000]…[004] is listed with its title, and cited by some rule."""
    rules = DOCS["rules.md"]
    for number in ("000", "001", "002", "003", "004"):
        assert re.search(rf"\| \[{number}\] \| \"[^\"]+\"", rules), number
        assert rules.count(f"[{number}]") >= 3, number


def test_readme_quick_start_has_the_two_commands_ci_runs() -> None:
    """The README's test command is the one `.ci/run` runs."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ".venv/bin/python -m pytest" in README
    assert ".venv/bin/python -m pytest" in ci


def test_readme_and_docs_link_only_to_files_in_the_repository() -> None:
    """Every relative Markdown link resolves to a file of the repository."""
    for name, text in [("README.md", README), *((f"docs/{n}", t) for n, t in DOCS.items())]:
        base = (ROOT / name).parent
        for target in re.findall(r"\]\(([^)#\s]+)", text):
            if re.match(r"https?://", target):
                continue
            path = (base / target).resolve()
            assert path.is_relative_to(ROOT), f"{name} links outside the repository: {target}"
            assert path.exists(), f"{name} links to a missing file: {target}"


def test_no_tracked_file_outside_ci_refers_to_the_spec_folder() -> None:
    """A clone holds every doc a user needs: no file names the spec folder or its two files."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    files = listed.stdout.split() if listed.returncode == 0 else []
    if not files:  # not a git checkout (an sdist): check what is there
        files = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file() and ".venv" not in p.parts]
    offenders = []
    for name in files:
        if name.startswith(".ci/") or not (ROOT / name).is_file():
            continue
        text = (ROOT / name).read_text(encoding="utf-8", errors="replace")
        offenders += [f"{name}: {word}" for word in FORBIDDEN if word in text]
    assert len(files) > 50
    assert offenders == []


def _fixtures_for(fn: object) -> dict[str, object]:
    """What the pytest plugin would pass: `clock`, `orders` (on that clock), `scenario`."""
    params = inspect.signature(fn).parameters  # type: ignore[arg-type]
    clock = ManualClock(START)
    orders = open_orders("memory:", clock=clock)
    available: dict[str, object] = {"clock": clock, "orders": orders, "scenario": Scenario(orders=orders)}
    return {name: available[name] for name in params}


@pytest.mark.parametrize("name", ["README.md", *(f"docs/{n}" for n in DOCS)])
def test_python_examples_run(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The Python blocks run as written (their asserts hold; their test functions pass)."""
    monkeypatch.chdir(tmp_path)
    text = (ROOT / name).read_text(encoding="utf-8")
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        namespace: dict[str, object] = {}
        exec(compile(block, name, "exec"), namespace)
        for key, value in namespace.items():
            if key.startswith("test_") and callable(value):
                value(**_fixtures_for(value))


def test_the_api_page_has_runnable_examples() -> None:
    """docs/api.md shows the API and the pytest plugin in Python that the suite runs."""
    blocks = re.findall(r"```python\n(.*?)```", DOCS["api.md"], re.S)
    assert len(blocks) >= 2
    assert any("def test_" in b and "assert_deadline" in b for b in blocks)
