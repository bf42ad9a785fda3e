"""Run the console examples of README.md and docs/*.md and check (or rewrite) their output.

Each file is rendered on its own. Every ```console block is a script: lines starting
with `$ parcelfsm` are run with click's CliRunner in one temporary directory (so the
blocks of a file share `readme.db`; it starts with copies of `scripts/examples/*`),
and the lines after each command are its
expected output. A command ending in `> FILE` writes its output to FILE instead.
The ```mermaid blocks must equal `parcelfsm diagram NAME`.

    python scripts/readme.py           # exit 1 and show the first difference
    python scripts/readme.py --write   # rewrite the outputs in README.md and docs/*.md
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

from click.testing import CliRunner

from parcelfsm.cli import cli
from parcelfsm.diagram import diagram

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
#: every file whose console blocks and diagrams are generated
DOCUMENTS = (README, *sorted((ROOT / "docs").glob("*.md")))
EXAMPLES = Path(__file__).resolve().parent / "examples"
BLOCK = re.compile(r"```(console|mermaid)\n(.*?)```", re.S)


def run_console(block: str, runner: CliRunner) -> str:
    """Re-run a console block; returns the block with fresh outputs."""
    out: list[str] = []
    for line in block.splitlines():
        if not line.startswith("$ "):
            continue
        out.append(line)
        args = shlex.split(line[2:])
        assert args[0] == "parcelfsm", line
        target = None
        if len(args) > 2 and args[-2] == ">":  # `> FILE`: stdout goes to a file
            args, target = args[:-2], args[-1]
        result = runner.invoke(cli, args[1:], catch_exceptions=False, prog_name="parcelfsm")
        text = result.output.rstrip("\n")
        if target is not None:
            Path(target).write_text(result.output, encoding="utf-8")
            text = ""
        if result.exit_code:
            text += ("\n" if text else "") + f"[exit {result.exit_code}]"
        if text:
            out.append(text)
    return "\n".join(out) + "\n"


def render(text: str) -> str:
    """README text with every console output and diagram regenerated."""
    runner = CliRunner()
    with tempfile.TemporaryDirectory() as tmp:
        cwd = os.getcwd()
        for example in EXAMPLES.glob("*"):
            shutil.copy(example, tmp)
        os.chdir(tmp)
        old = os.environ.pop("PARCELFSM_DB", None), os.environ.pop("PARCELFSM_NOW", None)
        try:
            parts: list[str] = []
            last = 0
            for match in BLOCK.finditer(text):
                kind, body = match.group(1), match.group(2)
                if kind == "console":
                    body = run_console(body, runner)
                else:
                    name = re.search(r"parcelfsm diagram (\w+)", body)
                    if name:
                        body = diagram(name.group(1))
                parts.append(text[last : match.start()] + f"```{kind}\n{body}```")
                last = match.end()
            parts.append(text[last:])
            return "".join(parts)
        finally:
            os.chdir(cwd)
            for key, value in zip(("PARCELFSM_DB", "PARCELFSM_NOW"), old, strict=True):
                if value is not None:
                    os.environ[key] = value


def main(argv: list[str]) -> int:
    status = 0
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        fresh = render(text)
        if "--write" in argv:
            if fresh != text:
                path.write_text(fresh, encoding="utf-8")
            continue
        if fresh != text:
            import difflib

            name = str(path.relative_to(ROOT))
            diff = difflib.unified_diff(text.splitlines(True), fresh.splitlines(True), name, "fresh")
            sys.stdout.writelines(list(diff)[:60])
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
