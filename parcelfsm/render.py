"""Human-readable text for the CLI (tables); `--json` bypasses this module."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from parcelfsm.clock import format_time
from parcelfsm.money_format import format_money

if TYPE_CHECKING:  # only annotations: rendering needs none of these modules loaded
    from parcelfsm.deadlines import Deadline
    from parcelfsm.records import NewEvent, StoredEvent
    from parcelfsm.store.projections import OrderRow
    from parcelfsm.views import OrderView


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain left-aligned text table."""
    cells = [[("" if c is None else str(c)) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def _due(d: Deadline) -> str:
    if d.paused:
        left = d.remaining.total_seconds() / 86400 if d.remaining is not None else 0
        return f"paused ({left:.1f} d left)"
    return format_time(d.due_at) if d.due_at else ""


def deadlines(items: Sequence[Deadline], *, with_order: bool = False) -> str:
    """Deadlines as a table."""
    headers = (
        ["order", "kind", "due_at", "on_expiry", "rule", "set_by"]
        if with_order
        else ["kind", "due_at", "on_expiry", "rule", "set_by"]
    )
    rows: list[list[Any]] = [
        ([d.order_id] if with_order else []) + [d.kind, _due(d), d.on_expiry, d.rule, d.set_by_version]
        for d in items
    ]
    return table(headers, rows) if rows else "(no open deadlines)"


def view(v: OrderView) -> str:
    """`show` as text: states, money, deadlines, alerts, the commands allowed now, advice."""
    m = v.money

    def money(minor: int) -> str:
        return format_money(minor, m.currency)

    out = [
        f"order {v.order_id}  version {v.version}  as of {format_time(v.as_of)}  policy {v.policy_version}",
        f"  order: {v.states['order']}   parcel: {v.states['parcel']}   "
        f"dispute: {v.states['dispute'] or '-'}" + ("   (final)" if v.final else ""),
        f"  money: paid {money(m.paid)}  held {money(m.held)}  "
        f"released to seller {money(m.released_to_seller)}  refunded to buyer {money(m.refunded_to_buyer)}",
    ]
    if v.tracking_number:
        old = f" (was {', '.join(v.old_tracking_numbers)})" if v.old_tracking_numbers else ""
        out.append(f"  tracking: {v.tracking_number}{old}")
    if v.dispute:
        d = v.dispute
        outcome = d.get("outcome")
        out.append(
            f"  dispute: {d['reason']}"
            + (f"/{d['cause']}" if d.get("cause") else "")
            + f", asked {money(d['amount'])}"
            + (f", outcome {outcome['how']} refund {money(outcome['refund'])}" if outcome else "")
        )
    out += ["", deadlines(list(v.deadlines))]
    if v.unfired:
        out.append("")
        out.append(
            "applied, not yet written by a tick: "
            + ", ".join(
                f"{e.type} ({e.data.get('deadline')} due {format_time(e.occurred_at)})" for e in v.unfired
            )
        )
    out.append("")
    out.append("alerts: " + (", ".join(v.alerts) if v.alerts else "none"))
    legal = [a.type for a in v.allowed if a.allowed]
    out.append("allowed now: " + (", ".join(legal) if legal else "nothing (the order is final)"))
    out.append("advice:")
    for a in v.advice:
        by = f" [by {format_time(a.by)}]" if a.by else ""
        out.append(f"  - {a.text}{by}  ({a.rule})")
    return "\n".join(out)


def shown(count: int, total: int) -> str:
    """The line under a cut list: "showing 100 of 2345" (nothing when all are shown)."""
    return f"\nshowing {count} of {total}" if total > count else ""


def type_list(items: Sequence[dict[str, Any]]) -> str:
    """`parcelfsm types`: command types (with required fields), then timed types."""
    commands = [
        [i["type"], ", ".join(i["required"]) or "-", i["description"]] for i in items if not i["timed"]
    ]
    timed = [[i["type"], i["description"]] for i in items if i["timed"]]
    return "\n".join(
        [
            "commands (parcelfsm record ORDER TYPE --data JSON):",
            table(["type", "required", "description"], commands),
            "",
            "timed events (appended by the library when a deadline passes):",
            table(["type", "description"], timed),
            "",
            "fields of one type: parcelfsm types TYPE",
        ]
    )


def _allowed_values(f: dict[str, Any]) -> str:
    parts: list[str] = []
    if f["allowed"]:
        parts.append(" | ".join(map(str, f["allowed"])))
    if f["iso"]:
        parts.append(f"{f['iso']} code")
    if f["minimum"] is not None or f["maximum"] is not None:
        low = "" if f["minimum"] is None else str(f["minimum"])
        high = "" if f["maximum"] is None else str(f["maximum"])
        parts.append(f"{low}…{high}")
    if f["max_length"] is not None:
        parts.append(f"≤ {f['max_length']} chars")
    if f["pattern"] == r"^[\t\n\r\x20-\x7e]*$":
        parts.append("printable ASCII")
    return "; ".join(parts)


def type_fields(info: dict[str, Any]) -> str:
    """`parcelfsm types TYPE`: the type's description and a table of its fields."""
    kind = "timed event, appended by the library" if info["timed"] else "command"
    rows = [
        [
            f["name"],
            f["type"] + (" or null" if f["nullable"] else ""),
            "library" if f["derived"] else ("yes" if f["required"] else "no"),
            _allowed_values(f),
            "" if f["default"] is None else json_text(f["default"]),
        ]
        for f in info["fields"]
    ]
    head = f"{info['type']} ({kind}): {info['description']}"
    if not rows:
        return head + "\n(no fields: --data may be omitted)"
    return head + "\n" + table(["field", "type", "required", "allowed", "default"], rows)


def json_text(value: Any) -> str:
    """A default value as JSON writes it (`true`, `0`, `[]`)."""
    return json.dumps(value)


def events(items: Sequence[StoredEvent | NewEvent]) -> str:
    """Events as a table (history, tick, advance)."""
    if not items:
        return "(nothing)"
    rows = []
    for e in items:
        rows.append(
            [
                e.stream_id,
                e.version if e.version is not None else "-",
                e.type,
                format_time(e.occurred_at),
                format_time(e.due_at) if e.due_at else "",
                _brief(e.data),
            ]
        )
    return table(["order", "v", "type", "occurred_at", "due_at", "data"], rows)


def _brief(data: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in data.items() if k != "policy"]
    text = ", ".join(parts)
    return text if len(text) <= 70 else text[:67] + "..."


def order_rows(rows: Sequence[OrderRow]) -> str:
    """`list`: one line per order: id, the three states, held money, alerts."""
    if not rows:
        return "no orders"
    lines = [f"{'order':<20} {'order state':<18} {'parcel':<16} {'dispute':<16} {'held':>10}  alerts"]
    for r in rows:
        lines.append(
            f"{r.stream_id:<20} {r.order_state:<18} {r.parcel_state:<16} {r.dispute_state:<16} "
            f"{r.held:>10}  {r.alerts or '-'}"
        )
    return "\n".join(lines)
