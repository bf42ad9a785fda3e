"""What the timeline is drawn with: colours, fonts, SVG element helpers, amounts, legend.

Shared by `timeline_svg` (the layout); no layout decisions here. The colours are chosen
so that each lifecycle's states read apart and the deadline outcomes stand out: open
deadlines blue, fired orange, dropped grey, re-armed light indigo, paused hatched.
"""

from __future__ import annotations

import datetime as dt
from html import escape
from typing import Final

from parcelfsm.timeline import Lane

WIDTH: Final = 1360
LEFT: Final = 210
RIGHT: Final = 36
PLOT: Final = WIDTH - LEFT - RIGHT
FONT: Final = "'DejaVu Sans', 'Liberation Sans', 'Helvetica Neue', Arial, sans-serif"
INK: Final = "#111827"
MUTED: Final = "#4b5563"
GRID: Final = "#e5e7eb"
GHOST: Final = "#6b7280"
FIRED: Final = "#ea580c"
LANE_TITLES: Final[dict[Lane, str]] = {"order": "Order / escrow", "parcel": "Parcel", "dispute": "Dispute"}
LANE_INK: Final[dict[Lane, str]] = {"order": "#334155", "parcel": "#0f766e", "dispute": "#7e22ce"}
STATE_FILL: Final[dict[str, str]] = {
    "awaiting_shipment": "#fde68a",
    "awaiting_delivery": "#bfdbfe",
    "frozen": "#ddd6fe",
    "finished": "#bbf7d0",
    "cancelled": "#fecaca",
    "not_shipped": "#f3f4f6",
    "shipped": "#dbeafe",
    "in_transit": "#bfdbfe",
    "at_customs": "#fde68a",
    "held_at_customs": "#fdba74",
    "at_pickup_point": "#a5f3fc",
    "out_for_delivery": "#99f6e4",
    "delivered": "#bbf7d0",
    "returning": "#fbcfe8",
    "returned": "#f9a8d4",
    "lost": "#fca5a5",
    "seized": "#f87171",
    "none": "#f9fafb",
    "awaiting_seller": "#fde68a",
    "negotiating": "#fcd34d",
    "escalated": "#fdba74",
    "withdrawn": "#e5e7eb",
    "resolved": "#bbf7d0",
    "closed": "#d1d5db",
}
STATUS_FILL: Final = {"open": "#2563eb", "fired": FIRED, "dropped": "#9ca3af", "rearmed": "#a5b4fc"}
#: (MoneyPoint attribute, label, colour), stacked bottom-up in reverse order
MONEY: Final = (
    ("held", "held by the platform", "#f59e0b"),
    ("released", "released to seller", "#10b981"),
    ("refunded", "refunded to buyer", "#7c3aed"),
)
#: ISO 4217 minor-unit exponents that are not 2 (the common ones)
DEFS: Final = (
    '<defs><pattern id="paused" width="6" height="6" patternUnits="userSpaceOnUse" '
    'patternTransform="rotate(45)"><rect width="6" height="6" fill="#dbeafe"/>'
    '<rect width="3" height="6" fill="#93c5fd"/></pattern></defs>'
)
STYLE: Final = (
    "<style>.mark circle,.bar,.segment rect,.money-step{cursor:help}"
    ".mark:hover circle{stroke-width:3}.bar:hover text{font-weight:700}"
    ".segment:hover rect{filter:brightness(0.93)}</style>"
)


def short_time(t: dt.datetime) -> str:
    """`Mar 19 10:00` (UTC)."""
    return f"{t:%b} {t.day} {t:%H:%M}"


def span_text(span: dt.timedelta) -> str:
    """`78 d`, or `5 h` under a day."""
    days = span / dt.timedelta(days=1)
    return f"{days:.0f} d" if days >= 1 else f"{span / dt.timedelta(hours=1):.0f} h"


def text_width(text: str, size: float) -> float:
    """A slightly generous estimate of rendered text width in px (DejaVu/Liberation Sans)."""
    return len(text) * size * 0.52


def el(tag: str, **attrs: object) -> str:
    """An empty SVG element; `stroke_width=2` becomes `stroke-width="2"`."""
    return f"<{tag}{_attrs(attrs)}/>"


def text(x: float, y: float, content: str, size: float = 12, **attrs: object) -> str:
    """A `<text>` element (content escaped)."""
    return f'<text x="{x}" y="{y}" font-size="{size}"{_attrs(attrs)}>{escape(content)}</text>'


def halo(x: float, y: float, content: str, size: float = 11, **attrs: object) -> str:
    """Text with a white outline, readable over bars and grid lines."""
    return text(x, y, content, size, stroke="#ffffff", stroke_width=3, paint_order="stroke", **attrs)


def title(content: str) -> str:
    """A `<title>`: the details shown on hover."""
    return f"<title>{escape(content)}</title>"


def _attrs(attrs: dict[str, object]) -> str:
    return "".join(f' {k.replace("_", "-")}="{escape(str(v))}"' for k, v in attrs.items())


def legend(x: float, y: float) -> list[str]:
    """One row: the event marks, then the deadline outcomes."""
    out: list[str] = []
    marks = (
        ("event", {"fill": "#ffffff", "stroke": INK, "stroke_width": 2}),
        ("fired by a deadline", {"fill": FIRED, "stroke": INK, "stroke_width": 1}),
        ("due by now, not stored yet", {"fill": "#ffffff", "stroke": FIRED, "stroke_width": 2,
                                        "stroke_dasharray": "2 2"}),
    )  # fmt: skip
    for label, look in marks:
        out += [el("circle", cx=x + 5, cy=y - 4, r=5, **look), text(x + 14, y, label, 12, fill=INK)]
        x += 26 + text_width(label, 12)
    out.append(text(x + 8, y, "Deadlines:", 12, fill=MUTED, font_weight="700"))
    x += 86
    swatches: tuple[tuple[str, dict[str, object]], ...] = (
        ("open", {"fill": STATUS_FILL["open"]}),
        ("fired", {"fill": STATUS_FILL["fired"]}),
        ("dropped", {"fill": STATUS_FILL["dropped"]}),
        ("re-armed", {"fill": STATUS_FILL["rearmed"]}),
        ("paused", {"fill": "url(#paused)", "stroke": STATUS_FILL["open"]}),
        ("would have been due", {"fill": "none", "stroke": GHOST, "stroke_dasharray": "3 2"}),
    )
    for label, look in swatches:
        out += [
            el("rect", x=x, y=y - 10, width=22, height=11, rx=2, **look),
            text(x + 27, y, label, 12, fill=INK),
        ]
        x += 38 + text_width(label, 12)
    return out
