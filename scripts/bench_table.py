"""Targets, scaling and the markdown table of a `scripts/bench.py` report.

The targets are the project's performance goals (docs/benchmarks.md): each row of a
report gets the goal that applies to it and whether the run met it (None: no goal).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

#: every measure a report has (the CI smoke test checks each is present)
MEASURES = (
    "append_single",
    "record_many_10",
    "record_many_100",
    "import",
    "rebuild",
    "verify",
    "tick",
    "storage",
    "show_process",
    "import_parcelfsm",
)
ES_APPEND = "eventsourcing get+save per command"
ES_REPLAY = "eventsourcing repository.get of every order"
RAW_COMMIT = "raw insert+commit per row"


def _ratio(r: dict[str, Any], name: str) -> float | None:
    value = r["baselines"].get(name, {}).get("ratio")
    return float(value) if value is not None else None


def _at_least(value: float | None, floor: float) -> bool | None:
    return None if value is None else value >= floor


def _all(*checks: bool | None) -> bool | None:
    if any(c is None for c in checks):
        return None
    return all(checks)


def target(r: dict[str, Any]) -> tuple[str, bool | None]:
    """(the goal for this row, whether it was met; None when there is no goal or no figure)."""
    m, sync, pf = r["measure"], r["sync"], r["parcelfsm"]
    if m == "append_single":
        es = _at_least(_ratio(r, ES_APPEND), 2.0)
        if sync == "NORMAL":
            cpu = pf.get("cpu_us_per_item")
            return "≥ 2× eventsourcing, ≤ 90 µs CPU/command", _all(es, None if cpu is None else cpu <= 90)
        return "≥ 2× eventsourcing", es
    if m == "record_many_100" and sync == "FULL":
        return "≥ 1.5× raw insert+commit per row", _at_least(_ratio(r, RAW_COMMIT), 1.5)
    if m == "import":
        peak = r.get("process", {}).get("peak_mb")
        return "≥ 0.25× raw executemany, peak < 100 MB", _all(
            _at_least(_ratio(r, "raw executemany"), 0.25), None if peak is None else peak < 100
        )
    if m == "rebuild":
        return "≥ 0.5× raw scan, ≥ 4× eventsourcing", _all(
            _at_least(_ratio(r, "raw scan+json.loads"), 0.5), _at_least(_ratio(r, ES_REPLAY), 4.0)
        )
    if m == "verify":
        return "≥ 0.35× raw scan", _at_least(_ratio(r, "raw scan+json.loads"), 0.35)
    if m == "tick" and sync in ("NORMAL", "FULL"):
        floor = 20_000 if sync == "NORMAL" else 5_000
        return f"≥ {floor // 1000}k deadlines/s", _at_least(pf.get("per_s"), floor)
    if m == "storage":
        return "≤ 250 B/event", pf["bytes_per_event"] <= 250
    if m == "show_process":
        return "< 0.12 s", pf["median_s"] < 0.12
    return "—", None


def scaling(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """CPU per item at the large size over the small one, per (measure, sync): ≤ ~1.1 is linear or better."""
    by_key: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    for r in rows:
        if r["parcelfsm"].get("cpu_us_per_item") is not None:
            by_key.setdefault((r["measure"], r["sync"]), []).append(r)
    out: dict[str, Any] = {}
    for (measure, sync), group in by_key.items():
        if len(group) == 2:
            small, large = sorted(group, key=lambda g: g["size_events"])
            out[f"{measure}/{sync or '-'}"] = round(
                large["parcelfsm"]["cpu_us_per_item"] / small["parcelfsm"]["cpu_us_per_item"], 2
            )
    return out


def _rate(sample: dict[str, Any], unit: str = "/s") -> str:
    if "bytes_per_event" in sample:
        return f"{sample['bytes_per_event']:.0f} B/event"
    if "median_s" in sample:
        cpu = sample.get("cpu_median_s")
        return f"{sample['median_s'] * 1000:.0f} ms" + (
            f" (CPU {cpu * 1000:.0f} ms)" if cpu is not None else ""
        )
    if "unavailable" in sample:
        return "n/a"
    per_s = sample.get("per_s") or 0
    text = f"{per_s / 1000:.1f}k{unit}" if per_s >= 1000 else f"{per_s:.0f}{unit}"
    if sample.get("cpu_s") and sample.get("wall_s"):
        text += f" (CPU {sample['cpu_s'] / sample['wall_s'] * 100:.0f}%)"
    return text


def _cell_baselines(r: dict[str, Any]) -> str:
    parts = []
    for name, sample in r["baselines"].items():
        ratio = sample.get("ratio")
        parts.append(f"{name} {_rate(sample)}" + (f" → **{ratio:.2f}×**" if ratio is not None else ""))
    return "; ".join(parts) or "—"


def markdown(report: dict[str, Any]) -> str:
    """The report as a markdown section: machine, disk probe, one table row per figure."""
    m = report["machine"]
    lines = [
        f"Machine: {m['processor']}, {m['cpus']} CPUs, {m['platform']}, Python {m['python']}, "
        f"SQLite {m['sqlite']}, eventsourcing {m['eventsourcing']}; "
        f"load average (1, 5, 15 min) at start {m['load_avg']}, at end {m.get('load_avg_end', '?')}.",
        f"Disk write+fsync (4 KiB) median: {report['fsync_before']['median_us']:.0f} µs before, "
        f"{report['fsync_after']['median_us']:.0f} µs after. "
        f"Medians of {report['settings']['repeats']} runs; rates are wall-clock, "
        "CPU% = CPU time / wall time; ratio = parcelfsm / baseline (higher is better).",
        "",
        "| measure | sync | size | parcelfsm | CPU µs/item | baselines (same run) → ratio | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        pf = r["parcelfsm"]
        unit = "/s"
        size = f"{r['size_events']:,} ev" if r["measure"] != "tick" else f"{r['size_events']:,} deadlines"
        cell = _rate(pf, unit)
        if r["measure"] == "import" and "process" in r:
            cell += f"; `parcelfsm import` peak {r['process']['peak_mb']:.0f} MB"
        if r["measure"] == "storage":
            cell += f" ({r['many_open_deadlines']['bytes_per_event']:.0f} with an open deadline per event)"
        if r["measure"] == "import_parcelfsm":
            size = "—"
        cpu = pf.get("cpu_us_per_item")
        met = {True: "yes", False: "**no**", None: "—"}[r["met"]]
        cpu_cell = "" if cpu is None else f"{cpu:.0f}"
        lines.append(
            f"| {r['measure']} | {r['sync'] or '—'} | {size} | {cell} | {cpu_cell} "
            f"| {_cell_baselines(r)} | {r['target']} | {met} |"
        )
    lines += ["", "CPU per item, large size / small size (≤ ~1.1: linear or better): "
              + ", ".join(f"{k} {v}" for k, v in report["scaling"].items()), ""]  # fmt: skip
    return "\n".join(lines)


def _short(sample: dict[str, Any]) -> str:
    if "bytes_per_event" in sample:
        return f"{sample['bytes_per_event']:.0f} B/event"
    if "median_s" in sample:
        return f"{sample['median_s'] * 1000:.0f} ms"
    per_s = sample.get("per_s")
    if not per_s:
        return "n/a"
    cpu = sample.get("cpu_us_per_item")
    rate = f"{per_s / 1000:.1f}k/s" if per_s >= 1000 else f"{per_s:.0f}/s"
    return rate + (f", {cpu:.0f} µs CPU" if cpu is not None else "")


def summary(report: dict[str, Any]) -> str:
    """One line per measure at the large size: parcelfsm, the ratio to each kind of
    baseline, the target (the README's short table)."""
    m = report["machine"]
    large = max(r["size_events"] for r in report["rows"] if r["measure"] == "append_single")
    lines = [
        f"{m['cpus']}-CPU {m['processor']} Linux, Python {m['python']}, SQLite {m['sqlite']}, "
        f"eventsourcing {m['eventsourcing']}; {large:,} events; shared machine "
        f"(load {m['load_avg'][0]}–{m.get('load_avg_end', ['?'])[0]}), "
        f"fsync {report['fsync_before']['median_us']:.0f}–{report['fsync_after']['median_us']:.0f} µs.",
        "",
        "| measure | sync | parcelfsm | vs raw sqlite3 | vs eventsourcing | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in report["rows"]:
        size = report["settings"]["orders"][1] if r["measure"] == "tick" else large
        if r["measure"] != "import_parcelfsm" and r["size_events"] != size:
            continue
        raw = [f"{b['ratio']:.2f}× {name.removeprefix('raw ')}" for name, b in r["baselines"].items()
               if name.startswith("raw") and b.get("ratio") is not None]  # fmt: skip
        es = [f"{b['ratio']:.2f}×" for name, b in r["baselines"].items()
              if name.startswith("eventsourcing") and b.get("ratio") is not None]  # fmt: skip
        cell = _short(r["parcelfsm"])
        if r["measure"] == "import" and "process" in r:
            cell += f"; peak {r['process']['peak_mb']:.0f} MB"
        met = {True: "yes", False: "no", None: "—"}[r["met"]]
        lines.append(
            f"| {r['measure']} | {r['sync'] or '—'} | {cell} | {'; '.join(raw) or '—'} "
            f"| {'; '.join(es) or '—'} | {r['target']} | {met} |"
        )
    return "\n".join(lines) + "\n"


def splice(path: Path, name: str, text: str) -> None:
    """Replace what lies between `<!-- bench:NAME:start -->` and `<!-- bench:NAME:end -->`
    in `path` with `text` (the README's and docs/benchmarks.md's tables)."""
    start, end = f"<!-- bench:{name}:start -->\n", f"<!-- bench:{name}:end -->"
    doc = path.read_text(encoding="utf-8")
    head, found, rest = doc.partition(start)
    _, found_end, tail = rest.partition(end)
    if not (found and found_end):
        raise ValueError(f"{path}: no {start.strip()} … {end} markers")
    path.write_text(head + start + text + end + tail, encoding="utf-8")
