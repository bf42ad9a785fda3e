"""Shared Hypothesis strategies: plausible command data for every docs/events.md command type,
and commands that are broken by construction (refused whatever the order's state).

`command(type)` draws data a real caller could send for that type; whether the command
is then legal depends on the order's state. `broken_command()` draws a (type, data, at)
that must be refused with a `ValidationError` (or `OutOfOrder` when dated in the future)
and append nothing, in any state.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from hypothesis import strategies as st

from parcelfsm.events import COMMAND_TYPES, TIMED_TYPES
from parcelfsm.vocabulary import (
    BUYER_FAULT_CAUSES,
    CUSTOMS_REASONS,
    REASONS,
    SCAN_STATUSES,
    SELLER_FAULT_CAUSES,
)

Data = dict[str, Any]

ORDER_IDS: Final = ("o-1", "o-2", "o-3")
PARTIES: Final = ("buyer", "seller")
CAUSES: Final = tuple(sorted(SELLER_FAULT_CAUSES | BUYER_FAULT_CAUSES))
FAULTS: Final = ("seller", "buyer", "none")
SOLUTIONS: Final = ("refund_only", "return_and_refund")
COUNTRIES: Final = ("US", "RU", "BR", "DE", "FR")
TRACKING_NUMBERS: Final = ("RB123456785CN", "LP00123456789012", "RR123456785RU", "1Z999AA10123456784")
RAW_TEXTS: Final = (
    "Clearing Customs",
    "Held At Customs",
    "Customs clearance failed",
    "Arrived at the distribution center in place of delivery",
    "Sending is expected",
    "Tracking number not available",
    "Delivery canceled",
    "Delivered",
    "In transit",
    "Something the normalizer never heard of",
)
#: every reason, the customs ones three times over (their rules have the most branches)
REASONS_WEIGHTED: Final = (*REASONS, *sorted(CUSTOMS_REASONS) * 3)
NON_ASCII: Final = ("№", "П", "é", "📦", "\u00a0", "\x00", "ё")

parties = st.sampled_from(PARTIES)
tracking_numbers = st.sampled_from(TRACKING_NUMBERS)
#: ASCII-printable English-ish text (a dispute description, a complaint)
ascii_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=40).filter(
    str.strip
)
references = st.lists(
    st.sampled_from(["photo.jpg", "video.mp4", "customs-letter.pdf", "map.png"]), max_size=3
)


@st.composite
def placed(draw: st.DrawFn) -> Data:
    """`order.placed` data: amount, shipping ≤ amount, an optional coupon, a country."""
    amount = draw(st.integers(min_value=1, max_value=5000))
    data: Data = {
        "amount": amount,
        "currency": draw(st.sampled_from(["USD", "EUR"])),
        "shipping_cost": draw(st.integers(min_value=0, max_value=min(amount, 800))),
        "destination_country": draw(st.sampled_from(COUNTRIES)),
    }
    if draw(st.booleans()):
        data["coupon_discount"] = draw(st.integers(min_value=0, max_value=1500))
    if draw(st.booleans()):
        data["processing_days"] = draw(st.integers(min_value=1, max_value=8))
    if draw(st.integers(0, 4)) == 0:
        data["tracked"] = False
    return data


def amount_up_to(limit: int | None, *, minimum: int) -> st.SearchStrategy[int]:
    """An amount in item-value terms: mostly within `limit` (when known), sometimes anything."""
    anything = st.integers(min_value=minimum, max_value=6000)
    if limit is None or limit < minimum:
        return anything
    within = st.integers(min_value=minimum, max_value=limit)
    return st.one_of(within, within, within, st.just(limit), anything)


@st.composite
def dispute_form(draw: st.DrawFn, item_value: int | None = None) -> Data:
    """`dispute.opened` data: a valid form (a customs reason gets a cause when it needs one);
    the amount mostly ≤ `item_value` when given."""
    reason = draw(st.sampled_from(REASONS_WEIGHTED))
    data: Data = {
        "solution": draw(st.sampled_from(SOLUTIONS)),
        "goods_received": draw(st.booleans()),
        "reason": reason,
        "amount": draw(amount_up_to(item_value, minimum=1)),
        "description": draw(ascii_text),
    }
    if reason == "customs_problem" or (reason in CUSTOMS_REASONS and draw(st.booleans())):
        data["cause"] = draw(st.sampled_from(CAUSES))
    if draw(st.booleans()):
        data["evidence"] = draw(references)
    return data


@st.composite
def scanned(draw: st.DrawFn) -> Data:
    """`parcel.scanned` data: a normalized status or a raw carrier text."""
    data: Data = (
        {"status": draw(st.sampled_from(SCAN_STATUSES))}
        if draw(st.booleans())
        else {"text": draw(st.sampled_from(RAW_TEXTS))}
    )
    if draw(st.booleans()):
        data["location"] = draw(st.sampled_from(["Shenzhen", "Moscow", "Frankfurt"]))
    return data


@st.composite
def offer(draw: st.DrawFn, asked: int | None = None) -> Data:
    """`dispute.offer_made` data: a side and an amount (mostly ≤ `asked` when given)."""
    data: Data = {"by": draw(parties), "amount": draw(amount_up_to(asked, minimum=0))}
    if draw(st.integers(0, 3)) == 0:
        data["solution"] = draw(st.sampled_from(SOLUTIONS))
    if draw(st.integers(0, 3)) == 0:
        data["evidence"] = draw(references)
    return data


@st.composite
def decided(draw: st.DrawFn, asked: int | None = None) -> Data:
    """`dispute.decided` data: with or without refund_amount (mostly ≤ `asked`), with or
    without fault."""
    data: Data = {}
    if draw(st.booleans()):
        data["refund_amount"] = draw(amount_up_to(asked, minimum=0))
    if draw(st.integers(0, 3)):
        data["fault"] = draw(st.sampled_from(FAULTS))
    return data


#: an empty data object (a fresh dict each time: callers may add to it)
NOTHING: Final[st.SearchStrategy[Data]] = st.builds(dict)


def _optional(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[Data]:
    return st.fixed_dictionaries({}, optional=fields)


#: data strategy of every command type of docs/events.md
DATA: Final[dict[str, st.SearchStrategy[Data]]] = {
    "order.placed": placed(),
    "order.cancelled": st.fixed_dictionaries({"by": parties}),
    "order.shipped": _optional(
        tracking_number=tracking_numbers, carrier=st.sampled_from(["China Post", "UPS"])
    ),
    "parcel.scanned": scanned(),
    "parcel.track_replaced": st.fixed_dictionaries({"tracking_number": tracking_numbers}),
    "order.receipt_confirmed": NOTHING,
    "protection.extended": st.fixed_dictionaries({"days": st.integers(1, 30), "by": parties}),
    "dispute.opened": dispute_form(),
    "dispute.seller_accepted": NOTHING,
    "dispute.offer_made": offer(),
    "dispute.offer_accepted": st.fixed_dictionaries({"by": parties}),
    "dispute.escalated": st.fixed_dictionaries({"by": parties}),
    "dispute.customs_document_provided": st.fixed_dictionaries(
        {"document": st.sampled_from(["customs-letter.pdf", "duty-receipt.png"])}
    ),
    "dispute.decided": decided(),
    "dispute.return_shipped": st.fixed_dictionaries({"tracking_number": tracking_numbers}),
    "dispute.withdrawn": NOTHING,
    "dispute.reopened": NOTHING,
    "refund.received": NOTHING,
    "complaint.filed": st.fixed_dictionaries({"text": ascii_text}),
}
assert set(DATA) == set(COMMAND_TYPES), set(DATA) ^ set(COMMAND_TYPES)

#: command types likely to be legal for (order state, dispute state); repeats weigh
LIKELY: Final[dict[tuple[str, str], tuple[str, ...]]] = {
    ("none", "none"): ("order.placed",),
    ("awaiting_shipment", "none"): ("order.shipped",) * 4 + ("order.cancelled", "dispute.opened"),
    ("awaiting_delivery", "none"): ("dispute.opened",) * 4
    + ("parcel.scanned",) * 2
    + ("order.receipt_confirmed", "protection.extended", "parcel.track_replaced", "complaint.filed"),
    ("awaiting_delivery", "withdrawn"): ("dispute.reopened",) * 2
    + ("parcel.scanned", "order.receipt_confirmed", "protection.extended"),
    ("awaiting_delivery", "closed"): ("complaint.filed", "parcel.scanned", "order.receipt_confirmed"),
    ("frozen", "awaiting_seller"): ("dispute.offer_made",) * 2
    + ("dispute.seller_accepted", "dispute.escalated", "dispute.withdrawn", "protection.extended"),
    ("frozen", "negotiating"): ("dispute.offer_made",) * 2
    + ("dispute.offer_accepted",) * 2
    + ("dispute.seller_accepted", "dispute.escalated", "dispute.withdrawn"),
    ("frozen", "escalated"): (
        "dispute.decided",
        "dispute.customs_document_provided",
        "dispute.withdrawn",
        "dispute.return_shipped",
        "protection.extended",
    ),
    ("finished", "none"): ("dispute.opened",) * 3 + ("complaint.filed", "parcel.scanned"),
    ("finished", "resolved"): ("refund.received",) * 2
    + ("dispute.return_shipped", "complaint.filed", "dispute.reopened"),
    ("finished", "withdrawn"): ("dispute.reopened",) * 2 + ("complaint.filed",),
    ("finished", "closed"): ("complaint.filed", "dispute.reopened"),
    ("cancelled", "none"): ("complaint.filed", "order.shipped", "dispute.opened"),
}


def likely(order_state: str, dispute_state: str) -> tuple[str, ...]:
    """Command types worth trying now (any type for a combination not listed)."""
    return LIKELY.get((order_state, dispute_state), tuple(sorted(COMMAND_TYPES)))


def command(
    type_name: str, *, item_value: int | None = None, asked: int | None = None
) -> st.SearchStrategy[Data]:
    """Plausible data for a command type; amounts fit the order / dispute when they are known."""
    if type_name == "dispute.opened":
        return dispute_form(item_value)
    if type_name == "dispute.offer_made":
        return offer(asked)
    if type_name == "dispute.decided":
        return decided(asked)
    return DATA[type_name]


def spans() -> st.SearchStrategy[dt.timedelta]:
    """A clock advance: minutes to 40 days, mostly short, with exact day multiples (deadline
    boundaries) and one second before them often."""
    minutes = st.integers(1, 180).map(lambda m: dt.timedelta(minutes=m))
    hours = st.integers(1, 72).map(lambda h: dt.timedelta(hours=h))
    return st.one_of(
        minutes,
        hours,
        hours,
        st.integers(1, 7).map(lambda d: dt.timedelta(days=d)),
        st.sampled_from([5, 7, 15]).map(lambda d: dt.timedelta(days=d)),
        st.sampled_from([5, 7, 15]).map(lambda d: dt.timedelta(days=d, seconds=-1)),
        st.integers(1, 40).map(lambda d: dt.timedelta(days=d)),
        st.integers(60, 40 * 86_400).map(lambda s: dt.timedelta(seconds=s)),
    )


# -- broken by construction -----------------------------------------------------------------


def _replace(type_name: str, **changes: Any) -> st.SearchStrategy[tuple[str, Data]]:
    return DATA[type_name].map(lambda d: (type_name, {**d, **changes}))


def _drop(type_name: str, field: str) -> st.SearchStrategy[tuple[str, Data]]:
    return DATA[type_name].map(lambda d: (type_name, {k: v for k, v in d.items() if k != field}))


@st.composite
def _non_ascii_description(draw: st.DrawFn) -> tuple[str, Data]:
    form = draw(dispute_form())
    text = form["description"]
    at = draw(st.integers(0, len(text)))
    form["description"] = text[:at] + draw(st.sampled_from(NON_ASCII)) + text[at:]
    return "dispute.opened", form


@st.composite
def _unknown_field(draw: st.DrawFn) -> tuple[str, Data]:
    type_name = draw(st.sampled_from(sorted(COMMAND_TYPES)))
    data = dict(draw(DATA[type_name]))
    data["x_" + draw(st.sampled_from(["note", "amount", "by"]))] = 1
    return type_name, data


def invalid_data() -> st.SearchStrategy[tuple[str, Data]]:
    """(type, data) that no state accepts: a `ValidationError` naming a field or the type."""
    return st.one_of(
        _non_ascii_description(),
        _replace("dispute.opened", amount=0),
        _replace("dispute.opened", amount=-100),
        _replace("dispute.opened", reason="customs_problem", cause=None),
        _replace("dispute.opened", reason="damaged", cause="no_invoice"),
        _replace("dispute.opened", solution="exchange"),
        _replace("dispute.opened", goods_received="no"),
        _replace("dispute.opened", evidence="photo.jpg"),
        _drop("dispute.opened", "reason"),
        _drop("dispute.opened", "amount"),
        _drop("dispute.opened", "description"),
        _replace("protection.extended", days=0),
        _replace("protection.extended", by="platform"),
        _replace("dispute.offer_made", amount=-1),
        _replace("dispute.offer_made", by="mediator"),
        _drop("dispute.offer_made", "by"),
        _drop("dispute.offer_accepted", "by"),
        _drop("dispute.escalated", "by"),
        _replace("dispute.decided", refund_amount=-5),
        _replace("dispute.decided", fault="platform"),
        _replace("dispute.decided", refund_amount="100"),
        _drop("dispute.customs_document_provided", "document"),
        _replace("order.placed", currency="usd"),
        _replace("order.placed", amount=0),
        _replace("order.placed", processing_days=9),
        _replace("order.cancelled", by="carrier"),
        _replace("parcel.scanned", status="teleported"),
        _drop("complaint.filed", "text"),
        _unknown_field(),
        st.sampled_from(TIMED_TYPES).map(lambda t: (t, {})),
        st.sampled_from(["dispute.cancelled", "order.refunded", ""]).map(lambda t: (t, {})),
    )


@st.composite
def broken_command(draw: st.DrawFn) -> tuple[str, str, Data, dt.timedelta | None]:
    """(order id, type, data, dated in the future by) that must be refused in any state.

    Either invalid data (`ValidationError`), a malformed order id (`ValidationError`), or a
    valid command dated after now (`OutOfOrder`, future given).
    """
    kind = draw(st.integers(0, 5))
    order = draw(st.sampled_from(ORDER_IDS))
    if kind == 0:
        type_name = draw(st.sampled_from(sorted(COMMAND_TYPES)))
        ahead = dt.timedelta(seconds=draw(st.integers(1, 86_400 * 3)))
        return order, type_name, draw(DATA[type_name]), ahead
    if kind == 1:
        bad = draw(st.sampled_from(["", "o 1", "o/1", "x" * 129, "заказ"]))
        type_name = draw(st.sampled_from(sorted(COMMAND_TYPES)))
        return bad, type_name, draw(DATA[type_name]), None
    type_name, data = draw(invalid_data())
    return order, type_name, data, None
