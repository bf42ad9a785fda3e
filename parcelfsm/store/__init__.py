"""The event store: `EventLog` (event semantics) over a `Backend` (rows only).

    backend = open_backend("orders.db")          # or "sqlite:///orders.db", "memory:",
    log = EventLog(backend)                       #    "postgresql://user@host/db"

The seam, file by file: `recorder.py` (the log's rows), `projections.py` (read
models), `backend.py` (both), `log.py` (hashing, canonical JSON, upcasting,
verification — once, above every backend), `mapping.py` (rows ↔ domain), and one
module per backend: `memory.py`, `sqlite.py`, `postgres.py`.
"""

from __future__ import annotations

import importlib.util
import re

from parcelfsm.errors import ValidationError
from parcelfsm.store.backend import Backend
from parcelfsm.store.log import EventLog
from parcelfsm.store.projections import DeadlineRow, OrderFilter, OrderRow
from parcelfsm.store.recorder import EventRow, KeyRow
from parcelfsm.store.redaction import redact

POSTGRES_EXTRA = "pip install 'parcelfsm[postgres]'"
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def open_backend(
    target: str, *, read_only: bool = False, create: bool = True, synchronous: str = "FULL"
) -> Backend:
    """The backend a target names: `memory:`, `postgresql://…`, `sqlite:///PATH` or a path.

    Raises:
        ValidationError: an unusable target, or PostgreSQL without its extra installed.
        NotFound: a database file that does not exist, when `create` is false.
        CorruptLog: a file that is not a parcelfsm database.
    """
    if not isinstance(target, str) or not target or "\x00" in target:
        raise ValidationError("db: a file path, sqlite:///PATH, memory: or postgresql://…")
    if target == "memory:":
        from parcelfsm.store.memory import MemoryBackend

        return MemoryBackend(read_only=read_only)
    if _SCHEME.match(target) and not target.startswith(("postgresql://", "postgres://", "sqlite://")):
        raise ValidationError(
            f"db: {redact(target)[:100]!r} is not a file path, sqlite:///PATH, memory: or postgresql://…"
        )
    if target.startswith(("postgresql://", "postgres://")):
        if importlib.util.find_spec("psycopg") is None:
            raise ValidationError(f"db: PostgreSQL needs the postgres extra: {POSTGRES_EXTRA}")
        from parcelfsm.store import postgres  # type: ignore[attr-defined,unused-ignore]

        backend: Backend = postgres.PostgresBackend(target, read_only=read_only, create=create)
        return backend
    from parcelfsm.store.sqlite import SQLiteBackend

    return SQLiteBackend(target, read_only=read_only, create=create, synchronous=synchronous)


__all__ = [
    "Backend",
    "DeadlineRow",
    "EventLog",
    "EventRow",
    "KeyRow",
    "OrderFilter",
    "OrderRow",
    "open_backend",
    "redact",
]
