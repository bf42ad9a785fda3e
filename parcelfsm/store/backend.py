"""`Backend`: one storage engine = a `Recorder` (the log) + `Projections` (read models).

Backends: `memory` (plain Python, for tests and `parcelfsm.testing`), `sqlite` (the
embedded default) and `postgresql` (many app instances and timer workers on one
shared database). `parcelfsm.store.open_backend(target)` picks one by its target.
"""

from __future__ import annotations

from typing import Protocol

from parcelfsm.store.projections import Projections
from parcelfsm.store.recorder import Recorder


class Backend(Recorder, Projections, Protocol):
    """A storage engine: the log and its projections on one connection (or pool)."""

    #: "memory", "sqlite" or "postgresql"
    name: str
    #: True when opened read-only: every write raises `ValidationError`
    read_only: bool

    def wait(self, seconds: float) -> None:
        """Sleep up to `seconds`, returning early when another process writes a deadline
        (PostgreSQL: `LISTEN`/`NOTIFY`); the timer loop calls it between batches."""
        ...
