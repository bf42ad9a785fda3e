"""The maintenance side of `Orders`: replay (rebuild, verify, what-if), import, ingestion."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from parcelfsm.commands import Command, Recorded
from parcelfsm.decide import fire_due
from parcelfsm.errors import ParcelFsmError
from parcelfsm.fold import fold, fold_at
from parcelfsm.ingest import IngestReport, plan_ingest
from parcelfsm.policy import Policy
from parcelfsm.replay import ReplayReport, compare_projection, what_if
from parcelfsm.store import EventLog
from parcelfsm.transfer import ImportReport, import_lines

Progress = Callable[[int, str], Any]


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
        self, verify: bool = False, policy: Policy | None = None, progress: Progress | None = None
    ) -> ReplayReport:
        """Rebuild every projection from the log; or verify it; or what-if a policy.

        - plain: clear and rewrite `orders` and `deadlines` from a fold of each stream.
        - `verify`: write nothing; check every stream's versions and hash chain and
          that the stored projections equal the rebuilt ones; `problems` lists each.
        - `policy`: write nothing; replay every order's commands under `policy` and
          report, per order, the states, money and deadlines that would differ now.
        """
        total = self.log.count_streams()
        bar = progress(total, "replay") if progress else NoProgress()
        if policy is not None:
            return self._what_if(policy, total, bar)
        if verify:
            with bar, self.log.snapshot():
                return self._verify(total, bar)
        events = 0
        problems: list[str] = []
        with bar, self.log.transaction():
            self.log.clear_projections()
            for order_id, stream in self.log.iter_streams():
                events += len(stream)
                bar.update(1)
                try:
                    state = fold(stream)
                except ParcelFsmError as exc:
                    problems.append(f"{order_id}: the log does not fold: {exc.type}: {exc.message}")
                    continue
                assert state is not None
                self.log.save_projection([state])
        return ReplayReport("rebuild", total, events, tuple(problems))

    def _verify(self, total: int, bar: NoProgress) -> ReplayReport:
        problems = self.log.verify_chain()
        seen: set[str] = set()
        events = 0
        for order_id, stream in self.log.iter_streams():
            events += len(stream)
            seen.add(order_id)
            bar.update(1)
            try:
                state = fold(stream, strict=True)
            except ParcelFsmError as exc:
                problems.append(f"{order_id}: the log does not fold: {exc.type}: {exc.message}")
                continue
            assert state is not None
            problems += compare_projection(
                order_id, self.log.order_row(order_id), self.log.deadlines_of(order_id), state
            )
        for extra in sorted(self.log.projected_ids() - seen):
            problems.append(f"{extra}: projected but has no events in the log")
        return ReplayReport("verify", total, events, tuple(problems))

    def _what_if(self, policy: Policy, total: int, bar: NoProgress) -> ReplayReport:
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

    def import_lines(self, lines: Iterable[str], progress: Progress | None = None) -> ImportReport:
        """Import JSON lines of stored events (see `parcelfsm.transfer`)."""
        items = list(lines)
        bar = progress(len(items), "import") if progress else NoProgress()
        with bar:
            return import_lines(self.log, items, self.now(), progress=bar.update)

    def import_events(self, events: Iterable[dict[str, Any]]) -> ImportReport:
        """Import stored events given as dicts (the `export` / `history --json` form)."""
        return self.import_lines(json.dumps(e) for e in events)

    def ingest_tracking(self, order_id: str, payload: Any, format: str = "auto") -> IngestReport:
        """Append the scans of a carrier / aggregator payload, in one transaction.

        Checkpoints whose key is already in the log are skipped whatever their data
        (aggregators re-word old checkpoints); one the rules refuse is reported and the
        rest land (see `parcelfsm.ingest`).
        """
        state = fold(self.history(order_id))
        assert state is not None
        plan = plan_ingest(state, payload, format)
        fresh = [c for c in plan.commands if c.key is None or self.log.find_key(c.key) is None]
        results = self.record_many(fresh)
        return plan.report(results, skipped=len(plan.commands) - len(fresh))
