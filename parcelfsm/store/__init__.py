"""The event store: the `EventStore` seam (`base`) and its SQLite backend (`sqlite`)."""

from parcelfsm.store.base import EventStore, OrderRow
from parcelfsm.store.sqlite import SQLiteStore

__all__ = ["EventStore", "OrderRow", "SQLiteStore"]
