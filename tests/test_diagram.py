"""`parcelfsm diagram --order ID` and `diagram(name, current)`: the order's current state
is highlighted in each machine's Mermaid source (`classDef current` + `class S current`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from parcelfsm.cli import cli
from parcelfsm.diagram import diagram
from parcelfsm.errors import ValidationError
from parcelfsm.machines import MACHINES
from parcelfsm.testing import DEFAULTS

CLASS_LINE = re.compile(r"^    class (\w+) current$", re.M)


def run(db: Path, *args: str, now: str = "2026-03-08T10:00:00Z") -> Result:
    """The CLI on `db` with a fixed clock."""
    return CliRunner().invoke(cli, ["--db", str(db), "--now", now, *args], catch_exceptions=False)


def drawn_nodes(source: str) -> set[str]:
    """Every state the diagram draws as a node (an end of an arrow)."""
    return {n for a, b in re.findall(r"^    (\S+) --> (\S+)", source, re.M) for n in (a, b)} - {"[*]"}


@pytest.mark.parametrize(
    ("name", "state"), [(n, s) for n, m in MACHINES.items() for s in m.states if s != "none"]
)
def test_every_state_can_be_highlighted_and_is_a_drawn_node(name: str, state: str) -> None:
    """The highlight adds exactly a classDef and one class line, naming a node of the diagram."""
    plain = diagram(name)
    marked = diagram(name, state)
    assert marked.startswith(plain)
    extra = marked[len(plain) :].splitlines()
    assert extra[0].startswith("    classDef current fill:")
    assert CLASS_LINE.findall(marked) == [state]
    assert state in drawn_nodes(plain)


def test_no_dispute_is_named_in_a_comment_not_styled() -> None:
    """`none` is Mermaid's start marker, which cannot take a class."""
    marked = diagram("dispute", "none")
    assert CLASS_LINE.findall(marked) == [] and "classDef" not in marked
    assert marked.endswith("%% current state: none (no dispute yet)\n")


def test_a_state_of_another_machine_is_refused() -> None:
    """Highlighting a state the machine does not have is a ValidationError."""
    with pytest.raises(ValidationError, match="not a state of the parcel machine"):
        diagram("parcel", "frozen")


def test_diagram_order_highlights_the_states_show_reports(tmp_path: Path) -> None:
    """Without a machine, `--order` prints all three diagrams, each with the order's state
    (as `show --json` has it) highlighted; with a machine, only that one."""
    db = tmp_path / "orders.db"
    steps = [
        ("2026-03-01T10:00:00Z", "order.placed", DEFAULTS["order.placed"]),
        ("2026-03-02T10:00:00Z", "order.shipped", DEFAULTS["order.shipped"]),
        ("2026-03-05T10:00:00Z", "parcel.scanned", {"text": "Held At Customs"}),
        ("2026-03-06T10:00:00Z", "dispute.opened", DEFAULTS["dispute.opened"]),
    ]
    for when, type_name, data in steps:
        assert run(db, "record", "o-1", type_name, "--data", json.dumps(data), now=when).exit_code == 0
    states = json.loads(run(db, "--json", "show", "o-1").output)["states"]
    assert states == {"order": "frozen", "parcel": "held_at_customs", "dispute": "awaiting_seller"}
    out = run(db, "diagram", "--order", "o-1")
    assert out.exit_code == 0
    assert CLASS_LINE.findall(out.output) == ["frozen", "held_at_customs", "awaiting_seller"]
    assert out.output == "".join(diagram(n, states[n]) for n in ("order", "parcel", "dispute"))
    one = run(db, "diagram", "parcel", "--order", "o-1")
    assert one.output == diagram("parcel", "held_at_customs")


def test_diagram_order_of_a_missing_order_is_a_typed_error(tmp_path: Path) -> None:
    """An unknown order exits 3 with one line and no diagram; plain `diagram` needs no order."""
    assert run(tmp_path / "orders.db", "init").exit_code == 0
    result = run(tmp_path / "orders.db", "diagram", "--order", "nope")
    assert result.exit_code == 3
    assert result.output.startswith("NotFound: ") and "stateDiagram" not in result.output
    assert CLASS_LINE.findall(run(tmp_path / "orders.db", "diagram").output) == []
