"""Is this file our database? Checks before SQLite touches a file, and translation of
driver failures into typed errors.

A path that is a directory, a device (`/dev/null`), a file that is not SQLite, or a
SQLite file whose `events` table is someone else's is refused with `CorruptLog`
naming the file, before anything is created in it. `translate` turns whatever a
driver or a malformed stored row raised into a `parcelfsm.errors` type: "database is
locked" / "busy" is `ConcurrencyConflict` (exit 4), everything else `CorruptLog`
(exit 5).
"""

from __future__ import annotations

import os
import stat
from typing import Any, Final

import attrs

from parcelfsm.errors import ConcurrencyConflict, CorruptLog, ParcelFsmError, quote
from parcelfsm.store.recorder import EventRow

SQLITE_HEADER: Final = b"SQLite format 3\x00"
#: the columns of our `events` table (the documented columns, plus the hash chain)
EVENT_COLUMNS: Final = frozenset(f.name for f in attrs.fields(EventRow))
#: schema 3 of SQLite (`parcelfsm.store.sqlite_format`) adds where an order's policy was cut out
COMPACT_COLUMNS: Final = EVENT_COLUMNS | {"policy_id", "policy_at"}
_BUSY: Final = ("database is locked", "database is busy", "database table is locked")


def check_file(path: str) -> None:
    """Refuse a path that cannot hold our SQLite database (a missing or empty file is
    fine: it becomes a new database).

    Raises:
        CorruptLog: a directory, not a regular file, unreadable, or not SQLite.
    """
    if path in ("", ":memory:") or path.startswith("file:"):
        return
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise CorruptLog(f"database {quote(path)}: cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise CorruptLog(f"database {quote(path)}: is a directory, not a database file")
    if not stat.S_ISREG(info.st_mode):
        raise CorruptLog(f"database {quote(path)}: is not a regular file")
    if info.st_size == 0:
        return
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise CorruptLog(f"database {quote(path)}: cannot be read ({exc.strerror})") from None
    if header != SQLITE_HEADER:
        raise CorruptLog(f"database {quote(path)}: not a SQLite database (bad header)")


def check_schema(conn: Any, path: str) -> None:
    """Refuse a SQLite file whose `events` table is not ours (a foreign schema).

    Raises:
        CorruptLog: naming the file and the columns that differ.
    """
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(events)")}
    except Exception as exc:
        raise translate(exc, path) from None
    if columns and columns not in (EVENT_COLUMNS, COMPACT_COLUMNS):
        missing = sorted(EVENT_COLUMNS - columns)
        extra = sorted(columns - EVENT_COLUMNS)
        raise CorruptLog(
            f"database {quote(path)}: foreign schema — its events table lacks {missing} and has {extra}"[:400]
        )


def translate(exc: BaseException, path: str) -> ParcelFsmError:
    """The typed error for a failure that escaped the library's own checks."""
    if isinstance(exc, ParcelFsmError):
        return exc
    message = quote(str(exc), 200)
    if _driver_error(exc) and any(b in str(exc) for b in _BUSY):
        return ConcurrencyConflict(f"database {quote(path)} stayed busy (other writers): {message}")
    if _driver_error(exc):
        return CorruptLog(f"database {quote(path)}: {message}")
    return CorruptLog(
        f"database {quote(path)}: a stored value cannot be processed ({type(exc).__name__}: {message})"
    )


def _driver_error(exc: BaseException) -> bool:
    """A database driver's own error (sqlite3's; this module does not import drivers)."""
    return any(cls.__module__ in ("sqlite3", "_sqlite3") for cls in type(exc).__mro__)
