"""The three lifecycles, each declared once with `transitions` and compiled to a table."""

from parcelfsm.machines.base import Edge, MachineSpec, mermaid
from parcelfsm.machines.dispute import DISPUTE
from parcelfsm.machines.order import ORDER
from parcelfsm.machines.parcel import PARCEL, SCAN_TARGETS, scan_trigger

MACHINES = {"order": ORDER, "parcel": PARCEL, "dispute": DISPUTE}

__all__ = [
    "DISPUTE",
    "MACHINES",
    "ORDER",
    "PARCEL",
    "SCAN_TARGETS",
    "Edge",
    "MachineSpec",
    "mermaid",
    "scan_trigger",
]
