"""JSON Schemas of the event types, generated from the event classes.

`scripts/gen_schemas.py` writes one file per type into `schemas/`; a test fails when
the files drift from the classes. The schema describes the stored `data` object.
"""

from __future__ import annotations

import json
import types
import typing
from typing import Any, Literal, get_args, get_origin

import attrs

from parcelfsm.events import EVENT_TYPES, Event
from parcelfsm.fields import ASCII_PATTERN, TEXT_PATTERN

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _type_schema(tp: Any) -> dict[str, Any]:
    origin = get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in get_args(tp) if a is not type(None)]
        return {"anyOf": [_type_schema(inner[0]), {"type": "null"}]}
    if origin is Literal:
        return {"enum": list(get_args(tp))}
    if origin is list:
        return {"type": "array", "items": {"type": "string"}}
    if origin is dict:
        return {"type": "object"}
    return {"type": {int: "integer", str: "string", bool: "boolean"}[tp]}


def event_schema(cls: type[Event]) -> dict[str, Any]:
    """The JSON Schema of one event type's `data`."""
    hints = typing.get_type_hints(cls)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for field in attrs.fields(cls):
        prop = _type_schema(hints[field.name])
        meta = field.metadata
        target = prop["anyOf"][0] if "anyOf" in prop else prop
        if meta.get("max_items") is not None:
            target["maxItems"] = meta["max_items"]
        if target.get("type") == "array":
            target = target["items"]  # the other constraints apply to each item
        if meta.get("minimum") is not None:
            target["minimum"] = meta["minimum"]
        if meta.get("maximum") is not None:
            target["maximum"] = meta["maximum"]
        if meta.get("max_length") is not None:
            target["maxLength"] = meta["max_length"]
        if meta.get("pattern"):
            target["pattern"] = meta["pattern"]
        if meta.get("text"):
            target["pattern"] = TEXT_PATTERN
        if meta.get("ascii_text"):
            target["pattern"] = ASCII_PATTERN
        if field.default is attrs.NOTHING:
            required.append(field.name)
        elif isinstance(field.default, attrs.Factory):  # type: ignore[arg-type]
            prop["default"] = field.default.factory()
        elif field.default is not None:
            prop["default"] = field.default
        if field.name in cls.derived:
            prop["description"] = "filled in by the library"
        properties[field.name] = prop
    return {
        "$schema": DIALECT,
        "$id": f"https://parcelfsm.invalid/schemas/{cls.type}.json",
        "title": cls.type,
        "description": (cls.__doc__ or "").strip().splitlines()[0],
        "type": "object",
        "x-schema-version": cls.schema_version,
        "x-timed": cls.timed,
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


def all_schemas() -> dict[str, str]:
    """File name → schema text for every event type (what `schemas/` must hold)."""
    return {
        f"{name}.json": json.dumps(event_schema(cls), indent=2, sort_keys=True) + "\n"
        for name, cls in sorted(EVENT_TYPES.items())
    }
