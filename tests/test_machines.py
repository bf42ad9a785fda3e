"""The three compiled lifecycles are sound, and `compile_machine` refuses unsound ones.

Reachability and "no trap state" are recomputed here from `spec.table` (BFS), not
taken from the library's own validator, so a lost edge in a declaration fails a test.
The tables the runtime loads (`parcelfsm.machines.tables`, generated) must equal what
the `transitions` machines compile to (`parcelfsm.machines.declared`).
"""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from collections import deque
from collections.abc import Collection, Iterable
from types import ModuleType

import pytest
from generated_check import drift
from transitions import Machine

from parcelfsm.errors import InvalidMachine
from parcelfsm.events import EVENT_TYPES
from parcelfsm.machines import DISPUTE, ORDER, PARCEL, MachineSpec, declared, scan_trigger
from parcelfsm.machines import dispute as dispute_module
from parcelfsm.machines import order as order_module
from parcelfsm.machines import parcel as parcel_module
from parcelfsm.machines.base import Row
from parcelfsm.machines.compiler import compile_machine, declare, validate
from parcelfsm.vocabulary import SCAN_STATUSES

KNOWN: frozenset[str] = frozenset({*EVENT_TYPES, *(scan_trigger(s) for s in SCAN_STATUSES)})
SPECS = [
    pytest.param(ORDER, id="order"),
    pytest.param(PARCEL, id="parcel"),
    pytest.param(DISPUTE, id="dispute"),
]
MODULES = [
    pytest.param(order_module, ORDER, declared.ORDER_MACHINE, id="order"),
    pytest.param(parcel_module, PARCEL, declared.PARCEL_MACHINE, id="parcel"),
    pytest.param(dispute_module, DISPUTE, declared.DISPUTE_MACHINE, id="dispute"),
]


def exits(spec: MachineSpec) -> dict[str, set[str]]:
    """Every state → the other states one edge away."""
    out: dict[str, set[str]] = {s: set() for s in spec.states}
    for (source, _trigger), edges in spec.table.items():
        out[source].update(e.dest for e in edges if e.dest != source)
    return out


def reachable(start: Iterable[str], graph: dict[str, set[str]]) -> set[str]:
    """Breadth-first closure of `start` over `graph`."""
    seen = set(start)
    queue = deque(seen)
    while queue:
        for nxt in graph.get(queue.popleft(), ()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


# --- the compiled machines ---------------------------------------------------------------


@pytest.mark.parametrize("spec", SPECS)
def test_compiled_machine_has_no_validation_problems(spec: MachineSpec) -> None:
    """validate() reports nothing for ORDER, PARCEL and DISPUTE."""
    assert validate(spec, KNOWN) == []


@pytest.mark.parametrize("spec", SPECS)
def test_every_state_is_reachable_from_the_initial_state(spec: MachineSpec) -> None:
    """A BFS over the table from the initial state reaches every declared state."""
    assert spec.initial in spec.states
    assert reachable({spec.initial}, exits(spec)) == set(spec.states)


@pytest.mark.parametrize("spec", SPECS)
def test_every_non_final_state_can_reach_a_final_or_resting_state(spec: MachineSpec) -> None:
    """No trap states: from every state some final or resting state is reachable."""
    graph = exits(spec)
    stops = spec.finals | spec.resting
    assert stops, "a machine needs at least one final or resting state"
    assert stops <= set(spec.states)
    traps = [s for s in spec.states if not reachable({s}, graph) & stops]
    assert traps == []


@pytest.mark.parametrize("spec", SPECS)
def test_final_states_have_no_edge_to_another_state(spec: MachineSpec) -> None:
    """Nothing leaves a final state (self-loops for recorded facts are allowed)."""
    graph = exits(spec)
    assert {f: graph[f] for f in spec.finals} == {f: set() for f in spec.finals}


@pytest.mark.parametrize("spec", SPECS)
def test_every_trigger_is_a_known_event_or_scan(spec: MachineSpec) -> None:
    """Every trigger in the table is an event type (or `scan:<status>` for the parcel)."""
    assert spec.triggers <= KNOWN
    assert {trigger for (_state, trigger) in spec.table} <= spec.triggers


def test_the_declared_final_states_match_the_contract() -> None:
    """Finals: cancelled (order); delivered, returned, seized (parcel); resolved, closed (dispute)."""
    assert ORDER.finals == {"cancelled"}
    assert PARCEL.finals == {"delivered", "returned", "seized"}
    assert DISPUTE.finals == {"resolved", "closed"}
    assert "lost" in PARCEL.resting
    assert "finished" in ORDER.resting


def test_parcel_states_match_the_contract() -> None:
    """The parcel machine has exactly docs/events.md (states)'s states, starting at not_shipped."""
    assert set(PARCEL.states) == {
        "not_shipped",
        "shipped",
        "in_transit",
        "at_customs",
        "held_at_customs",
        "at_pickup_point",
        "out_for_delivery",
        "delivered",
        "returning",
        "returned",
        "lost",
        "seized",
    }
    assert PARCEL.initial == "not_shipped"


# --- compile_machine refuses unsound machines --------------------------------------------


def build(
    states: tuple[str, ...],
    rows: tuple[Row, ...],
    *,
    finals: Collection[str],
    resting: Collection[str] = (),
    known: Collection[str] | None = None,
) -> MachineSpec:
    """Declare and compile a small test machine whose initial state is `states[0]`."""
    machine, declared = declare(states, states[0], rows)
    triggers = {row[0] for row in rows} if known is None else known
    return compile_machine("toy", machine, declared, finals=finals, resting=resting, known_triggers=triggers)


def test_a_sound_toy_machine_compiles() -> None:
    """The baseline used by the failing cases below is itself valid."""
    spec = build(("a", "b", "c"), (("go", ("a",), "b"), ("stop", ("b",), "c")), finals={"c"})
    assert spec.step("a", "go") == "b"
    assert spec.step("b", "stop") == "c"


def test_unreachable_state_is_an_invalid_machine() -> None:
    """A state no edge leads to is refused, naming it."""
    with pytest.raises(InvalidMachine, match=r"orphan.*unreachable|unreachable.*orphan"):
        build(("a", "b", "orphan"), (("go", ("a",), "b"), ("back", ("orphan",), "b")), finals={"b"})


def test_trap_state_is_an_invalid_machine() -> None:
    """A non-final state with no way out is refused, naming it."""
    with pytest.raises(InvalidMachine, match="stuck"):
        build(("a", "stuck", "done"), (("go", ("a",), "stuck"), ("end", ("a",), "done")), finals={"done"})


def test_cycle_that_never_reaches_a_final_state_is_an_invalid_machine() -> None:
    """States that only loop among themselves are traps too."""
    rows: tuple[Row, ...] = (
        ("end", ("a",), "done"),
        ("go", ("a",), "x"),
        ("ping", ("x",), "y"),
        ("pong", ("y",), "x"),
    )
    with pytest.raises(InvalidMachine, match="never reach"):
        build(("a", "x", "y", "done"), rows, finals={"done"})


def test_unknown_trigger_is_an_invalid_machine() -> None:
    """A trigger outside the known event types is refused, naming it."""
    rows: tuple[Row, ...] = (("go", ("a",), "b"), ("teleport", ("a",), "b"))
    with pytest.raises(InvalidMachine, match="teleport"):
        build(("a", "b"), rows, finals={"b"}, known={"go"})


def test_edge_out_of_a_final_state_is_an_invalid_machine() -> None:
    """A final state with a transition to another state is refused, naming it."""
    rows: tuple[Row, ...] = (("go", ("a",), "b"), ("undo", ("b",), "a"))
    with pytest.raises(InvalidMachine, match="final state b"):
        build(("a", "b"), rows, finals={"b"})


def test_unknown_final_state_is_an_invalid_machine() -> None:
    """Declaring a final state that is not a state is refused."""
    with pytest.raises(InvalidMachine, match="ghost"):
        build(("a", "b"), (("go", ("a",), "b"),), finals={"b", "ghost"})


# --- one transitions.Machine per lifecycle, compiled to the tables the runtime loads ------


def test_each_lifecycle_is_one_module_level_machine_built_by_one_declare() -> None:
    """`declared` holds one `transitions.Machine` per lifecycle, each built by one `declare`
    call, and the declaration modules build none (they are rows and state names)."""
    machines = [name for name, value in vars(declared).items() if isinstance(value, Machine)]
    assert machines == ["ORDER_MACHINE", "PARCEL_MACHINE", "DISPUTE_MACHINE"]
    tree = ast.parse(inspect.getsource(declared))
    calls = [
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("declare", "Machine")
    ]
    assert calls == ["declare"] * 3
    for module in (order_module, parcel_module, dispute_module):
        assert not [v for v in vars(module).values() if isinstance(v, Machine)], module.__name__


@pytest.mark.parametrize(("module", "spec", "machine"), MODULES)
def test_machine_has_no_auto_transitions(module: ModuleType, spec: MachineSpec, machine: Machine) -> None:
    """auto_transitions is off: no `to_<state>` triggers exist on the machine or the spec."""
    assert machine.auto_transitions is False
    assert [t for t in machine.events if t.startswith("to_")] == []
    assert [t for t in spec.triggers if t.startswith("to_")] == []


@pytest.mark.parametrize(("module", "spec", "machine"), MODULES)
def test_compiled_spec_is_read_from_the_lifecycle_machine(
    module: ModuleType, spec: MachineSpec, machine: Machine
) -> None:
    """The loaded spec's states, initial state and triggers are the machine's, and its
    states, rows and final states are the declaration module's."""
    assert spec.states == tuple(machine.states)
    assert spec.initial == machine.initial
    assert spec.triggers == frozenset(machine.events)
    assert spec.states == module.STATES
    assert spec.initial == module.INITIAL
    assert spec.rows is module.ROWS
    assert (spec.finals, spec.resting) == (module.FINALS, module.RESTING)


@pytest.mark.parametrize(("module", "spec", "machine"), MODULES)
def test_the_loaded_table_equals_what_the_transitions_machine_compiles_to(
    module: ModuleType, spec: MachineSpec, machine: Machine
) -> None:
    """Every edge of the generated table is the compiled machine's, and no edge is missing."""
    assert spec == declared.COMPILED[spec.name]
    assert dict(spec.table) == dict(declared.COMPILED[spec.name].table)


def test_the_generated_tables_module_has_not_drifted_from_the_declarations() -> None:
    """Regenerate with `python scripts/gen_machine_tables.py` when this fails."""
    assert drift("gen_machine_tables.py") == ""


def test_deciding_and_replaying_never_import_transitions() -> None:
    """The runtime loads the generated tables: importing the library, its CLI and the
    fold leaves `transitions` (and the machine builder) unimported."""
    code = (
        "import sys, parcelfsm, parcelfsm.cli, parcelfsm.fold, parcelfsm.machines;"
        "print(sorted(m for m in sys.modules if m.startswith('transitions') "
        "or m == 'parcelfsm.machines.declared'))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
