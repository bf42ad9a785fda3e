"""JSON Schemas of the event types, generated from the event classes.

`scripts/gen_schemas.py` writes one file per type into `parcelfsm/schemas/` (shipped
in the package); a test fails when the files drift from the classes. The schema
describes the stored `data` object. `schema_of(type)` and `schemas()` read the
shipped files; `parcelfsm types` prints the same metadata for people.
"""

from __future__ import annotations

import functools
import json
import types
import typing
from importlib import resources
from typing import Any, Literal, get_args, get_origin

import attrs

from parcelfsm.events import EVENT_TYPES, Event, event_class
from parcelfsm.fields import ASCII_PATTERN, TEXT_PATTERN

DIALECT = "https://json-schema.org/draft/2020-12/schema"
#: the code list a `spec(code=…)` field belongs to, as written into the schema
ISO_LISTS = {"country": "ISO 3166-1 alpha-2", "currency": "ISO 4217"}


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
        if meta.get("code"):
            target["x-iso"] = ISO_LISTS[meta["code"]]
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


@functools.cache
def _shipped() -> dict[str, dict[str, Any]]:
    folder = resources.files("parcelfsm") / "schemas"
    out: dict[str, dict[str, Any]] = {}
    for item in folder.iterdir():
        if item.name.endswith(".json"):
            out[item.name.removesuffix(".json")] = json.loads(item.read_text(encoding="utf-8"))
    return out


def schemas() -> dict[str, dict[str, Any]]:
    """Every event type's JSON Schema, as shipped in the package (type → schema)."""
    return {name: json.loads(json.dumps(schema)) for name, schema in sorted(_shipped().items())}


def schema_of(type_name: str) -> dict[str, Any]:
    """The shipped JSON Schema of one event type's `data`.

    Raises:
        ValidationError: `type_name` is not an event type.
    """
    event_class(type_name)  # the error names the type
    schema: dict[str, Any] = json.loads(json.dumps(_shipped()[type_name]))
    return schema


def summaries() -> list[dict[str, Any]]:
    """Every event type: `{"type", "description", "timed", "required"}`, commands first."""
    items = [
        {
            "type": name,
            "description": schema["description"],
            "timed": schema["x-timed"],
            "required": list(schema["required"]) if not schema["x-timed"] else [],
        }
        for name, schema in _shipped().items()
    ]
    order = {name: index for index, name in enumerate(EVENT_TYPES)}
    return sorted(items, key=lambda item: (item["timed"], order.get(item["type"], 0)))


def _field(name: str, prop: dict[str, Any], required: bool) -> dict[str, Any]:
    target = prop["anyOf"][0] if "anyOf" in prop else prop
    kind = target.get("type", "string" if "enum" in target else "object")
    if kind == "array":
        kind = "list of strings"
    return {
        "name": name,
        "type": kind,
        "required": required,
        "nullable": "anyOf" in prop,
        "allowed": list(target["enum"]) if "enum" in target else None,
        "minimum": target.get("minimum"),
        "maximum": target.get("maximum"),
        "max_length": target.get("maxLength"),
        "pattern": target.get("pattern"),
        "iso": target.get("x-iso"),
        "default": prop.get("default"),
        "derived": prop.get("description") == "filled in by the library",
    }


def describe(type_name: str) -> dict[str, Any]:
    """One event type for people and tools: its description and every field (from the
    shipped schema: type, required, allowed values, bounds, ISO list, default).

    Raises:
        ValidationError: `type_name` is not an event type.
    """
    schema = schema_of(type_name)
    required = set(schema["required"])
    return {
        "type": type_name,
        "description": schema["description"],
        "timed": schema["x-timed"],
        "schema_version": schema["x-schema-version"],
        "fields": [_field(n, p, n in required) for n, p in schema["properties"].items()],
    }
