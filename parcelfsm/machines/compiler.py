"""Compile a declared `transitions.Machine` into a plain lookup table, and check it.

A lifecycle is declared once as rows and handed to `transitions` (the declaration is
the single source for validation, diagrams and docs); `compile_machine` reads the
machine back into `{(state, trigger): edges}` so deciding and replaying never touch
the transitions machinery, and validates it in the spirit of python-statemachine: one
initial state, every state reachable, no trap states, nothing leaves a final state,
every trigger known, no ambiguous edges. The runtime loads the result from
`parcelfsm.machines.tables` (generated; see `parcelfsm.machines.declared`), so only
the generator, the drift test and these checks import `transitions`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from parcelfsm.errors import InvalidMachine
from parcelfsm.machines.base import Edge, MachineSpec, Row

if TYPE_CHECKING:
    from transitions import Machine


def declare(states: Sequence[str], initial: str, rows: Iterable[Row]) -> tuple[Machine, tuple[Row, ...]]:
    """Build a lifecycle's `transitions.Machine` from rows."""
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
