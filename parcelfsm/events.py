"""Event types: frozen attrs classes, one per wire type (docs/api.md), with a registry.

Each class names its wire `type` and `schema_version`; field types and the metadata
in `spec()` are the single source for validating command data (`from_data`) and for
the JSON Schemas in `parcelfsm/schemas/` (`parcelfsm.schema`). Stored data is canonical JSON of
`to_data()`; old stored versions are brought forward by `upcast`.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Final, TypeVar

import attrs

from parcelfsm.canonical import canonical_json
from parcelfsm.errors import ValidationError, quote
from parcelfsm.fields import (
    ID_TEXT,
    MAX_DAYS,
    MAX_EVENT_BYTES,
    MAX_EVIDENCE,
    MAX_MINOR,
    MAX_REFERENCE,
    Checker,
    compile_check,
    spec,
)
from parcelfsm.vocabulary import (
    CUSTOMS_REASONS,
    AlertKind,
    CustomsCause,
    Fault,
    Party,
    Reason,
    ScanStatus,
    Solution,
)


@attrs.frozen
class Event:
    """Base of all event types; subclasses set `type` and may raise in `check()`."""

    type: ClassVar[str] = ""
    schema_version: ClassVar[int] = 1
    timed: ClassVar[bool] = False
    #: fields the library fills in (never accepted from a caller)
    derived: ClassVar[frozenset[str]] = frozenset()

    def check(self) -> None:
        """Cross-field rules; raise `ValidationError` naming the field."""

    def to_data(self) -> dict[str, Any]:
        """The stored `data` object: every field, `None`s left out."""
        return {k: v for k, v in attrs.asdict(self).items() if v is not None}


E = TypeVar("E", bound=type[Event])
EVENT_TYPES: Final[dict[str, type[Event]]] = {}


def register(cls: E) -> E:
    """Class decorator: add an event class to the registry under its wire type."""
    if cls.type in EVENT_TYPES:
        raise ValueError(f"duplicate event type {cls.type}")
    EVENT_TYPES[cls.type] = cls
    return cls


def event_class(type_name: str) -> type[Event]:
    """The class of a wire type, or `ValidationError` naming the known types' families."""
    try:
        return EVENT_TYPES[type_name]
    except (KeyError, TypeError):
        raise ValidationError(f"type: unknown event type {quote(type_name)}") from None


# --- commands (reported from outside) -------------------------------------------------


@register
@attrs.frozen
class OrderPlaced(Event):
    """The buyer paid; the seller must ship within `processing_days`."""

    type = "order.placed"
    derived = frozenset({"policy"})
    amount: int = spec(minimum=1, maximum=MAX_MINOR)
    currency: str = spec(pattern=r"^[A-Z]{3}$", code="currency")
    shipping_cost: int = spec(minimum=0, maximum=MAX_MINOR)
    destination_country: str = spec(pattern=r"^[A-Z]{2}$", code="country")
    coupon_discount: int = spec(0, minimum=0, maximum=MAX_MINOR)
    processing_days: int | None = spec(None, minimum=1, maximum=MAX_DAYS)
    #: the seller's delivery term (1 .. the country's protection days)
    protection_days: int | None = spec(None, minimum=1, maximum=MAX_DAYS)
    tracked: bool = spec(True)
    seller: str | None = spec(None, pattern=ID_TEXT)
    buyer: str | None = spec(None, pattern=ID_TEXT)
    item: str | None = spec(None, pattern=ID_TEXT)
    policy: dict[str, Any] | None = spec(None)

    def check(self) -> None:
        if self.shipping_cost > self.amount:
            raise ValidationError("shipping_cost: must not exceed amount")


@register
@attrs.frozen
class OrderCancelled(Event):
    """Buyer or seller cancelled before shipment; full refund."""

    type = "order.cancelled"
    by: Party = spec()


@register
@attrs.frozen
class OrderShipped(Event):
    """The seller shipped; buyer protection starts."""

    type = "order.shipped"
    tracking_number: str | None = spec(None, max_length=64, text=True)
    carrier: str | None = spec(None, pattern=ID_TEXT)


@register
@attrs.frozen
class ParcelScanned(Event):
    """A carrier scan: a normalized `status`, or raw `text` the library normalizes."""

    type = "parcel.scanned"
    status: ScanStatus | None = spec(None)
    text: str | None = spec(None, max_length=1000, text=True)
    location: str | None = spec(None, max_length=256, text=True)

    def check(self) -> None:
        if self.status is None and self.text is None:
            raise ValidationError("status: give `status` (normalized) or `text` (raw)")


@register
@attrs.frozen
class ParcelTrackReplaced(Event):
    """The carrier issued a new tracking number; the old one stays in history."""

    type = "parcel.track_replaced"
    tracking_number: str = spec(max_length=64, text=True)
    carrier: str | None = spec(None, pattern=ID_TEXT)


@register
@attrs.frozen
class OrderReceiptConfirmed(Event):
    """The buyer confirmed receipt; escrow goes to the seller."""

    type = "order.receipt_confirmed"


@register
@attrs.frozen
class ProtectionExtended(Event):
    """An extension of buyer protection, already in effect."""

    type = "protection.extended"
    days: int = spec(minimum=1, maximum=MAX_DAYS)
    by: Party = spec()


@register
@attrs.frozen
class DisputeOpened(Event):
    """The buyer opened a dispute (the site's dispute form)."""

    type = "dispute.opened"
    solution: Solution = spec()
    goods_received: bool = spec()
    reason: Reason = spec()
    amount: int = spec(minimum=1, maximum=MAX_MINOR)
    description: str = spec(ascii_text=True, max_length=5000)
    cause: CustomsCause | None = spec(None)
    evidence: list[str] = spec([], max_items=MAX_EVIDENCE, max_length=MAX_REFERENCE, text=True)

    def check(self) -> None:
        if self.reason == "customs_problem" and self.cause is None:
            raise ValidationError("cause: required when reason is customs_problem")
        if self.cause is not None and self.reason not in CUSTOMS_REASONS:
            raise ValidationError(f"cause: only for customs reasons, not {self.reason}")
        if not self.description.strip():
            raise ValidationError("description: must not be empty")


@register
@attrs.frozen
class DisputeSellerAccepted(Event):
    """The seller accepted the buyer's request."""

    type = "dispute.seller_accepted"


@register
@attrs.frozen
class DisputeOfferMade(Event):
    """An offer or counter-offer (amount in item-value terms)."""

    type = "dispute.offer_made"
    by: Party = spec()
    amount: int = spec(minimum=0, maximum=MAX_MINOR)
    solution: Solution | None = spec(None)
    evidence: list[str] = spec([], max_items=MAX_EVIDENCE, max_length=MAX_REFERENCE, text=True)


@register
@attrs.frozen
class DisputeOfferAccepted(Event):
    """`by` accepted the other side's latest offer."""

    type = "dispute.offer_accepted"
    by: Party = spec()


@register
@attrs.frozen
class DisputeEscalated(Event):
    """A side asked the platform's mediators to decide."""

    type = "dispute.escalated"
    by: Party = spec()


@register
@attrs.frozen
class DisputeCustomsDocumentProvided(Event):
    """The buyer provided the official customs document."""

    type = "dispute.customs_document_provided"
    document: str = spec(pattern=ID_TEXT)


@register
@attrs.frozen
class DisputeDecided(Event):
    """The mediators' decision."""

    type = "dispute.decided"
    refund_amount: int | None = spec(None, minimum=0, maximum=MAX_MINOR)
    fault: Fault | None = spec(None)


@register
@attrs.frozen
class DisputeReturnShipped(Event):
    """The buyer's return parcel (information only)."""

    type = "dispute.return_shipped"
    tracking_number: str = spec(max_length=64, text=True)


@register
@attrs.frozen
class DisputeWithdrawn(Event):
    """The buyer withdrew the dispute; it may be reopened within the reopen window."""

    type = "dispute.withdrawn"


@register
@attrs.frozen
class DisputeReopened(Event):
    """The buyer reopened a withdrawn dispute; the seller window starts again."""

    type = "dispute.reopened"


@register
@attrs.frozen
class RefundReceived(Event):
    """The refund arrived at the buyer."""

    type = "refund.received"


@register
@attrs.frozen
class ComplaintFiled(Event):
    """A complaint to the platform, when no dispute can be opened any more."""

    type = "complaint.filed"
    text: str = spec(max_length=5000, text=True)


# --- timed events (appended by the library when a deadline passes) --------------------


@attrs.frozen
class TimedEvent(Event):
    """Base of timed events: which deadline fired and the rule that set it."""

    timed = True
    deadline: str = spec(pattern=ID_TEXT)
    rule: str = spec(pattern=ID_TEXT)


def _timed(type_name: str, doc: str) -> type[TimedEvent]:
    name = type_name.title().replace(".", "").replace("_", "")
    cls: type[TimedEvent] = types.new_class(
        name, (TimedEvent,), exec_body=lambda ns: ns.update(type=type_name, __doc__=doc)
    )
    return register(attrs.frozen(cls))


OrderAutoCancelled = _timed("order.auto_cancelled", "Not shipped in time; full refund.")
OrderAutoCompleted = _timed("order.auto_completed", "Protection ran out; escrow to seller.")
OrderDisputeWindowClosed = _timed("order.dispute_window_closed", "No dispute can be opened.")
ParcelPresumedLost = _timed("parcel.presumed_lost", "Tracking silent too long.")
ParcelReturnStarted = _timed("parcel.return_started", "Not picked up; back to sender.")
DisputeSellerTimedOut = _timed("dispute.seller_timed_out", "Seller silent; buyer wins.")
DisputeAutoEscalated = _timed("dispute.auto_escalated", "Mediation date reached.")
DisputeCustomsDocumentMissed = _timed(
    "dispute.customs_document_missed", "No customs document; refund minus shipping."
)
DisputeReopenWindowClosed = _timed("dispute.reopen_window_closed", "Too late to reopen.")


@register
@attrs.frozen
class AlertRaised(TimedEvent):
    """A deadline asks for the buyer's attention; changes no state."""

    type = "alert.raised"
    kind: AlertKind = spec("protection_ending")


COMMAND_TYPES: Final = tuple(t for t, c in EVENT_TYPES.items() if not c.timed)
TIMED_TYPES: Final = tuple(t for t, c in EVENT_TYPES.items() if c.timed)


# --- validation --------------------------------------------------------------------------


def from_data(type_name: str, data: Mapping[str, Any] | None, *, allow_derived: bool = False) -> Event:
    """Validate a command's `data` and build its event.

    Every unknown, missing or ill-typed field is reported at once: the error's message
    joins them with "; " and its `problems` lists each one. Cross-field rules
    (`Event.check`) run once every field is sound.

    Raises:
        ValidationError: unknown type, a timed type (when not `allow_derived`), an
            unknown, missing or ill-typed field, or a broken cross-field rule.
    """
    cls = event_class(type_name)
    if cls.timed and not allow_derived:
        raise ValidationError(f"type: {type_name} is appended by the library when its deadline passes")
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ValidationError(f"data: {type_name} expects a JSON object")
    size = len(canonical_json(dict(data), check=False).encode("utf-8"))
    if size > MAX_EVENT_BYTES:
        raise ValidationError(f"data: {size} bytes as JSON; an event holds at most {MAX_EVENT_BYTES}")
    fields, allowed = _plan(cls, allow_derived)
    problems = [
        f"{key if isinstance(key, str) and len(key) <= 100 and key.isprintable() else quote(key)}: "
        f"unknown field for {type_name}"
        for key in data
        if key not in allowed
    ]
    kwargs: dict[str, Any] = {}
    for name, required, check in fields:
        if name not in data:
            if required:
                problems.append(f"{name}: required for {type_name}")
            continue
        value = data[name]
        try:
            check(value)
        except ValidationError as exc:
            problems.append(exc.message)
            continue
        kwargs[name] = list(value) if isinstance(value, list) else value
    if problems:
        raise ValidationError("; ".join(problems), problems=problems)
    event = cls(**kwargs)
    event.check()
    return event


FieldPlan = tuple[tuple[str, bool, Checker], ...]


def _plan(cls: type[Event], allow_derived: bool) -> tuple[FieldPlan, frozenset[str]]:
    """(name, required, compiled check) of each field in order, and the names a caller
    may give — made once per class."""
    plan = _PLANS.get(cls)
    if plan is None:
        hints = _hints(cls)
        fields = tuple(
            (f.name, f.default is attrs.NOTHING, compile_check(hints[f.name], f.metadata, f.name))
            for f in attrs.fields(cls)
        )
        names = frozenset(f.name for f in attrs.fields(cls))
        plan = _PLANS[cls] = (fields, names - cls.derived, names)
    return plan[0], plan[2] if allow_derived else plan[1]


_PLANS: dict[type[Event], tuple[FieldPlan, frozenset[str], frozenset[str]]] = {}


def _hints(cls: type[Event]) -> dict[str, Any]:
    cached = _HINTS.get(cls)
    if cached is None:
        cached = _HINTS[cls] = typing.get_type_hints(cls)
    return cached


_HINTS: dict[type[Event], dict[str, Any]] = {}


# --- upcasting -------------------------------------------------------------------------

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
#: (type, stored schema_version) -> function returning data of schema_version + 1
UPCASTERS: Final[dict[tuple[str, int], Upcaster]] = {}


def upcast(type_name: str, schema_version: int, data: dict[str, Any]) -> dict[str, Any]:
    """Bring stored `data` of an older schema version up to the current one."""
    current = EVENT_TYPES[type_name].schema_version if type_name in EVENT_TYPES else 1
    while schema_version < current:
        data = UPCASTERS[(type_name, schema_version)](data)
        schema_version += 1
    return data
