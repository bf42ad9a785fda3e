"""Headless Chromium for the timeline page, and the README's screenshot (`docs/timeline.png`).

The story is order `o-1` of docs/cli.md's walk (held at customs, a dispute the seller ignores),
read on 2026-03-24: the seller's timeout and the refund show as due by then but not
stored yet, because nothing has touched the order since. The browser test
(`tests/test_timeline_browser.py`) uses `chromium`, `dump_dom` and `screenshot` from here.

    python scripts/timeline_png.py             # rewrite docs/timeline.png
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Final

import parcelfsm
from parcelfsm.clock import ManualClock
from parcelfsm.timeline import order_timeline
from parcelfsm.timeline_html import page
from parcelfsm.timeline_paint import WIDTH
from parcelfsm.timeline_svg import svg

ROOT: Final = Path(__file__).resolve().parent.parent
PNG: Final = ROOT / "docs" / "timeline.png"
NOW: Final = "2026-03-24T10:00:00Z"
#: o-1 of docs/cli.md's walk: (when, command type, data); `None` for a tick
STORY: Final[tuple[tuple[str, str | None, dict[str, Any]], ...]] = (
    (
        "2026-03-01T10:00:00Z",
        "order.placed",
        {
            "amount": 2599,
            "currency": "USD",
            "shipping_cost": 300,
            "destination_country": "RU",
            "processing_days": 5,
        },
    ),
    ("2026-03-02T10:00:00Z", "order.shipped", {"tracking_number": "RB123456785CN", "carrier": "China Post"}),
    ("2026-03-05T10:00:00Z", "parcel.scanned", {"text": "Clearing Customs"}),
    ("2026-03-08T10:00:00Z", "parcel.scanned", {"text": "Held At Customs"}),
    ("2026-03-14T10:00:00Z", None, {}),
    (
        "2026-03-14T10:00:00Z",
        "dispute.opened",
        {
            "solution": "refund_only",
            "goods_received": False,
            "reason": "customs_problem",
            "cause": "no_invoice",
            "amount": 2599,
            "description": "Held at customs: no invoice from the seller.",
        },
    ),
)
FLAGS: Final = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def chromium() -> str | None:
    """The Chromium binary, if one is installed."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _run(page_path: Path, profile: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    binary = chromium()
    if binary is None:
        raise RuntimeError("no chromium binary (apt-get install chromium)")
    argv = [binary, *FLAGS, f"--user-data-dir={profile}", *extra, page_path.resolve().as_uri()]
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True)


def dump_dom(page_path: Path, profile: Path) -> str:
    """The page's DOM after its scripts ran, as Chromium serializes it."""
    return _run(page_path, profile, "--dump-dom").stdout


def screenshot(page_path: Path, png: Path, profile: Path, width: int = 1400, height: int = 900) -> None:
    """A PNG of the page at the given window size."""
    _run(page_path, profile, f"--screenshot={png.resolve()}", f"--window-size={width},{height}")


def build(path: str) -> None:
    """Record the o-1 story of docs/cli.md's walk into the database at `path`."""
    clock = ManualClock(STORY[0][0])
    with parcelfsm.open(path, clock=clock) as orders:
        for when, type_name, data in STORY:
            clock.set(when)
            if type_name is None:
                orders.tick()
            else:
                orders.record("o-1", type_name, data)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="parcelfsm-timeline-") as tmp:
        db = str(Path(tmp) / "story.db")
        build(db)
        with parcelfsm.open(db, clock=ManualClock(NOW)) as orders:
            model = order_timeline(orders, "o-1")
        html = Path(tmp) / "o-1.html"
        html.write_text(page(model), encoding="utf-8")
        height = int(svg(model).split('height="', 1)[1].split('"', 1)[0]) + 16  # the body's top margin
        PNG.parent.mkdir(exist_ok=True)
        screenshot(html, PNG, Path(tmp) / "profile", width=WIDTH + 48, height=height)
    print(f"{PNG.relative_to(ROOT)}: {PNG.stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
