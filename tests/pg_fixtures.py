"""PostgreSQL fixtures: one throwaway cluster per test session, a fresh database per test.

The cluster is a real server (`tests/pg_cluster.py`); tests that use these fixtures are
skipped only when this machine has no PostgreSQL server binaries at all.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from pg_cluster import PgCluster, server_bin

_names = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL cluster in a temp dir on a free port, removed after the session."""
    if server_bin() is None:
        pytest.skip("no PostgreSQL server binaries (initdb) on this machine")
    cluster = PgCluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: PgCluster) -> Iterator[str]:
    """The URL of a new, empty database (dropped after the test)."""
    name = f"t{next(_names)}"
    url = pg_cluster.create_database(name)
    yield url
    pg_cluster.drop_database(name)
