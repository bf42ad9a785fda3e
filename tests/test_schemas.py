"""`schemas/` (a link to the shipped `parcelfsm/schemas/`) is generated from the event classes."""

from __future__ import annotations

from pathlib import Path

from parcelfsm.events import EVENT_TYPES
from parcelfsm.schema import all_schemas, event_schema

SCHEMAS = Path(__file__).resolve().parent.parent / "parcelfsm" / "schemas"


def test_schemas_directory_matches_the_event_classes() -> None:
    """Regenerate with `python scripts/gen_schemas.py` when this fails."""
    wanted = all_schemas()
    have = {p.name: p.read_text(encoding="utf-8") for p in SCHEMAS.glob("*.json")}
    assert sorted(have) == sorted(wanted)
    drifted = [name for name in wanted if have[name] != wanted[name]]
    assert drifted == []


def test_every_event_type_has_a_schema_with_its_required_fields() -> None:
    """Required fields in the schema are exactly the fields without a default."""
    schema = event_schema(EVENT_TYPES["order.placed"])
    assert schema["title"] == "order.placed"
    assert sorted(schema["required"]) == ["amount", "currency", "destination_country", "shipping_cost"]
    assert schema["additionalProperties"] is False
    assert len(all_schemas()) == len(EVENT_TYPES)


def test_dispute_description_schema_requires_printable_ascii() -> None:
    """The description pattern is the one the validator enforces."""
    prop = event_schema(EVENT_TYPES["dispute.opened"])["properties"]["description"]
    assert prop["pattern"] == "^[\\t\\n\\x20-\\x7e]*$"


def test_the_top_level_schemas_directory_is_the_shipped_one() -> None:
    """`schemas/` at the top of the repository is a link to the package's schemas, so the
    files a reader browses are the ones `pip install` ships (and never drift apart)."""
    top = Path(__file__).resolve().parent.parent / "schemas"
    assert top.is_symlink() and top.resolve() == SCHEMAS.resolve()
    assert sorted(p.name for p in top.glob("*.json")) == sorted(all_schemas())
