"""The three lifecycles as `transitions` machines, and their compiled, validated tables.

Each lifecycle is one module-level `transitions.Machine` built by `declare` from the
rows of its declaration module (`order`, `parcel`, `dispute`), then read back and
validated by `compile_machine` (one initial state, every state reachable, no trap
states, nothing leaves a final state, every trigger a known event type).

This is where the tables come from, not what the runtime loads: importing
`transitions` and building the machines costs tens of milliseconds, so
`scripts/gen_machine_tables.py` writes the compiled tables to
`parcelfsm.machines.tables` once, and `tests/test_machines.py` fails when that file
drifts from what this module compiles. Deciding, replaying and `show` never import
this module.
"""

from __future__ import annotations

from typing import Final

from parcelfsm.events import EVENT_TYPES
from parcelfsm.machines import dispute, order, parcel
from parcelfsm.machines.base import MachineSpec
from parcelfsm.machines.compiler import compile_machine, declare
from parcelfsm.vocabulary import SCAN_STATUSES

ORDER_MACHINE: Final = declare(order.STATES, order.INITIAL, order.ROWS)[0]
PARCEL_MACHINE: Final = declare(parcel.STATES, parcel.INITIAL, parcel.ROWS)[0]
DISPUTE_MACHINE: Final = declare(dispute.STATES, dispute.INITIAL, dispute.ROWS)[0]

#: every trigger a machine may use: the event types, and `scan:<status>` for the parcel
KNOWN_TRIGGERS: Final = frozenset({*EVENT_TYPES, *(parcel.scan_trigger(s) for s in SCAN_STATUSES)})

ORDER: Final[MachineSpec] = compile_machine(
    "order",
    ORDER_MACHINE,
    order.ROWS,
    finals=order.FINALS,
    resting=order.RESTING,
    known_triggers=EVENT_TYPES,
)
PARCEL: Final[MachineSpec] = compile_machine(
    "parcel",
    PARCEL_MACHINE,
    parcel.ROWS,
    finals=parcel.FINALS,
    resting=parcel.RESTING,
    known_triggers=KNOWN_TRIGGERS,
)
DISPUTE: Final[MachineSpec] = compile_machine(
    "dispute",
    DISPUTE_MACHINE,
    dispute.ROWS,
    finals=dispute.FINALS,
    resting=dispute.RESTING,
    known_triggers=EVENT_TYPES,
)
#: name -> compiled spec, in the order the tables are written
COMPILED: Final = {"order": ORDER, "parcel": PARCEL, "dispute": DISPUTE}
