"""parcelfsm: marketplace parcel, escrow and dispute rules as event-sourced machines.

    import parcelfsm
    with parcelfsm.open("orders.db") as orders:     # default clock: SystemClock()
        orders.record("o-1", "order.placed", {...})
        orders.show("o-1").to_json()

The API is documented in docs/api.md, the rules in docs/rules.md.

`import parcelfsm` is light: the public names that need the rest of the library
(`open`, `Orders`, `Policy`, the schemas …) are imported on first use (PEP 562), so a
command line that needs only part of it does not pay for all of it. `from parcelfsm
import open` and type checkers see the same names as before.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

from parcelfsm import errors
from parcelfsm.clock import Clock, ManualClock, SystemClock

__version__ = "0.1.0"

#: public name -> the module it is imported from on first use
_LAZY: Final[dict[str, str]] = {
    "Advice": "parcelfsm.advice",
    "Allowed": "parcelfsm.allowed",
    "Deadline": "parcelfsm.deadlines",
    "NewEvent": "parcelfsm.records",
    "OrderView": "parcelfsm.views",
    "Orders": "parcelfsm.service",
    "Policy": "parcelfsm.policy",
    "StoredEvent": "parcelfsm.records",
    "open": "parcelfsm.service",
    "schema_of": "parcelfsm.schema",
    "schemas": "parcelfsm.schema",
}

if TYPE_CHECKING:
    from parcelfsm.advice import Advice
    from parcelfsm.allowed import Allowed
    from parcelfsm.deadlines import Deadline
    from parcelfsm.policy import Policy
    from parcelfsm.records import NewEvent, StoredEvent
    from parcelfsm.schema import schema_of, schemas
    from parcelfsm.service import Orders, open
    from parcelfsm.views import OrderView
else:

    def __getattr__(name: str) -> Any:
        """Import a public name's module on first use, and keep the name."""
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'parcelfsm' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "Advice",
    "Allowed",
    "Clock",
    "Deadline",
    "ManualClock",
    "NewEvent",
    "OrderView",
    "Orders",
    "Policy",
    "StoredEvent",
    "SystemClock",
    "errors",
    "open",
    "schema_of",
    "schemas",
]
