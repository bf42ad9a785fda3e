"""The timer loop: fire due deadlines as they fall due, on any number of processes.

`run_timers(orders)` (and `parcelfsm tick --loop`) repeats one step: claim up to
`batch` orders with a deadline due by now and fire them in one transaction
(`Orders.fire_batch`; on PostgreSQL the claim is `FOR UPDATE SKIP LOCKED`, so workers
on many hosts never fire the same order), then sleep until the next deadline falls
due — or until another process writes an earlier one (PostgreSQL `LISTEN/NOTIFY`;
SQLite simply sleeps). Nothing is polled in between: an idle worker runs one
indexed query per wake-up.

Stopping: set `stop` (the CLI sets it on SIGTERM/SIGINT); the loop finishes the batch
in hand, commits it and returns. A worker killed outright loses nothing: its batch
rolls back with its transaction, its claims end with its connection, and the next
iteration of any worker fires those deadlines.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from parcelfsm.clock import to_micros
from parcelfsm.errors import ConcurrencyConflict
from parcelfsm.records import StoredEvent

if TYPE_CHECKING:
    from parcelfsm.service import Orders

#: longest single sleep: the loop re-reads the clock at least this often (seconds)
MAX_SLEEP: Final = 60.0
#: how often a sleeping worker looks at `stop` (seconds; a wait, not a database query)
STOP_CHECK: Final = 0.5
#: back-off when deadlines are due but other workers hold all of them (seconds)
BUSY_BACKOFF: Final = 0.05
#: seconds to wait after a conflict or while the database server is unavailable
UNAVAILABLE_BACKOFF: Final = 1.0
_FAR: Final = 2**62


def run_timers(
    orders: Orders,
    *,
    batch: int = 100,
    stop: threading.Event | None = None,
    on_batch: Callable[[list[StoredEvent]], None] | None = None,
    max_sleep: float = MAX_SLEEP,
) -> int:
    """Fire deadlines as they fall due until `stop` is set; return how many events fired.

    Each batch (up to `batch` orders) is one transaction; `on_batch` gets the events
    of every batch that fired something, after it committed.
    """
    if batch < 1:
        raise ValueError("batch must be at least 1")
    stop = stop or threading.Event()
    backend = orders.log.backend
    backend.wait(0)  # start listening before the first look, so no wake-up is missed
    total = 0
    while not stop.is_set():
        try:
            fired, claimed = orders.fire_batch(orders.now(), batch)
            total += len(fired)
            if fired and on_batch is not None:
                on_batch(fired)
            if claimed < batch:  # else more may be due right now
                _idle(orders, stop, max_sleep, others_hold_them=claimed == 0)
        except ConcurrencyConflict:
            # a racing writer, a deadlock victim, or the server away for a moment: nothing
            # was written; the next batch picks these orders up again
            stop.wait(UNAVAILABLE_BACKOFF)
    return total


def _idle(orders: Orders, stop: threading.Event, max_sleep: float, *, others_hold_them: bool) -> None:
    """Return once a deadline is due (or `stop` is set), sleeping until then.

    A wake-up for a deadline later than the one awaited costs one indexed read, not a
    batch. When deadlines are due but this worker claimed none, other workers hold them:
    back off briefly instead of spinning.
    """
    while not stop.is_set():
        delay = _until_next_due(orders, max_sleep)
        if delay <= 0:
            if others_hold_them:
                _sleep(orders, BUSY_BACKOFF, stop)
            return
        others_hold_them = False
        _sleep(orders, delay, stop)


def _until_next_due(orders: Orders, max_sleep: float) -> float:
    """Seconds until the earliest open deadline (`max_sleep` when there is none)."""
    nxt = orders.log.backend.select_due(_FAR, 1)
    if not nxt:
        return max_sleep
    return min(max_sleep, (nxt[0].due_us - to_micros(orders.now())) / 1_000_000)


def _sleep(orders: Orders, seconds: float, stop: threading.Event) -> None:
    """Wait `seconds` in slices of `STOP_CHECK`, returning early on a NOTIFY or `stop`."""
    backend = orders.log.backend
    remaining = seconds
    while remaining > 0 and not stop.is_set():
        step = min(remaining, STOP_CHECK)
        started = time.monotonic()  # a duration for the sleep, not a time of the domain
        backend.wait(step)
        if time.monotonic() - started < step * 0.9:
            return  # woken by another process's deadline: look again
        remaining -= step


def stop_on_signals() -> threading.Event:
    """An event that SIGTERM and SIGINT set (main thread only): the CLI's loop stops
    after the batch in hand instead of dying in the middle of it."""
    stop = threading.Event()

    def handler(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    return stop
