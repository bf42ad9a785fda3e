"""Replay (or verify) an event log and summarize what it holds.

Usage:
    python scripts/replay.py orders.db               # rebuild the projections, print a summary
    python scripts/replay.py orders.db --verify      # check hash chains and projections; write nothing
    python scripts/replay.py sim.jsonl --verify --json

SOURCE is a parcelfsm SQLite database or a `.jsonl` file of stored events (the
`export` format), which is first imported into a temporary database with
`Orders.import_lines`. Then `Orders.replay(verify=…)` runs and the summary is read
from the `orders`, `deadlines` and `event_rows` tables with sqlite-utils: orders, events (by
type), per-state counts of the order, parcel and dispute lifecycles, open deadlines by
kind, money totals per currency (paid, held, released, refunded — and that paid is
their sum, order by order), the replay's events/s, where the file's bytes go (per
table and index, per event) and the problems found.

Exit status: 0 when no problem was found, 5 when the replay or the money check found
one (as `parcelfsm replay --verify`), 2 on bad usage.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlite_utils

import parcelfsm
from parcelfsm.clock import SystemClock

MONEY = ("paid", "held", "released_to_seller", "refunded_to_buyer")


def is_jsonl(path: str) -> bool:
    """A JSON lines file (by name, or by a first byte of `{`) rather than a SQLite file."""
    if path.endswith((".jsonl", ".ndjson", ".json")):
        return True
    with open(path, "rb") as handle:
        head = handle.read(16)
    return not head.startswith(b"SQLite format 3") and head.lstrip()[:1] == b"{"


def _lines(path: str) -> Iterator[str]:
    with open(path, encoding="utf-8") as handle:
        yield from handle


def counts(db: sqlite_utils.Database, sql: str) -> dict[str, int]:
    """`{value: count}` of a two-column GROUP BY query, NULL shown as "none"."""
    return {str(k) if k is not None else "none": int(n) for k, n in db.execute(sql).fetchall()}


def storage(db: sqlite_utils.Database, events: int) -> dict[str, Any]:
    """The file's bytes per table and index (SQLite's `dbstat`), and per event; empty when
    this SQLite was built without `dbstat`."""
    try:
        pages = db.query("SELECT name, SUM(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC")
        by_name = {r["name"]: int(r["bytes"]) for r in pages}
    except sqlite3.OperationalError:
        return {}
    total = sum(by_name.values())
    return {
        "bytes": total,
        "bytes_per_event": round(total / events, 1) if events else None,
        "by_table": by_name,
    }


def summarize(path: str) -> dict[str, Any]:
    """States, money, deadlines and storage of a database, read straight from its tables."""
    db = sqlite_utils.Database(sqlite3.connect(f"file:{path}?mode=ro", uri=True))
    try:
        events = db["events"].count
        summary: dict[str, Any] = {
            "orders": db["orders"].count,
            "events": events,
            "events_by_type": counts(  # event_rows: the logical rows (docs/storage.md)
                db, "SELECT type, COUNT(*) FROM event_rows GROUP BY type ORDER BY type"
            ),
            "states": {
                name: counts(db, f"SELECT {name}_state, COUNT(*) FROM orders GROUP BY 1 ORDER BY 1")
                for name in ("order", "parcel", "dispute")
            },
            "open_deadlines": counts(db, "SELECT kind, COUNT(*) FROM deadlines GROUP BY kind ORDER BY kind"),
            "storage": storage(db, events),
        }
        money: dict[str, dict[str, int]] = {}
        sums = ", ".join(f"SUM({m}) AS {m}" for m in MONEY)
        for r in db.query(
            f"SELECT currency, COUNT(*) AS orders, {sums} FROM orders GROUP BY currency ORDER BY currency"
        ):
            money[r.pop("currency")] = r
        summary["money"] = money
        problems = [
            f"{r['stream_id']}: paid {r['paid']} != held {r['held']} + released "
            f"{r['released_to_seller']} + refunded {r['refunded_to_buyer']}"
            for r in db.query(
                "SELECT stream_id, paid, held, released_to_seller, refunded_to_buyer FROM orders "
                "WHERE paid != held + released_to_seller + refunded_to_buyer "
                "OR held < 0 OR released_to_seller < 0 OR refunded_to_buyer < 0 ORDER BY stream_id"
            )
        ]
        for currency, total in money.items():
            if total["paid"] != total["held"] + total["released_to_seller"] + total["refunded_to_buyer"]:
                problems.append(f"{currency}: total paid is not held + released + refunded")
        summary["money_ok"] = not problems
        summary["money_problems"] = problems
        return summary
    finally:
        db.close()


def run(source: str, verify: bool) -> dict[str, Any]:
    """Import (for JSON lines), replay and summarize `source`."""
    tmp: tempfile.TemporaryDirectory[str] | None = None
    report: dict[str, Any] = {"source": source, "mode": "verify" if verify else "rebuild"}
    try:
        if is_jsonl(source):
            tmp = tempfile.TemporaryDirectory(prefix="parcelfsm-replay-")
            db = os.path.join(tmp.name, "replay.db")
            with parcelfsm.open(db, clock=SystemClock(), synchronous="OFF") as orders:
                begin = time.perf_counter()
                imported = orders.import_lines(_lines(source))
                seconds = time.perf_counter() - begin
            report["import"] = {
                **imported.to_json(),
                "seconds": round(seconds, 3),
                "events_per_s": round(imported.appended / seconds, 1) if seconds else None,
            }
        else:
            if not Path(source).exists():
                raise FileNotFoundError(source)
            db = source
        with parcelfsm.open(db, clock=SystemClock()) as orders:
            begin = time.perf_counter()
            replayed = orders.replay(verify=verify)
            seconds = time.perf_counter() - begin
        summary = summarize(db)
    finally:
        if tmp is not None:
            tmp.cleanup()
    problems = list(replayed.problems) + summary.pop("money_problems")
    report.update(
        {
            "replay": {
                "orders": replayed.orders,
                "events": replayed.events,
                "seconds": round(seconds, 3),
                "events_per_s": round(replayed.events / seconds, 1) if seconds else None,
            },
            **summary,
            "ok": not problems,
            "problems": problems,
        }
    )
    return report


def to_text(report: dict[str, Any]) -> str:
    """The human summary."""
    r = report["replay"]
    lines = [
        f"{report['source']}: {report['mode']} of {r['orders']} orders, {r['events']} events "
        f"in {r['seconds']} s ({r['events_per_s']} events/s)"
    ]
    if "import" in report:
        i = report["import"]
        lines.append(
            f"imported {i['appended']} events ({i['events_per_s']} events/s), {i['skipped']} skipped"
        )
    lines.append(f"orders: {report['orders']}, events: {report['events']}")
    for name, table in report["states"].items():
        lines.append(f"{name} states: " + ", ".join(f"{k} {v}" for k, v in table.items()))
    lines.append(
        "open deadlines: " + (", ".join(f"{k} {v}" for k, v in report["open_deadlines"].items()) or "none")
    )
    lines.append("money (minor units):")
    for currency, m in report["money"].items():
        lines.append(
            f"  {currency}: {m['orders']} orders, paid {m['paid']}, held {m['held']}, "
            f"released {m['released_to_seller']}, refunded {m['refunded_to_buyer']}"
        )
    lines.append("paid == held + released + refunded: " + ("yes" if report["money_ok"] else "NO"))
    if report["storage"]:
        st = report["storage"]
        parts = ", ".join(f"{name} {n:,}" for name, n in st["by_table"].items())
        lines.append(f"storage: {st['bytes']:,} bytes, {st['bytes_per_event']} B/event ({parts})")
    lines.append("events by type: " + ", ".join(f"{k} {v}" for k, v in report["events_by_type"].items()))
    if report["problems"]:
        lines.append(f"{len(report['problems'])} problem(s):")
        lines += [f"  - {p}" for p in report["problems"]]
    else:
        lines.append("no problems found")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("source", help="a parcelfsm SQLite database or a .jsonl file of stored events")
    parser.add_argument("--verify", action="store_true", help="verify instead of rebuilding (writes nothing)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    args = parser.parse_args(argv)
    try:
        report = run(args.source, args.verify)
    except (OSError, parcelfsm.errors.ParcelFsmError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        if args.json:
            print(json.dumps({"error": {"type": type(exc).__name__, "message": message}}))
        else:
            print(f"replay: {type(exc).__name__}: {message}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    print(json.dumps(report, indent=2) if args.json else to_text(report))
    return 0 if report["ok"] else 5


if __name__ == "__main__":
    raise SystemExit(main())
