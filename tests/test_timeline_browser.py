"""The timeline page in a real browser: headless Chromium (Debian's `chromium`).

A real order (held at customs, a dispute the seller ignores, the refund) is recorded on
a SQLite file, the page is written by the `parcelfsm timeline` command in its own
process, and Chromium opens it from disk: `--dump-dom` gives the DOM after the page's
script ran, `--screenshot` a 1400×900 PNG (kept in the test's tmp_path, which pytest
keeps for the last runs). Skipped only when no Chromium binary is installed
(`.ci/run` installs it).
"""

from __future__ import annotations

import importlib.util
import struct
import subprocess
import sys
import zlib
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

import pytest
from stories import customs_story

from parcelfsm.testing import Scenario

ROOT = Path(__file__).resolve().parent.parent


def _helpers() -> ModuleType:
    spec = importlib.util.spec_from_file_location("timeline_png", ROOT / "scripts" / "timeline_png.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BROWSER = _helpers()
pytestmark = pytest.mark.skipif(
    BROWSER.chromium() is None, reason="no chromium binary installed (apt-get install chromium)"
)
NOW = "2026-03-24T10:00:00Z"
#: colours the page must paint: open and fired deadlines, held and refunded money, customs
PAINTED = {"open": "2563eb", "fired": "ea580c", "held": "f59e0b", "refunded": "7c3aed", "customs": "fdba74"}


def record_story(db: Path) -> None:
    """o-1 to RU: customs hold (its stall alert fires), a dispute the seller lets time out
    (full refund), the refund arrives; nothing is due between the last event and NOW."""
    s = Scenario(path=str(db))
    try:
        customs_story(s)
        assert s.clock.now().isoformat().startswith("2026-03-22")
    finally:
        s.close()


def cli_process(*args: str) -> subprocess.CompletedProcess[str]:
    """`parcelfsm ARGS` in its own process (the installed console script when there is one)."""
    script = Path(sys.executable).with_name("parcelfsm")
    argv = (
        [str(script)] if script.exists() else [sys.executable, "-c", "from parcelfsm.cli import main; main()"]
    )
    return subprocess.run([*argv, *args], capture_output=True, text=True, timeout=120, check=False)


class Dom(HTMLParser):
    """Elements of the dumped DOM: (tag, attributes) in order, and the text by element."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.texts.append(data.strip())

    def with_class(self, prefix: str) -> list[dict[str, str]]:
        return [a for _, a in self.elements if a.get("class", "").split(" ")[0] == prefix]


def png_pixels(data: bytes) -> tuple[int, int, set[str]]:
    """Width, height and the set of RGB colours (hex) of an 8-bit RGB/RGBA PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    width = height = bpp = 0
    while pos < len(data):
        size, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + size]
        pos += 12 + size
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and ctype in (2, 6), (depth, ctype)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
    raw, stride = zlib.decompress(idat), width * bpp
    prev, colours = bytearray(stride), set()
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride) if kind else ():
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        colours.update(line[i : i + 3].hex() for i in range(0, stride, bpp))
        prev = line
    return width, height, colours


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The timeline page of the story, written by the CLI in a separate process."""
    tmp = tmp_path_factory.mktemp("browser")
    db, html = tmp / "orders.db", tmp / "o-1.html"
    record_story(db)
    result = cli_process("--db", str(db), "--now", NOW, "timeline", "o-1", "-o", str(html))
    assert result.returncode == 0, result.stderr
    return html


def test_chromium_renders_lanes_bars_labels_and_runs_the_tooltip_script(page: Path, tmp_path: Path) -> None:
    """After the page's script ran: three lanes with their states, a bar per deadline arming
    with its rule (fired, dropped, re-armed and open ones), the money steps and the now
    line; every SVG title became a tooltip (`data-tip`) and the tooltip element exists."""
    dom = Dom()
    dom.feed(BROWSER.dump_dom(page, tmp_path / "profile"))
    lanes = dom.with_class("lane")
    assert [a["data-lane"] for a in lanes] == ["order", "parcel", "dispute"]
    states = {a["data-state"] for a in dom.with_class("segment")}
    assert {"frozen", "finished", "held_at_customs", "awaiting_seller", "resolved"} <= states
    bars = dom.with_class("bar")
    by_status = Counter(a["data-status"] for a in bars)
    assert by_status["fired"] == 2 and by_status["dropped"] >= 4 and by_status["rearmed"] >= 3
    assert by_status["open"] == 0  # held at customs is not lost: no presumed_lost runs on
    fired = {a["data-kind"]: a["data-rule"] for a in bars if a["data-status"] == "fired"}
    assert fired == {
        "customs_stall": "parcel.customs_stall_days=5",
        "seller_response": "dispute.seller_response_days=5",
    }
    text = " ".join(dom.texts)
    for label in ("dispute.seller_response_days=5", "refund.overdue_days=15", "parcel.customs_stall_days=5"):
        assert label in text
    for words in ("Order / escrow", "Parcel", "Dispute", "Deadlines", "Money (USD)", "now  Mar 24 10:00"):
        assert words in text, words
    assert "refunded $25.99" in text
    assert len(dom.with_class("money-step")) == 2 and len(dom.with_class("now")) == 1
    tips = [a for _, a in dom.elements if "data-tip" in a]
    source_titles = page.read_text(encoding="utf-8").count("<title>") - 1  # the document's own
    assert len(tips) == source_titles > 30
    assert [t for t, _ in dom.elements].count("title") == 1  # only <head>'s title remains
    root = dom.elements[0]
    assert root[0] == "html" and root[1].get("data-tips") == str(len(tips))
    assert any(t == "div" and a.get("id") == "tip" for t, a in dom.elements)
    seller = next(a for a in bars if a["data-kind"] == "seller_response")
    assert "rule: dispute.seller_response_days=5" in seller["data-tip"]


def test_chromium_screenshot_is_a_real_picture_of_the_timeline(page: Path, tmp_path: Path) -> None:
    """A 1400×900 PNG of some size whose pixels include the open-deadline blue, the fired
    orange, the held amber, the refunded violet and the held-at-customs orange."""
    png = tmp_path / "timeline.png"
    BROWSER.screenshot(page, png, tmp_path / "profile", width=1400, height=900)
    data = png.read_bytes()
    assert len(data) > 40_000
    width, height, colours = png_pixels(data)
    assert (width, height) == (1400, 900)
    assert len(colours) > 500
    missing = {name for name, hex_ in PAINTED.items() if hex_ not in colours}
    assert not missing, f"not painted: {missing} (screenshot kept at {png})"
