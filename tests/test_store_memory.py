"""The store contract on the in-memory backend (`memory:`)."""

from __future__ import annotations

from pathlib import Path

from store_contract import StoreContract


class TestMemoryBackend(StoreContract):
    """Every store contract test, in memory."""

    def target(self, tmp_path: Path) -> str:
        return "memory:"
