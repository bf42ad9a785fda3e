"""A compiled lifecycle as plain data: `MachineSpec` and its `{(state, trigger): edges}`
table, what deciding and replaying step through.

The tables are compiled from the `transitions` machines (`parcelfsm.machines.compiler`,
`parcelfsm.machines.declared`) and generated into `parcelfsm.machines.tables`, which
`spec_from_text` reads back at import. `mermaid` draws a spec from its rows.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Final

import attrs

from parcelfsm.errors import IllegalTransition

SAME: Final = "="
#: a row: (trigger, source states, destination or "=", optional condition "name"/"!name")
Row = tuple[str, tuple[str, ...], str] | tuple[str, tuple[str, ...], str, str]


@attrs.frozen
class Edge:
    """One compiled transition: destination, and the condition that selects it."""

    dest: str
    condition: str | None = None
    expected: bool = True


@attrs.frozen
class MachineSpec:
    """A compiled lifecycle: states, initial, finals and the transition table.

    `finals` are absorbing (nothing leaves them); `resting` states are where a
    lifecycle may legitimately stay for good although edges still leave them (an
    order `finished` inside its dispute window, a `lost` parcel that may be found).
    """

    name: str
    states: tuple[str, ...]
    initial: str
    finals: frozenset[str]
    resting: frozenset[str]
    table: Mapping[tuple[str, str], tuple[Edge, ...]]
    triggers: frozenset[str]
    rows: tuple[Row, ...]

    def step(self, state: str, trigger: str, conditions: Callable[[str], bool] | None = None) -> str:
        """The state after `trigger` in `state`, or `IllegalTransition`."""
        edges = self.table.get((state, trigger))
        if edges is None:
            shown = "none" if state == "none" else state
            raise IllegalTransition(
                f"{trigger} is not allowed while the {self.name} is {shown}" + _allowed_hint(self, trigger)
            )
        for edge in edges:
            if edge.condition is None:
                return edge.dest
            if conditions is not None and conditions(edge.condition) == edge.expected:
                return edge.dest
        raise IllegalTransition(f"{trigger}: no transition of the {self.name} applies in {state}")

    def allows(self, state: str, trigger: str) -> bool:
        """True when `trigger` has an edge out of `state`."""
        return (state, trigger) in self.table


def _allowed_hint(spec: MachineSpec, trigger: str) -> str:
    sources = sorted({s for (s, t) in spec.table if t == trigger})
    return f" (allowed in: {', '.join(sources)})" if sources else ""


def spec_from_text(
    name: str,
    rows: tuple[Row, ...],
    *,
    states: str,
    initial: str,
    finals: str,
    resting: str,
    triggers: str,
    table: str,
) -> MachineSpec:
    """A compiled spec from its generated text: space-separated names, and one edge per
    table line, `STATE TRIGGER DEST [CONDITION | !CONDITION]`, in the compiled order."""
    edges: dict[tuple[str, str], list[Edge]] = {}
    for line in table.splitlines():
        if not line:
            continue
        state, trigger, dest, *condition = line.split()
        edge = Edge(dest)
        if condition:
            edge = Edge(dest, condition[0].lstrip("!"), not condition[0].startswith("!"))
        edges.setdefault((state, trigger), []).append(edge)
    return MachineSpec(
        name=name,
        states=tuple(states.split()),
        initial=initial,
        finals=frozenset(finals.split()),
        resting=frozenset(resting.split()),
        table={key: tuple(value) for key, value in edges.items()},
        triggers=frozenset(triggers.split()),
        rows=rows,
    )


def mermaid(
    spec: MachineSpec,
    labels: Mapping[str, str] | None = None,
    quiet: Collection[str] = (),
    note_on: str | None = None,
    note: str = "keep the state",
) -> str:
    """Render a Mermaid `stateDiagram-v2` from the compiled machine.

    `labels` maps a trigger to its label (timed triggers get their deadline); edges
    between the same two states are merged into one arrow. A `none` initial state is
    drawn as the start marker. Self-loops of `quiet` triggers are left out and named
    once in a note instead.
    """
    labels = labels or {}
    arrows: dict[tuple[str, str], list[str]] = {}
    for row in spec.rows:
        trigger, sources, dest = row[0], row[1], row[2]
        for source in sources:
            target = source if dest == SAME else dest
            if trigger in quiet and (target == source or len(row) == 4):
                continue
            label = labels.get(trigger, trigger)
            if len(row) == 4:
                label += f" [{row[3]}]"
            bucket = arrows.setdefault((source, target), [])
            if label not in bucket:
                bucket.append(label)

    def node(state: str) -> str:
        return "[*]" if state == "none" else state

    lines = ["stateDiagram-v2"]
    if spec.initial != "none":
        lines.append(f"    [*] --> {spec.initial}")
    for (source, target), names in arrows.items():
        lines.append(f"    {node(source)} --> {node(target)} : {', '.join(names)}")
    for final in sorted(spec.finals):
        lines.append(f"    {final} --> [*]")
    if quiet:
        kept = ", ".join(labels.get(t, t) for t in sorted(quiet))
        lines.append(f"    note right of {note_on or spec.initial} : {kept} {note}")
    return "\n".join(lines) + "\n"
