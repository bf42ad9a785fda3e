"""The store contract on the SQLite backend, given as a path and as a `sqlite:///` URL."""

from __future__ import annotations

from pathlib import Path

from store_contract import StoreContract


class TestSQLiteFile(StoreContract):
    """Every store contract test on an SQLite file named by its path."""

    def target(self, tmp_path: Path) -> str:
        return str(tmp_path / "orders.db")


class TestSQLiteURL(StoreContract):
    """Every store contract test on an SQLite file named by a `sqlite:///` URL."""

    def target(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'orders.db'}"
