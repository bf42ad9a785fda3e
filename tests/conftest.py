"""Shared fixtures: a given/when/then scenario on a manual clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pg_fixtures import pg_cluster, pg_url

from parcelfsm.testing import Scenario

__all__ = ["pg_cluster", "pg_url"]  # PostgreSQL fixtures (tests/pg_fixtures.py)


@pytest.fixture
def scenario() -> Iterator[Scenario]:
    """A fresh order book in memory, clock at 2026-03-01T10:00Z, order id `o-1`."""
    s = Scenario()
    yield s
    s.close()


@pytest.fixture(autouse=True)
def _allow_future_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's scenarios are dated by fixed `--now` values that the wall clock
    overtakes or not; the CLI's clock guard is tested on its own (tests/test_hardening_*),
    with this variable removed."""
    monkeypatch.setenv("PARCELFSM_ALLOW_FUTURE", "1")
