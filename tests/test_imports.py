"""Every module imports on its own (no import cycle depends on import order)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import parcelfsm

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


def _module_imports(path: Path, package_root: Path) -> set[str]:
    """The parcelfsm modules `path` imports at module level (TYPE_CHECKING blocks excluded)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    body = list(tree.body)
    while body:
        node = body.pop(0)
        if isinstance(node, ast.If):
            test = node.test
            is_type_checking = (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
                isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
            )
            body.extend(node.orelse if is_type_checking else node.body + node.orelse)
        elif isinstance(node, ast.Try):
            body.extend(node.body + node.orelse + node.finalbody)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("parcelfsm"))
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("parcelfsm"):
            for alias in node.names:  # `from parcelfsm.store import sqlite` imports a module
                candidate = f"{node.module}.{alias.name}"
                is_module = (package_root.parent / (candidate.replace(".", "/") + ".py")).exists()
                found.add(candidate if is_module else node.module)
    return found


def import_graph() -> dict[str, set[str]]:
    """parcelfsm's module-level import graph (a package's `__init__` is the package name)."""
    root = Path(parcelfsm.__file__).parent
    graph: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        graph[name] = _module_imports(path, root)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of `graph`, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt in graph and nxt not in state and (cycle := visit(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The checker below can fail: a three-module loop is reported."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_inside_parcelfsm() -> None:
    """Module-level imports inside parcelfsm form no cycle (lazy imports in functions aside)."""
    graph = import_graph()
    assert len(graph) >= 30
    assert find_cycle(graph) is None
