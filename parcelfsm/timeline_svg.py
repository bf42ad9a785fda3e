"""Draw a `Timeline` as one self-contained SVG (no fonts, images or scripts from outside).

Top to bottom: a title with the states at `now` and a legend, a time axis, one lane
per lifecycle with its states as coloured segments and its events as marks, one row
per deadline arming (a bar from the event that set it to its due time, labelled with
the rule), the escrow over time, and the "now" line. Every mark, segment, bar and
money step carries a `<title>`: its details on hover (the HTML page turns them into a
tooltip). The time axis covers the story and a look-ahead; a due time beyond it is
drawn as an arrow at the edge and named in the bar's label.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from html import escape
from typing import Final

import attrs

from parcelfsm.clock import format_time
from parcelfsm.money_format import format_money
from parcelfsm.timeline import LANES, Bar, Mark, Segment, Timeline
from parcelfsm.timeline_paint import (
    DEFS,
    FIRED,
    FONT,
    GHOST,
    GRID,
    INK,
    LANE_INK,
    LANE_TITLES,
    LEFT,
    MONEY,
    MUTED,
    PLOT,
    RIGHT,
    STATE_FILL,
    STATUS_FILL,
    STYLE,
    WIDTH,
    el,
    halo,
    legend,
    short_time,
    span_text,
    text,
    text_width,
    title,
)

#: more deadline armings than this share one row per kind
ROW_LIMIT: Final = 24


@attrs.frozen
class Scale:
    """Time → x over the drawn window."""

    t0: dt.datetime
    t1: dt.datetime

    def x(self, t: dt.datetime) -> float:
        """The x of `t`, clamped to the plot."""
        frac = (t - self.t0) / (self.t1 - self.t0)
        return round(LEFT + PLOT * min(max(frac, 0.0), 1.0), 1)


def window(tl: Timeline) -> Scale:
    """The drawn span: the story, plus a look-ahead for due times (40 % of the story, 7 to
    365 days), with small margins."""
    span = max(tl.now - tl.start, dt.timedelta(hours=1))
    ahead = min(max(dt.timedelta(days=7), span * 0.4), dt.timedelta(days=365))
    margin = min(span * 0.02, dt.timedelta(days=30))
    last = max([tl.now, *(m.at for m in tl.marks), *(b.due_at for b in tl.bars if b.due_at)])
    return Scale(tl.start - margin, max(min(last, tl.now + ahead), tl.now) + margin * 1.5)


def ticks(scale: Scale) -> list[dt.datetime]:
    """Midnights (UTC) at a step that gives at most 16 labels."""
    days = (scale.t1 - scale.t0) / dt.timedelta(days=1)
    step = next((s for s in (1, 2, 3, 7, 14, 28, 56, 91, 182, 364) if days / s <= 16), 0)
    step = step or 364 * math.ceil(days / 364 / 16)  # whole years
    t = scale.t0.replace(hour=0, minute=0, second=0, microsecond=0) + dt.timedelta(days=1)
    if step == 7:  # weeks start on Mondays
        t += dt.timedelta(days=(7 - t.weekday()) % 7)
    out: list[dt.datetime] = []
    while t <= scale.t1:
        out.append(t)
        t += dt.timedelta(days=step)
    return out


class Drawing:
    """Accumulates SVG elements top to bottom; `y` is where the next section starts."""

    def __init__(self, tl: Timeline) -> None:
        self.tl = tl
        self.scale = window(tl)
        self.out: list[str] = []
        self.y = 0.0

    def header(self) -> None:
        tl = self.tl
        states = ", ".join(f"{lane} {state}" for lane, state in tl.states.items())
        stored = sum(1 for m in tl.marks if not m.virtual)
        due = len(tl.marks) - stored
        counted = f"{stored} events" + (f" + {due} due by now, not stored yet" if due else "")
        sub = f"as of {format_time(tl.now)}  ·  {counted}  ·  now: {states}"
        self.out += [
            text(LEFT, 30, f"Order {tl.order_id}", 20, font_weight="700", fill=INK),
            text(LEFT, 52, sub, 13, fill=MUTED),
            *legend(LEFT, 78),
        ]
        self.y = 128

    def axis(self, top: float, bottom: float) -> list[str]:
        out = []
        for t in ticks(self.scale):
            x = self.scale.x(t)
            out += [
                el("line", x1=x, y1=top, x2=x, y2=bottom, stroke=GRID),
                text(x, top - 6, f"{t:%b} {t.day}", 11, fill=MUTED, text_anchor="middle"),
            ]
        out.append(el("line", x1=LEFT, y1=top, x2=LEFT + PLOT, y2=top, stroke="#9ca3af"))
        return out

    def lanes(self) -> None:
        self.y += 16
        for lane in LANES:
            top = self.y
            segments = self.tl.lane(lane)
            self.out += [
                f'<g class="lane" data-lane="{lane}">',
                text(16, top + 14, LANE_TITLES[lane], 14, font_weight="700", fill=LANE_INK[lane]),
                text(16, top + 30, f"now: {segments[-1].state}", 11, fill=MUTED),
            ]
            for segment in segments:
                self.segment(segment, top)
            for mark in self.tl.marks:
                if mark.lane == lane:
                    self.mark(mark, top)
            self.out.append("</g>")
            self.y += 46

    def segment(self, s: Segment, top: float) -> None:
        x0, x1 = self.scale.x(s.start), self.scale.x(s.end)
        name = "no dispute" if s.state == "none" else s.state.replace("_", " ")
        tip = f"{s.lane}: {s.state}\nfrom {format_time(s.start)}\nto {format_time(s.end)}"
        fill = STATE_FILL.get(s.state, GRID)
        self.out += [
            f'<g class="segment" data-state="{escape(s.state)}">',
            el("rect", x=x0, y=top, width=max(x1 - x0, 1), height=30, fill=fill, stroke="#ffffff"),
            title(tip),
        ]
        if text_width(name, 12) + 10 < x1 - x0:
            ink = MUTED if s.state in ("none", "not_shipped") else INK
            self.out.append(text((x0 + x1) / 2, top + 20, name, 12, fill=ink, text_anchor="middle"))
        self.out.append("</g>")

    def mark(self, m: Mark, top: float) -> None:
        look: dict[str, object]
        if m.virtual:
            look = {"fill": "#ffffff", "stroke": FIRED, "stroke_width": 2, "stroke_dasharray": "2 2"}
        elif m.timed:
            look = {"fill": FIRED, "stroke": INK, "stroke_width": 1}
        else:
            look = {"fill": "#ffffff", "stroke": INK, "stroke_width": 2}
        version = "not stored yet: due by now" if m.virtual else f"v{m.version}"
        tip = "\n".join([f"{m.type}  ({version})", format_time(m.at), *m.details])
        circle = el("circle", cx=self.scale.x(m.at), cy=top, r=6, **look)
        self.out.append(f'<g class="mark" data-type="{escape(m.type)}">{circle}{title(tip)}</g>')

    def deadlines(self) -> None:
        self.y += 18
        rows = deadline_rows(self.tl.bars)
        compact = len(rows) < len(self.tl.bars)
        note = (
            "one row per deadline (many armings): each bar from the event that set it; rule on the last"
            if compact
            else "one bar per arming: from the event that set it to its due time, labelled with its rule"
        )
        self.out += [
            text(16, self.y, "Deadlines", 14, font_weight="700", fill=INK),
            text(LEFT, self.y, note, 11, fill=MUTED),
        ]
        self.y += 12
        lane = None
        for row in rows:
            if lane is not None and row[0].lane != lane:
                self.out.append(
                    el("line", x1=16, y1=self.y + 2, x2=WIDTH - RIGHT, y2=self.y + 2, stroke=GRID)
                )
                self.y += 4
            lane, mid = row[0].lane, self.y + 11
            self.out += [
                el("rect", x=10, y=mid - 4, width=8, height=8, rx=2, fill=LANE_INK[lane]),
                text(24, mid + 4, row[0].kind, 12, fill=INK),
            ]
            for i, b in enumerate(row):
                self.bar(b, mid, last=i == len(row) - 1)
            self.y += 21

    def bar(self, b: Bar, mid: float, last: bool = True) -> None:
        """One arming; in a shared row only the last gets its ghost and label."""
        x0 = self.scale.x(b.set_at)
        end = b.end or self.tl.now
        x1 = max(self.scale.x(end), x0 + 2)
        parts = [
            f'<g class="bar bar-{b.status}" data-kind="{b.kind}" data-status="{b.status}" '
            f'data-rule="{escape(b.rule)}">'
        ]
        right = x1
        if last and b.status in ("dropped", "rearmed") and b.due_at is not None and b.due_at > end:
            right = self.scale.x(b.due_at)
            parts.append(
                el("rect", x=x1, y=mid - 6, width=max(right - x1, 1), height=12, fill="none",
                   stroke=GHOST, stroke_dasharray="3 2")
            )  # fmt: skip
        look: dict[str, object] = {"fill": STATUS_FILL[b.status]}
        if b.virtual_end:
            look["fill_opacity"] = 0.55
        if b.paused:
            look = {"fill": "url(#paused)", "stroke": STATUS_FILL["open"]}
        parts.append(el("rect", x=x0, y=mid - 6, width=round(x1 - x0, 1), height=12, rx=2, **look))
        if b.status == "fired":
            parts.append(el("path", d=f"M{x1} {mid - 9} v18", stroke="#9a3412", stroke_width=2))
        elif b.status in ("dropped", "rearmed"):
            cross = f"M{x1 - 4} {mid - 4} l8 8 M{x1 + 4} {mid - 4} l-8 8"
            parts.append(el("path", d=cross, stroke=INK, stroke_width=1.5))
        if last and b.due_at is not None and b.due_at > self.scale.t1:
            parts.append(el("path", d=f"M{LEFT + PLOT} {mid - 6} l10 6 l-10 6 z", fill=GHOST))
        if last:
            dark = b.status in ("open", "fired") and not b.paused
            label = f"{b.rule}  ·  {status_text(b)}"
            parts.append(bar_label(label, b.rule, x0, x1, right, mid + 4, dark))
        parts += [title(bar_tip(b)), "</g>"]
        self.out.append("".join(parts))

    def money(self) -> None:
        tl, scale = self.tl, self.scale
        self.y += 22
        height, top = 64.0, self.y + 14
        self.out.append(text(16, self.y + 4, f"Money ({tl.currency})", 14, font_weight="700", fill=INK))
        for i, (attr, label, colour) in enumerate(MONEY):
            y = top + 12 + i * 17
            value = format_money(getattr(tl.money[-1], attr), tl.currency)
            self.out += [
                el("rect", x=16, y=y - 9, width=10, height=10, rx=2, fill=colour),
                text(31, y, f"{label}: {value}", 11, fill=INK),
            ]
        paid = max(p.paid for p in tl.money) or 1
        self.out.append('<g class="money">')
        for i, point in enumerate(tl.money):
            end = tl.money[i + 1].at if i + 1 < len(tl.money) else tl.now
            x0, x1 = scale.x(point.at), scale.x(end)
            width, y = max(x1 - x0, 1), top + height
            lines = [f"{label}: {format_money(getattr(point, a), tl.currency)}" for a, label, _ in MONEY]
            cells = []
            for attr, _, colour in reversed(MONEY):
                value = getattr(point, attr)
                h = height * value / paid
                if h <= 0:
                    continue
                y -= h
                cells.append(el("rect", x=x0, y=round(y, 1), width=width, height=round(h, 1), fill=colour))
                caption = f"{attr} {format_money(value, tl.currency)}"
                if h >= 15 and text_width(caption, 12) + 12 < width:
                    ink = "#ffffff" if attr == "refunded" else INK
                    cells.append(text((x0 + x1) / 2, round(y + h / 2 + 4, 1), caption, 12, fill=ink,
                                      text_anchor="middle"))  # fmt: skip
            tip = "\n".join(
                [f"from {format_time(point.at)}", f"paid {format_money(point.paid, tl.currency)}", *lines]
            )
            self.out.append(f'<g class="money-step">{"".join(cells)}{title(tip)}</g>')
        self.out.append("</g>")
        self.y = top + height + 24

    def now_line(self, top: float) -> list[str]:
        x = self.scale.x(self.tl.now)
        label = f"now  {short_time(self.tl.now)}"
        w = text_width(label, 11) + 12
        return [
            '<g class="now">',
            el("line", x1=x, y1=top - 18, x2=x, y2=self.y - 14, stroke=INK, stroke_width=2,
               stroke_dasharray="6 3"),
            el("rect", x=x - w / 2, y=top - 34, width=w, height=16, rx=3, fill=INK),
            text(x, top - 22, label, 11, fill="#ffffff", text_anchor="middle"),
            title(f"now: {format_time(self.tl.now)}"),
            "</g>",
        ]  # fmt: skip


def deadline_rows(bars: Sequence[Bar], limit: int = ROW_LIMIT) -> list[list[Bar]]:
    """A row per arming while there are at most `limit`; else a row per deadline kind (its
    armings never overlap: a kind has one arming open at a time), in the same order."""
    if len(bars) <= limit:
        return [[b] for b in bars]
    rows: dict[str, list[Bar]] = {}
    for b in bars:
        rows.setdefault(b.kind, []).append(b)
    return sorted(rows.values(), key=lambda row: (LANES.index(row[0].lane), row[0].set_at))


def bar_label(label: str, short: str, x0: float, x1: float, right: float, y: float, dark: bool) -> str:
    """The label right of the bar (and its ghost), else right of the solid bar, else inside a
    dark bar, else left of it; the rule alone when the full label fits nowhere."""
    for content in (label, short):
        width = text_width(content, 11)
        for start in (right, x1):
            if start + 8 + width <= WIDTH - RIGHT:
                return halo(start + 8, y, content, 11, fill=INK)
        if dark and width + 12 <= x1 - x0:
            return text(x0 + 6, y, content, 11, fill="#ffffff")
        if x0 - 8 - width >= LEFT:
            return halo(x0 - 8, y, content, 11, fill=INK, text_anchor="end")
    if dark:
        return text(x0 + 6, y, short, 11, fill="#ffffff")
    return halo(x0 + 6, y, short, 11, fill=INK)


def status_text(b: Bar) -> str:
    """How the arming ended (or that it is open), for the bar's label. (An end not stored
    yet names its event without a version; the tooltip says so.)"""
    due = short_time(b.due_at) if b.due_at else "—"
    if b.status == "fired":
        return f"fired {due} → {b.on_expiry}"
    if b.status == "dropped":
        return f"dropped by {b.ended_by}"
    if b.status == "rearmed":
        return f"re-armed by {b.ended_by}"
    if b.paused and b.remaining is not None:
        return f"paused, {span_text(b.remaining)} left"
    return f"open, due {due}"


def bar_tip(b: Bar) -> str:
    """The bar's hover text."""
    lines = [
        f"{b.kind}  ({b.status}{', paused' if b.paused else ''})",
        f"rule: {b.rule}",
        f"set by {b.set_by} at {format_time(b.set_at)}",
        f"due: {format_time(b.due_at) if b.due_at else 'paused'}",
        f"on expiry: {b.on_expiry}",
    ]
    if b.remaining is not None:
        lines.append(f"time left while paused: {span_text(b.remaining)}")
    if b.ended_by:
        unstored = " (due by now, not stored yet)" if b.virtual_end else ""
        lines.append(f"ended by {b.ended_by} at {format_time(b.ended_at or b.set_at)}{unstored}")
    return "\n".join(lines)


def svg(tl: Timeline) -> str:
    """The timeline as a standalone SVG document (`timeline --svg`)."""
    d = Drawing(tl)
    d.header()
    axis_top = d.y
    head = len(d.out)
    d.lanes()
    d.deadlines()
    d.money()
    d.out[head:head] = d.axis(axis_top, d.y - 14) + d.now_line(axis_top)  # under the rest
    height = round(d.y)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="{FONT}" role="img" '
        f'aria-label="Timeline of order {escape(tl.order_id)}">{STYLE}{DEFS}'
        + el("rect", width=WIDTH, height=height, fill="#ffffff")
        + "".join(d.out)
        + "</svg>\n"
    )
