"""parcelfsm: marketplace parcel, escrow and dispute rules as event-sourced machines.

    import parcelfsm
    with parcelfsm.open("orders.db") as orders:     # default clock: SystemClock()
        orders.record("o-1", "order.placed", {...})
        orders.show("o-1").to_json()

The API is documented in docs/api.md, the rules in docs/rules.md.
"""

from parcelfsm import errors
from parcelfsm.advice import Advice
from parcelfsm.allowed import Allowed
from parcelfsm.clock import Clock, ManualClock, SystemClock
from parcelfsm.deadlines import Deadline
from parcelfsm.policy import Policy
from parcelfsm.records import NewEvent, StoredEvent
from parcelfsm.schema import schema_of, schemas
from parcelfsm.service import Orders, open
from parcelfsm.views import OrderView

__version__ = "0.1.0"

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
