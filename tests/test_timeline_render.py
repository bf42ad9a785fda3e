"""The timeline page and SVG, through the CLI (`parcelfsm timeline`) and the API
(`parcelfsm.timeline_html.render_html` / `render_svg`): self-contained, structured,
the same from both, and bad input is a typed error.

The order is built with the CLI on a real SQLite file; the SVG is parsed as XML and the
page with the standard library's HTML parser.
"""

from __future__ import annotations

import itertools
import json
import re
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

from click.testing import CliRunner, Result

import parcelfsm
from parcelfsm.cli import cli
from parcelfsm.clock import ManualClock
from parcelfsm.machines import MACHINES
from parcelfsm.money_format import format_money
from parcelfsm.testing import DEFAULTS, Scenario
from parcelfsm.timeline import order_timeline
from parcelfsm.timeline_html import render_html, render_svg
from parcelfsm.timeline_paint import STATE_FILL
from parcelfsm.timeline_svg import deadline_rows, svg, ticks, window

SVG = "{http://www.w3.org/2000/svg}"
NOW = "2026-03-24T10:00:00Z"
STORY = (
    ("2026-03-01T10:00:00Z", "order.placed", {**DEFAULTS["order.placed"], "destination_country": "RU"}),
    ("2026-03-02T10:00:00Z", "order.shipped", DEFAULTS["order.shipped"]),
    ("2026-03-05T10:00:00Z", "parcel.scanned", {"text": "Clearing Customs"}),
    ("2026-03-08T10:00:00Z", "parcel.scanned", {"text": "Held At Customs"}),
    (
        "2026-03-14T10:00:00Z",
        "dispute.opened",
        {**DEFAULTS["dispute.opened"], "reason": "customs_problem", "cause": "no_invoice"},
    ),
)


def run(db: Path, *args: str, now: str = NOW) -> Result:
    """The CLI on `db` with a fixed clock."""
    return CliRunner().invoke(cli, ["--db", str(db), "--now", now, *args], catch_exceptions=False)


def recorded(tmp_path: Path) -> Path:
    """A database with the customs story of o-1 recorded through the CLI."""
    db = tmp_path / "orders.db"
    for when, type_name, data in STORY:
        result = run(db, "record", "o-1", type_name, "--data", json.dumps(data), now=when)
        assert result.exit_code == 0, result.output
    return db


class Resources(HTMLParser):
    """Collects every tag and every attribute that could load something."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.loads: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name in ("src", "href", "xlink:href", "srcset", "action", "poster", "data"):
                self.loads.append(f"{tag} {name}={value}")


def test_the_page_loads_nothing_from_outside(tmp_path: Path) -> None:
    """No src/href attributes, no <link>/<img>/<iframe>, no url() but in-page patterns,
    no http(s) address except the SVG namespace."""
    with parcelfsm.open(str(recorded(tmp_path)), clock=ManualClock(NOW)) as orders:
        page = render_html(orders, "o-1")
    parser = Resources()
    parser.feed(page)
    assert parser.loads == []
    assert not {"link", "img", "iframe", "object", "embed", "audio", "video"} & set(parser.tags)
    assert parser.tags.count("script") == 1 and parser.tags.count("style") >= 1
    assert re.findall(r"https?://[^\s\"']+", page) == ["http://www.w3.org/2000/svg"]
    assert set(re.findall(r"url\(([^)]*)\)", page)) == {"#paused"}
    assert "@import" not in page and "@font-face" not in page


def test_cli_writes_the_same_page_the_api_renders(tmp_path: Path) -> None:
    """`timeline o-1 -o FILE` and `render_html(orders, "o-1")` at the same instant agree."""
    db = recorded(tmp_path)
    out = tmp_path / "o-1.html"
    result = run(db, "timeline", "o-1", "-o", str(out))
    assert result.exit_code == 0
    assert f"written to {out}" in result.output
    with parcelfsm.open(str(db), clock=ManualClock(NOW)) as orders:
        assert out.read_text(encoding="utf-8") == render_html(orders, "o-1")
    stdout = run(db, "timeline", "o-1").output
    assert stdout == out.read_text(encoding="utf-8")
    assert stdout.startswith("<!DOCTYPE html>") and stdout.rstrip().endswith("</html>")


def test_svg_is_a_standalone_document_with_lanes_bars_money_and_now(tmp_path: Path) -> None:
    """`--svg` parses as XML: three lanes, a bar per arming labelled with its rule (with a
    hover title), money steps and one now line; it equals `render_svg`."""
    db = recorded(tmp_path)
    text = run(db, "timeline", "o-1", "--svg").output
    with parcelfsm.open(str(db), clock=ManualClock(NOW)) as orders:
        assert text == render_svg(orders, "o-1")
        model = order_timeline(orders, "o-1")
    root = ET.fromstring(text)
    assert root.tag == f"{SVG}svg"
    groups = list(root.iter(f"{SVG}g"))
    lanes = [g.get("data-lane") for g in groups if g.get("class") == "lane"]
    assert lanes == ["order", "parcel", "dispute"]
    drawn = [g for g in groups if (g.get("class") or "").startswith("bar ")]
    assert [(g.get("data-kind"), g.get("data-status")) for g in drawn] == [
        (b.kind, b.status) for b in model.bars
    ]
    for g, bar in zip(drawn, model.bars, strict=True):
        label = "".join(t.text or "" for t in g.iter(f"{SVG}text"))
        assert bar.rule in label
        tip = g.find(f"{SVG}title")
        assert tip is not None and f"rule: {bar.rule}" in (tip.text or "")
    response = next(g for g in drawn if g.get("data-kind") == "seller_response")
    assert response.get("data-status") == "fired"  # due 03-19, fired virtually by 03-24
    assert response.get("data-rule") == "dispute.seller_response_days=5"
    marks = [g for g in groups if g.get("class") == "mark"]
    assert len(marks) == len(model.marks) == 7  # 6 stored + the seller's timeout, not stored yet
    assert len([g for g in groups if g.get("class") == "money-step"]) == len(model.money) == 2
    assert len([g for g in groups if g.get("class") == "now"]) == 1
    words = " ".join(t.text or "" for t in root.iter(f"{SVG}text"))
    assert "refunded $25.99" in words and "held $25.99" in words


def test_json_output_is_the_model(tmp_path: Path) -> None:
    """`--json timeline` prints the model the API builds (states, bars, money)."""
    db = recorded(tmp_path)
    result = CliRunner().invoke(cli, ["--db", str(db), "--now", NOW, "--json", "timeline", "o-1"])
    with parcelfsm.open(str(db), clock=ManualClock(NOW)) as orders:
        assert json.loads(result.output) == order_timeline(orders, "o-1").to_json()
    payload = json.loads(result.output)
    assert payload["states"] == {"order": "finished", "parcel": "held_at_customs", "dispute": "resolved"}


def test_at_reads_the_order_as_it_stood(tmp_path: Path) -> None:
    """`--at` before the dispute: no dispute mark, the seller's deadline absent."""
    db = recorded(tmp_path)
    result = CliRunner().invoke(
        cli, ["--db", str(db), "--now", NOW, "--json", "timeline", "o-1", "--at", "2026-03-10T00:00:00Z"]
    )
    payload = json.loads(result.output)
    assert payload["now"] == "2026-03-10T00:00:00Z"
    assert [m["type"] for m in payload["marks"]][-1] == "parcel.scanned"
    assert "seller_response" not in {b["kind"] for b in payload["bars"]}


def test_unknown_order_and_bad_input_are_typed_errors_without_traceback(tmp_path: Path) -> None:
    """A missing order, a time before placement, a bad --at, an unwritable -o: exit 3 with
    one line; --svg with --json is a usage error (exit 2); no file is written."""
    db = recorded(tmp_path)
    cases = [
        (["timeline", "nope"], "NotFound"),
        (["timeline", "o-1", "--at", "2026-01-01"], "NotFound"),
        (["timeline", "o-1", "--at", "yesterday"], "ValidationError"),
        (["timeline", "o-1", "--at", "9500-01-01"], "ValidationError"),
        (["timeline", "../o-1"], "ValidationError"),
        (["timeline", "o-1", "-o", str(tmp_path)], "ValidationError"),
        (["timeline", "o-1", "-o", str(tmp_path / "missing" / "x.html")], "ValidationError"),
    ]
    for args, error in cases:
        result = run(db, *args)
        assert result.exit_code == 3, (args, result.output)
        assert result.output.startswith(f"{error}: ") and "Traceback" not in result.output
    usage = CliRunner().invoke(cli, ["--db", str(db), "--json", "timeline", "o-1", "--svg"])
    assert usage.exit_code == 2 and "--svg and --json" in usage.output
    assert not (tmp_path / "missing").exists()


def test_the_money_lane_writes_amounts_as_show_does(tmp_path: Path) -> None:
    """The timeline uses the same money formatting as `show` (the currency's exponent)."""
    db = tmp_path / "orders.db"
    with parcelfsm.open(str(db), clock=ManualClock("2026-03-01T10:00:00Z")) as orders:
        placed = {**DEFAULTS["order.placed"], "currency": "BHD", "amount": 40000, "shipping_cost": 500}
        orders.record("o-1", "order.placed", placed)
        page = render_html(orders, "o-1")
    assert format_money(40000, "BHD") in page and "40.000" in format_money(40000, "BHD")


def test_event_text_is_escaped_in_the_page_and_the_svg(tmp_path: Path) -> None:
    """A description with markup shows as text: no element of it reaches the page."""
    db = tmp_path / "orders.db"
    hostile = '<script>alert("x")</script> & <b onmouseover=1>'
    steps = [
        *STORY[:2],
        ("2026-03-05T10:00:00Z", "dispute.opened", {**DEFAULTS["dispute.opened"], "description": hostile}),
    ]
    for when, type_name, data in steps:
        assert run(db, "record", "o-1", type_name, "--data", json.dumps(data), now=when).exit_code == 0
    page = run(db, "timeline", "o-1").output
    assert "<script>alert" not in page and "<b onmouseover" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b onmouseover=1&gt;" in page
    parser = Resources()
    parser.feed(page)
    assert parser.tags.count("script") == 1 and "b" not in parser.tags
    ET.fromstring(run(db, "timeline", "o-1", "--svg").output)  # still well-formed XML


def test_a_story_of_centuries_draws_a_readable_axis() -> None:
    """Placed in 1970, read in 8999: the axis has at most 16 ticks and the SVG parses;
    read at the placement instant itself, it still draws."""
    s = Scenario(start="1970-01-01T00:00:00Z")
    try:
        s.given("order.placed")
        for at in ("8999-12-31T00:00:00Z", "1970-01-01T00:00:00Z"):
            model = order_timeline(s.orders, "o-1", at)
            assert 1 <= len(ticks(window(model))) <= 16
            assert ET.fromstring(svg(model)).tag == f"{SVG}svg"
    finally:
        s.close()


def test_every_state_of_every_machine_has_its_own_colour() -> None:
    """A state without a fill would be drawn grey and unlabelled by colour."""
    for machine in MACHINES.values():
        states = [s for s in machine.states if not (machine.name == "order" and s == "none")]
        assert not [s for s in states if s not in STATE_FILL], machine.name


def test_many_armings_share_one_row_per_deadline_kind() -> None:
    """300 scans re-arm presumed_lost 300 times: past 24 armings the drawing keeps one row
    per kind (a kind's armings never overlap in time), every arming still a bar with its
    tooltip, and the SVG stays about a screen tall."""
    s = Scenario()
    try:
        s.given("order.placed", "order.shipped")
        for _ in range(300):
            s.clock.advance(hours=3)
            s.when("parcel.scanned", {"status": "in_transit"})
        model = order_timeline(s.orders, "o-1")
    finally:
        s.close()
    assert len(model.bars) > 300
    rows = deadline_rows(model.bars)
    assert [row[0].kind for row in rows] == list(dict.fromkeys(b.kind for b in model.bars))
    for row in rows:
        assert len({b.kind for b in row}) == 1
        for a, b in itertools.pairwise(row):
            assert a.end is not None and a.end <= b.set_at
    assert deadline_rows(model.bars[:24]) == [[b] for b in model.bars[:24]]
    root = ET.fromstring(svg(model))
    drawn = [g for g in root.iter(f"{SVG}g") if (g.get("class") or "").startswith("bar ")]
    assert len(drawn) == len(model.bars)
    assert all(g.find(f"{SVG}title") is not None for g in drawn)
    assert int(root.get("height") or 0) < 900
