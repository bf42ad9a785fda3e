"""Shared fixtures come from parcelfsm's own pytest plugin (`clock`, `orders`, `scenario`);
the PostgreSQL ones (`pg_cluster`, `pg_url`) from tests/pg_fixtures.py.

The plugin is registered through the `pytest11` entry point; listing it here as well
keeps the suite working from a checkout that was not installed.
"""

from __future__ import annotations

import importlib.metadata

import pytest
from pg_fixtures import pg_cluster, pg_url

_registered = any(
    ep.value == "parcelfsm.pytest_plugin" for ep in importlib.metadata.entry_points(group="pytest11")
)
pytest_plugins = [] if _registered else ["parcelfsm.pytest_plugin"]
__all__ = ["pg_cluster", "pg_url"]  # PostgreSQL fixtures (tests/pg_fixtures.py)


@pytest.fixture(autouse=True)
def _allow_future_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    """The suite's scenarios are dated by fixed `--now` values that the wall clock
    overtakes or not; the CLI's clock guard is tested on its own (tests/test_hardening_*),
    with this variable removed."""
    monkeypatch.setenv("PARCELFSM_ALLOW_FUTURE", "1")
