"""The maintenance side of `Orders`: replay (rebuild, verify, what-if), import, ingestion."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence, Sized
from typing import TYPE_CHECKING, Any, Final

from parcelfsm.commands import Command, Recorded
from parcelfsm.decide import fire_due
from parcelfsm.errors import ParcelFsmError, ValidationError
from parcelfsm.fold import fold, fold_at
from parcelfsm.policy import Policy
from parcelfsm.state import OrderState
from parcelfsm.store import EventLog
from parcelfsm.store.audit import parse_head
from parcelfsm.store.mapping import TimeCache, fold_events

if TYPE_CHECKING:  # imported where used: `show` and `record` need none of them (CLI start-up time)
    from parcelfsm.ingest import IngestReport
    from parcelfsm.replay import ReplayReport
    from parcelfsm.transfer import ImportReport

Progress = Callable[[int, str], Any]
#: orders whose projections a rebuild writes per batch
REBUILD_BATCH: Final = 500


def _json_line(event: Any, lineno: int) -> str:
    """One event dict as a JSON line; a value JSON cannot hold is a `ValidationError`."""
    try:
        return json.dumps(event)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValidationError(f"line {lineno}: not storable as JSON ({type(exc).__name__})") from None


class _RebuildRefused(Exception):
    """Rolls a rebuild back when a stream does not fold."""


class NoProgress:
    """Stands in for a progress bar when none is wanted."""

    def __enter__(self) -> NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        return None


class Maintenance:
    """Whole-log operations of `Orders`."""

    log: EventLog
    policy: Policy

    def now(self) -> dt.datetime:
        raise NotImplementedError

    def history(self, order_id: str) -> Sequence[Any]:
        raise NotImplementedError

    def record_many(self, commands: Iterable[Command], *, atomic: bool = False) -> list[Recorded]:
        raise NotImplementedError

    def replay(
        self,
        verify: bool = False,
        policy: Policy | None = None,
        progress: Progress | None = None,
        expect_head: str | None = None,
    ) -> ReplayReport:
        """Rebuild every projection from the log; or verify it; or what-if a policy.

        - plain: clear and rewrite `orders` and `deadlines` from a fold of each stream.
        - `verify`: write nothing; check every stream's versions and hash chain, the
          whole log's positions (gapless, in version order) and that the stored
          projections equal the rebuilt ones; `problems` lists each. `expect_head`
          (`POSITION:HEX` from `head()`, implies `verify`) also proves that nothing up to
          that position was changed, removed or reordered since it was taken.
        - `policy`: write nothing; replay every order's commands under `policy` and
          report, per order, the states, money and deadlines that would differ now.
        """
        from parcelfsm.replay import ReplayReport

        if policy is not None and not isinstance(policy, Policy):
            raise ValidationError("policy: expected a parcelfsm.Policy (see Policy.from_dict / from_file)")
        expected = parse_head(expect_head) if expect_head is not None else None
        total = self.log.count_streams()
        bar = progress(total, "replay") if progress else NoProgress()
        if policy is not None:
            return self._what_if(policy, total, bar)
        if verify or expected is not None:
            with bar, self.log.snapshot():
                return self._verify(total, bar, expected)
        events = 0
        problems: list[str] = []
        batch: list[OrderState] = []
        with bar, contextlib.suppress(_RebuildRefused), self.log.transaction():
            self.log.clear_projections()
            times = TimeCache()
            for order_id, rows in self.log.iter_stream_rows():
                events += len(rows)
                bar.update(1)
                stream = fold_events(rows, times)  # an unreadable row raises CorruptLog
                try:
                    state = fold(stream)
                except ParcelFsmError as exc:
                    problems.append(f"{order_id}: the log does not fold: {exc.type}: {exc.message}")
                    continue
                assert state is not None
                batch.append(state)
                if len(batch) >= REBUILD_BATCH:  # projections written a batch at a time
                    self.log.save_folded(batch)
                    batch = []
            self.log.save_folded(batch)
            if problems:  # all or nothing: never leave projections half rebuilt
                problems.append("nothing was rewritten: the projections are as they were")
                raise _RebuildRefused
        return ReplayReport("rebuild", total, events, tuple(problems))

    def _verify(self, total: int, bar: NoProgress, expected: tuple[int, str] | None = None) -> ReplayReport:
        from parcelfsm.verify import verify_log

        return verify_log(self.log, total, bar.update, expected)

    def _what_if(self, policy: Policy, total: int, bar: NoProgress) -> ReplayReport:
        from parcelfsm.replay import ReplayReport, what_if

        now = self.now()
        differences: dict[str, list[str]] = {}
        events = 0
        with bar, self.log.snapshot():
            for order_id, stream in self.log.iter_streams():
                events += len(stream)
                actual = fold_at(stream, now)
                if actual is not None:
                    actual, _ = fire_due(actual, now, virtual=True)
                    diffs = what_if(stream, policy, now, actual)
                    if diffs:
                        differences[order_id] = diffs
                bar.update(1)
        return ReplayReport("what-if", total, events, (), differences)

    def check_storage(self) -> list[str]:
        """What the storage engine finds wrong with the database's own pages (SQLite's
        `quick_check`: a damaged page, a broken index); empty when sound. `replay
        --verify` includes it; `parcelfsm init` on an existing file runs it."""
        return self.log.backend.check_pages()

    def import_lines(
        self, lines: Iterable[str], progress: Progress | None = None, total: int | None = None
    ) -> ImportReport:
        """Import JSON lines of stored events (see `parcelfsm.transfer`).

        `lines` is read as it comes (a file object or a generator streams in bounded
        memory); `total` sizes the progress bar (default: `len(lines)` when it has one).
        """
        from parcelfsm.transfer import import_lines

        if total is None:
            total = len(lines) if isinstance(lines, Sized) else 0
        bar = progress(total, "import") if progress else NoProgress()
        with bar:
            return import_lines(self.log, lines, self.now(), progress=bar.update if progress else None)

    def import_events(self, events: Iterable[dict[str, Any]]) -> ImportReport:
        """Import stored events given as dicts (the `export` / `history --json` form)."""
        if not isinstance(events, Iterable) or isinstance(events, str | bytes | dict):
            raise ValidationError("events: expected an iterable of event dicts")
        return self.import_lines(_json_line(e, n) for n, e in enumerate(events, start=1))

    def ingest_tracking(self, order_id: str, payload: Any, format: str = "auto") -> IngestReport:
        """Append the scans of a carrier / aggregator payload, in one transaction.

        Checkpoints whose key is already in the log are skipped whatever their data
        (aggregators re-word old checkpoints); one the rules refuse is reported and the
        rest land (see `parcelfsm.ingest`).
        """
        from parcelfsm.ingest import plan_ingest

        state = fold(self.history(order_id))
        assert state is not None
        plan = plan_ingest(state, payload, format)
        fresh = [c for c in plan.commands if c.key is None or self.log.find_key(c.key) is None]
        results = self.record_many(fresh)
        return plan.report(results, skipped=len(plan.commands) - len(fresh))
