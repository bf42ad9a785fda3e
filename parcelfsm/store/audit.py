"""Tamper evidence: one stream's chain, the whole log's positions, and the log head.

- `stream_problem`: a stream's rows (version order) run 1..n and each hash follows
  from the stored text and the previous hash (a keyed MAC with a secret). Reads use it
  so `show`/`history` refuse a forged stream instead of showing it.
- `LogAudit`: fed every row in position order, it checks that positions run 1, 2, 3 …
  without gaps (SQLite and memory hand them out gapless: a gap is a deleted event or
  a deleted stream) and increase with each stream's versions (a swap), and folds the
  rows into the head digest.
- The head digest is `sha256` over `position:hash` of every row in position order;
  `parcelfsm head` prints it as `POSITION:HEX`. Stored elsewhere, it later proves that
  nothing up to that position was changed, removed or reordered: every row's hash
  covers its content and chain, and the digest covers every row and its place.

No global chain is written on the append path, so writers never serialise on it.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from typing import Final

import attrs

from parcelfsm.errors import ValidationError, quote
from parcelfsm.store.chain import row_hash
from parcelfsm.store.recorder import EventRow

_HEAD: Final = re.compile(r"([0-9]{1,18}):([0-9a-f]{64})")
EMPTY: Final = hashlib.sha256(b"").hexdigest()


def stream_problem(rows: Iterable[EventRow], secret: bytes | None = None) -> str | None:
    """The first broken link of one stream's rows (version order), or None."""
    version, prev = 0, ""
    for row in rows:
        if row.version != version + 1:
            problem = f"version gap (v{version} then v{row.version})"
        elif (row.prev_hash or "") != prev:
            problem = "prev_hash mismatch"
        elif row_hash(row, prev, secret) != row.hash:
            problem = "hash mismatch: content was altered"
        else:
            version, prev = row.version, row.hash
            continue
        return f"{row.stream_id}: {problem} at position {row.position} (v{row.version})"
    return None


class PositionScan:
    """The position checks of `LogAudit` answered from rows read in stream order, so a
    verify that needs no head digest reads the log once: `clean` is True exactly when
    `LogAudit` would find no gap and no swap (positions are the backend's unique key;
    when anything is found, the position-order audit runs to name it)."""

    def __init__(self, *, gapless: bool = True) -> None:
        self.gapless = gapless
        self.rows = 0
        self.low: int | None = None
        self.high = 0
        self.swapped = False

    def feed(self, rows: Sequence[EventRow]) -> None:
        """One stream's rows, in version order."""
        last = None
        for row in rows:
            position = row.position
            if last is not None and position <= last:
                self.swapped = True  # a later version at an earlier position
            last = position
        if rows:  # increasing within the stream (else `swapped`): its ends bound it
            self.rows += len(rows)
            first = rows[0].position
            self.low = first if self.low is None else min(self.low, first)
            self.high = max(self.high, rows[-1].position)

    @property
    def clean(self) -> bool:
        """No swap, and (gapless backends) positions exactly 1 … number of rows."""
        if self.swapped:
            return False
        return not self.gapless or self.rows == 0 or (self.low == 1 and self.high == self.rows)


@attrs.frozen
class LogHead:
    """The digest of the whole log up to `position` (`events` rows)."""

    position: int
    events: int
    digest: str

    @property
    def token(self) -> str:
        """`POSITION:HEX`, the form `head` prints and `--expect-head` takes."""
        return f"{self.position}:{self.digest}"

    def to_json(self) -> dict[str, object]:
        return {"head": self.token, "position": self.position, "events": self.events, "digest": self.digest}


def parse_head(text: str) -> tuple[int, str]:
    """`POSITION:HEX` → (position, digest); anything else is a `ValidationError`."""
    found = _HEAD.fullmatch(text.strip()) if isinstance(text, str) else None
    if found is None:
        raise ValidationError(f"expect_head: {quote(text)} is not POSITION:HEX (as `parcelfsm head` prints)")
    return int(found.group(1)), found.group(2)


class LogAudit:
    """Checks rows fed in position order and folds them into the head digest."""

    def __init__(self, *, gapless: bool = True, expect: tuple[int, str] | None = None) -> None:
        self.gapless = gapless
        self.expect = expect
        self.problems: list[str] = []
        self._digest = EMPTY
        self._position = 0
        self._events = 0
        self._last: dict[str, tuple[int, int]] = {}  # stream -> (version, position) seen last
        self._expect_seen = expect is not None and expect[0] == 0 and expect[1] == EMPTY

    def feed(self, row: EventRow) -> None:
        """One row, in position order."""
        if self.gapless and row.position != self._position + 1 and not self._gap_reported():
            first = self._position + 1
            self.problems.append(
                f"log: position {first} is missing (next is {row.position}): "
                f"{row.position - first} event(s) deleted, or a whole stream"
            )
        seen = self._last.get(row.stream_id)
        if seen is not None and row.version < seen[0]:
            self.problems.append(
                f"{row.stream_id}: positions swapped at position {row.position} "
                f"(v{row.version} after v{seen[0]} at position {seen[1]})"
            )
        self._last[row.stream_id] = (row.version, row.position)
        self._digest = hashlib.sha256(f"{self._digest}{row.position}:{row.hash}\n".encode()).hexdigest()
        self._position = row.position
        self._events += 1
        if self.expect is not None and row.position == self.expect[0]:
            self._expect_seen = True
            if self._digest != self.expect[1]:
                self.problems.append(
                    f"log: the events up to position {row.position} differ from the expected head "
                    "(changed, removed or reordered since it was taken)"
                )

    def _gap_reported(self) -> bool:
        return any(p.startswith("log: position") for p in self.problems)

    def finish(self) -> LogHead:
        """The head after the last row; with an expected head, a log that never reached
        its position is reported (the tail was truncated)."""
        if self.expect is not None and not self._expect_seen:
            position = self.expect[0]
            if position > self._position:
                self.problems.append(
                    f"log: ends at position {self._position}, before the expected head's position "
                    f"{position} (events at the end were removed)"
                )
            else:
                self.problems.append(
                    f"log: position {position} of the expected head is missing (deleted or renumbered)"
                )
        return LogHead(self._position, self._events, self._digest)
