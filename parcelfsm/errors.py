"""Typed errors of parcelfsm (docs/cli.md "Exit codes and errors").

Every error the library raises on purpose is a `ParcelFsmError`; `type` is the stable
name a caller, the CLI's JSON and the exit-code table use. A rejected command has
appended nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar, Final

#: the most characters of a caller's value an error message quotes
QUOTE_CHARS: Final = 100
#: the longest message an error carries (a safety net over `quote`)
MESSAGE_CHARS: Final = 2000


def quote(value: Any, limit: int = QUOTE_CHARS) -> str:
    """`repr(value)` cut to about `limit` characters, so a rejected 10 MB value is not
    echoed back whole (the cut is marked with `…` and the full length)."""
    try:
        short = value[: limit * 4] if isinstance(value, str) else value
        text = repr(short)
    except Exception:  # a hostile __repr__ (or one nested too deep) must not escape
        text = f"<{type(value).__name__}>"
    if len(text) <= limit:
        return text
    size = f" of {len(value)} chars" if isinstance(value, str) else ""
    return f"{text[:limit]}…({type(value).__name__}{size})"


class ParcelFsmError(Exception):
    """Base class: a command or read was refused; nothing was written."""

    type: ClassVar[str] = "ParcelFsmError"
    exit_code: ClassVar[int] = 3

    def __init__(self, message: str) -> None:
        if len(message) > MESSAGE_CHARS:
            message = message[:MESSAGE_CHARS] + f"… ({len(message)} chars)"
        super().__init__(message)
        self.message = message

    def to_json(self) -> dict[str, dict[str, Any]]:
        """The CLI's error object: `{"error": {"type": …, "message": …}}`."""
        return {"error": {"type": self.type, "message": self.message}}


class ValidationError(ParcelFsmError):
    """A field is missing, of the wrong type or out of range (the message names it).

    When a command has several bad fields, the message names every one (joined with
    "; ") and `problems` lists them one by one.
    """

    type = "ValidationError"

    def __init__(self, message: str, *, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = list(problems) if problems else [message]


class IllegalTransition(ParcelFsmError):
    """The machine does not allow this command in the current state."""

    type = "IllegalTransition"


class WindowClosed(ParcelFsmError):
    """A time window has passed (dispute window, reopen window)."""

    type = "WindowClosed"


class OutOfOrder(ParcelFsmError):
    """`occurred_at` is earlier than the stream's last event, or later than now."""

    type = "OutOfOrder"


class IdempotencyConflict(ParcelFsmError):
    """An idempotency key was reused with a different stream, type or data."""

    type = "IdempotencyConflict"


class NotFound(ParcelFsmError):
    """The order (stream) does not exist."""

    type = "NotFound"


class ConcurrencyConflict(ParcelFsmError):
    """The stream moved past the version the caller expected, or the database stayed
    busy (locked by other writers) past the command's retry budget."""

    type = "ConcurrencyConflict"
    exit_code = 4


class VerificationFailed(ParcelFsmError):
    """`replay --verify` found problems; `problems` lists each one."""

    type = "VerificationFailed"
    exit_code = 5

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} problem(s): " + "; ".join(problems[:20]))
        self.problems = problems


class InvalidMachine(ParcelFsmError):
    """A machine definition is inconsistent (raised at import time)."""

    type = "InvalidMachine"


class CorruptLog(ParcelFsmError):
    """The database cannot be read, or a stored stream does not fold or verify.

    Not a database, a foreign schema, a damaged page, a malformed or tampered row: the
    message names the file or the first bad position. Exit 5, like a failed
    verification: nothing the caller sends can fix it.
    """

    type = "CorruptLog"
    exit_code = 5


class StorageError(CorruptLog):
    """The database could not be opened, read or written (a driver error, translated).

    Kept as a name for the store's own code; it reports as `CorruptLog` (exit 5).
    """


__all__ = [
    "ConcurrencyConflict",
    "CorruptLog",
    "IdempotencyConflict",
    "IllegalTransition",
    "InvalidMachine",
    "NotFound",
    "OutOfOrder",
    "ParcelFsmError",
    "StorageError",
    "ValidationError",
    "VerificationFailed",
    "WindowClosed",
    "quote",
]
