"""Cainiao global tracking responses → a `Feed` (`module[0].detailList`, or old `section1/2`).

Each entry's `actionCode` is mapped first (`parcelfsm.carriers.cainiao`); without a
code the carrier's texts (`standerdDesc`, `desc`, `descTitle`) go through the
normalizer. Times come from `timeStr` + `timeZone`, or epoch milliseconds in `time`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from parcelfsm.carriers import cainiao_status
from parcelfsm.errors import ValidationError
from parcelfsm.feeds_common import (
    Checkpoint,
    Feed,
    entries,
    epoch_ms,
    finish,
    local_time,
    text_of,
    zone_of,
)
from parcelfsm.tracking import normalize

_LEADING_PLACE: Final = re.compile(r"^\s*\[([^\]]*)\]\s*")


def _module(payload: Mapping[str, Any] | list[Any]) -> Mapping[str, Any]:
    """The one tracked parcel in a Cainiao response (or a bare detail list)."""
    if isinstance(payload, list):
        if payload and all(isinstance(m, Mapping) and "mailNo" in m for m in payload):
            modules: Any = payload
        else:
            return {"detailList": payload}
    elif "module" in payload:
        modules = payload["module"]
    elif isinstance(payload.get("data"), list):
        modules = payload["data"]
    else:
        return payload
    if isinstance(modules, Mapping):
        return modules
    if not isinstance(modules, list) or not all(isinstance(m, Mapping) for m in modules):
        raise ValidationError("module: expected a list of tracked parcels")
    if len(modules) != 1:
        raise ValidationError(f"module: expected one tracked parcel, found {len(modules)}")
    module: Mapping[str, Any] = modules[0]
    return module


def _time(entry: Mapping[str, Any], where: str) -> datetime:
    raw_zone = text_of(entry, "timeZone")
    zone = zone_of(raw_zone, f"{where}.timeZone") if raw_zone else None
    raw_epoch = entry.get("time")
    epoch = None if isinstance(raw_epoch, bool) else raw_epoch
    epoch = epoch if isinstance(epoch, int | float) else None
    for name in ("timeStr", "time"):
        local = text_of(entry, name)
        if local is not None:
            at = local_time(local, zone, f"{where}.{name}")
            if at is not None:
                return at
            if epoch is not None:
                break
            raise ValidationError(f"{where}.{name}: {local!r} has no time zone (no timeZone)")
    if epoch is not None:
        return epoch_ms(epoch, f"{where}.time")
    raise ValidationError(f"{where}.time: missing (no time or timeStr)")


def _checkpoint(entry: Mapping[str, Any], where: str) -> Checkpoint:
    at = _time(entry, where)
    code = text_of(entry, "actionCode")
    code = code.upper() if code else None
    desc = text_of(entry, "desc")
    standard = text_of(entry, "standerdDesc", "standardDesc")
    title = text_of(entry, "descTitle")
    location = text_of(entry, "location")
    if desc and (place := _LEADING_PLACE.match(desc)):
        location = location or place.group(1).strip() or None
        desc = desc[place.end() :] or desc
    if code is None and not (desc or standard):
        raise ValidationError(f"{where}.desc: missing (no desc, standerdDesc or actionCode)")
    status = cainiao_status(code)
    if status is None:
        guesses = (normalize(t) for t in (standard, desc, title) if t)
        status = next((s for s in guesses if s != "unknown"), "unknown")
    text = text_of(entry, "desc") or standard or title or ""
    return Checkpoint(at=at, status=status, text=text, code=code, location=location)


def parse_cainiao(payload: Mapping[str, Any] | list[Any]) -> Feed:
    """A Cainiao global tracking response (`module[0].detailList`, or old `section1/2`)."""
    module = _module(payload)
    lists: list[tuple[str, Any]] = [("detailList", module.get("detailList"))]
    for section in ("section1", "section2"):
        if isinstance(module.get(section), Mapping):
            lists.append((f"{section}.detailList", module[section].get("detailList")))
    if "detailList" not in module and len(lists) == 1:
        raise ValidationError("detailList: missing (is this a Cainiao payload?)")
    found = [
        _checkpoint(entry, f"{path}[{i}]")
        for path, value in lists
        for i, entry in enumerate(entries(value, path))
    ]
    dest = module.get("destCpInfo")
    carrier = text_of(module, "cpCode", "logisticsCompanyName", "companyName") or (
        text_of(dest, "cpName") if isinstance(dest, Mapping) else None
    )
    return finish(module.get("mailNo"), "mailNo", carrier or "cainiao", found)


__all__ = ["parse_cainiao"]
