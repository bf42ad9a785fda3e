"""Pausing Python's cyclic garbage collector around bulk work that makes no cycles.

A tick chunk or an import allocates a dozen container objects per event and keeps a
batch of them alive until it commits; the collector's automatic passes (every 700
allocations, and over the whole live batch at each older generation) then cost 5–10 %
of the CPU while finding nothing — reference counting frees these objects. Both paths
pause it for the length of the work and restore it exactly as they found it
(docs/decisions.md).
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic collector off inside the block, on again after only if it was on."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
