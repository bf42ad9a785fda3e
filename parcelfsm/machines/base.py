"""Compile a declared `transitions.Machine` into a plain lookup table, and check it.

A lifecycle is declared once as rows and handed to `transitions` (the declaration is
the single source for validation, diagrams and docs); `compile_machine` reads the
machine back into `{(state, trigger): edges}` so deciding and replaying never touch
the transitions machinery, and validates it in the spirit of python-statemachine: one
initial state, every state reachable, no trap states, nothing leaves a final state,
every trigger known, no ambiguous edges. The compiled tables are generated into
`parcelfsm.machines.tables` (see `parcelfsm.machines.declared`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import attrs

from parcelfsm.errors import IllegalTransition, InvalidMachine

if TYPE_CHECKING:
    from transitions import Machine

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


def declare(states: Sequence[str], initial: str, rows: Iterable[Row]) -> tuple[Machine, tuple[Row, ...]]:
    """Build a lifecycle's `transitions.Machine` from rows (`transitions` is imported here:
    only validation, the table generator and the drift test build machines)."""
    from transitions import Machine

    rows = tuple(rows)
    specs: list[dict[str, Any]] = []
    for row in rows:
        trigger, sources, dest = row[0], row[1], row[2]
        spec: dict[str, Any] = {"trigger": trigger, "source": list(sources), "dest": dest}
        if len(row) == 4:
            cond = row[3]
            key = "unless" if cond.startswith("!") else "conditions"
            spec[key] = cond.lstrip("!")
        specs.append(spec)
    machine = Machine(
        model=None,
        states=list(states),
        initial=initial,
        transitions=specs,
        auto_transitions=False,
        send_event=False,
    )
    return machine, rows


def compile_machine(
    name: str,
    machine: Machine,
    rows: tuple[Row, ...],
    *,
    finals: Collection[str],
    resting: Collection[str] = (),
    known_triggers: Collection[str],
) -> MachineSpec:
    """Read the machine back into a table and validate it (raises `InvalidMachine`)."""
    states = tuple(machine.states.keys())
    table: dict[tuple[str, str], list[Edge]] = {}
    for trigger, event in machine.events.items():
        for source, transitions in event.transitions.items():
            for transition in transitions:
                if transition.dest not in machine.states:
                    raise InvalidMachine(f"{name}: {trigger} goes to unknown state {transition.dest}")
                conds = list(transition.conditions)
                if len(conds) > 1:
                    raise InvalidMachine(f"{name}: {trigger} from {source} has several conditions")
                dest = str(transition.dest)
                edge = Edge(dest, str(conds[0].func), bool(conds[0].target)) if conds else Edge(dest)
                table.setdefault((source, trigger), []).append(edge)
    spec = MachineSpec(
        name=name,
        states=states,
        initial=str(machine.initial),
        finals=frozenset(finals),
        resting=frozenset(resting),
        table={k: tuple(v) for k, v in table.items()},
        triggers=frozenset(machine.events),
        rows=rows,
    )
    problems = validate(spec, known_triggers)
    if problems:
        raise InvalidMachine(f"{name} machine: " + "; ".join(problems))
    return spec


def validate(spec: MachineSpec, known_triggers: Collection[str]) -> list[str]:
    """Every problem of a compiled machine, each naming its culprit (empty when sound)."""
    problems: list[str] = []
    states = set(spec.states)
    for extra in (spec.finals | spec.resting) - states:
        problems.append(f"declared final/resting state {extra} is not a state")
    if spec.initial not in states:
        problems.append(f"initial state {spec.initial} is not a state")
    for trigger in sorted(spec.triggers - set(known_triggers)):
        problems.append(f"unknown trigger {trigger}")
    exits: dict[str, set[str]] = {s: set() for s in states}
    for (source, _), edges in spec.table.items():
        unconditional = [e for e in edges if e.condition is None]
        if len(unconditional) > 1 or (unconditional and len(edges) > 1):
            problems.append(f"ambiguous edges for {_} from {source}")
        exits[source].update(e.dest for e in edges if e.dest != source)
    reachable = _closure({spec.initial}, exits)
    for state in spec.states:
        if state not in reachable:
            problems.append(f"state {state} is unreachable from {spec.initial}")
    for final in sorted(spec.finals):
        if exits.get(final):
            problems.append(f"final state {final} has transitions out: {sorted(exits[final])}")
    stops = spec.finals | spec.resting
    for state in spec.states:
        if state in stops:
            continue
        if not exits[state]:
            problems.append(f"state {state} is a trap (no way out and not final)")
        elif not (_closure({state}, exits) & stops):
            problems.append(f"state {state} can never reach a final state")
    return problems


def _closure(start: set[str], exits: Mapping[str, set[str]]) -> set[str]:
    seen = set(start)
    todo = list(start)
    while todo:
        for nxt in exits.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


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
