"""Discoverable commands: `types [TYPE]`, `record --help`, every bad field at once, shipped schemas."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import parcelfsm
from parcelfsm.cli import cli
from parcelfsm.errors import ValidationError
from parcelfsm.events import COMMAND_TYPES, EVENT_TYPES, TIMED_TYPES
from parcelfsm.schema import all_schemas, describe


def run(*args: str) -> Result:
    """Invoke the CLI (no database needed)."""
    return CliRunner().invoke(cli, list(args))


def test_types_lists_every_command_and_timed_type() -> None:
    """`types --json` lists every event type once, commands first, with its required fields."""
    result = run("types", "--json")
    assert result.exit_code == 0, result.output
    items = json.loads(result.output)["types"]
    assert [i["type"] for i in items] == [*COMMAND_TYPES, *TIMED_TYPES]
    placed = items[0]
    assert sorted(placed["required"]) == ["amount", "currency", "destination_country", "shipping_cost"]
    assert all(i["required"] == [] for i in items if i["timed"])


def test_types_human_output_names_each_command_with_its_required_fields() -> None:
    """The table shows `protection.extended  days, by`-style rows and points at `types TYPE`."""
    text = run("types").output
    for name in COMMAND_TYPES:
        assert name in text
    assert "parcelfsm types TYPE" in text
    line = next(line for line in text.splitlines() if line.startswith("protection.extended "))
    assert "by, days" in line or "days, by" in line


def test_types_of_one_type_gives_field_types_required_allowed_values_and_defaults() -> None:
    """`types dispute.opened --json`: reason's allowed values, description ASCII, evidence default []."""
    result = run("types", "dispute.opened", "--json")
    assert result.exit_code == 0, result.output
    fields = {f["name"]: f for f in json.loads(result.output)["fields"]}
    assert fields["reason"]["allowed"][:2] == ["protection_expiring", "returned_by_carrier"]
    assert fields["reason"]["required"] is True and fields["cause"]["required"] is False
    assert fields["amount"]["type"] == "integer" and fields["amount"]["minimum"] == 1
    assert fields["evidence"]["default"] == [] and fields["evidence"]["type"] == "list of strings"
    assert fields["goods_received"]["type"] == "boolean"


def test_types_come_from_the_same_metadata_as_the_schemas() -> None:
    """Every field `types` shows is a schema property; required flags equal the schema's `required`."""
    for name, schema in parcelfsm.schemas().items():
        info = describe(name)
        assert [f["name"] for f in info["fields"]] == list(schema["properties"])
        assert sorted(f["name"] for f in info["fields"] if f["required"]) == sorted(schema["required"])


def test_types_names_the_iso_code_lists_of_order_placed() -> None:
    """Currency and destination are shown as ISO 4217 / ISO 3166-1 alpha-2 codes."""
    text = run("types", "order.placed").output
    assert "ISO 4217 code" in text and "ISO 3166-1 alpha-2 code" in text


def test_types_of_an_unknown_type_is_a_validation_error() -> None:
    """An unknown type exits 3 with a JSON error naming it."""
    result = run("--json", "types", "order.lost")
    assert result.exit_code == 3
    assert "order.lost" in json.loads(result.output)["error"]["message"]


def test_record_help_lists_every_command_type() -> None:
    """`record --help` names the types it accepts and where their fields are."""
    result = run("record", "--help")
    assert result.exit_code == 0
    for name in COMMAND_TYPES:
        assert name in result.output
    assert "parcelfsm types TYPE" in result.output


def test_a_rejected_command_names_every_missing_or_wrong_field_at_once(tmp_path: Path) -> None:
    """Unknown, ill-typed, invalid-code and missing fields are all in one error (CLI and API)."""
    data = {"amount": "12", "currency": "XXY", "destination_country": "ZZ", "colour": "red"}
    result = CliRunner().invoke(
        cli,
        [
            "--db",
            str(tmp_path / "x.db"),
            "--json",
            "record",
            "o-1",
            "order.placed",
            "--data",
            json.dumps(data),
        ],
    )
    assert result.exit_code == 3
    message = json.loads(result.output)["error"]["message"]
    for field in ("colour", "amount", "currency", "destination_country", "shipping_cost"):
        assert f"{field}:" in message
    with parcelfsm.open(":memory:") as orders, pytest.raises(ValidationError) as info:
        orders.record("o-1", "order.placed", data)
    assert [p.split(":")[0] for p in info.value.problems] == [
        "colour",
        "amount",
        "currency",
        "shipping_cost",
        "destination_country",
    ]


def test_schemas_are_shipped_in_the_package_and_reachable_from_the_api() -> None:
    """`parcelfsm.schemas()` reads the package's files; they equal the generated schemas."""
    shipped = parcelfsm.schemas()
    assert sorted(shipped) == sorted(EVENT_TYPES)
    generated = {name.removesuffix(".json"): json.loads(text) for name, text in all_schemas().items()}
    assert shipped == generated
    files = Path(parcelfsm.__file__).parent / "schemas"
    assert len(list(files.glob("*.json"))) == len(EVENT_TYPES)
    placed = parcelfsm.schema_of("order.placed")
    assert placed["properties"]["currency"]["x-iso"] == "ISO 4217"
    placed["title"] = "changed"  # a copy: the shipped schema is not changed
    assert parcelfsm.schema_of("order.placed")["title"] == "order.placed"
    with pytest.raises(ValidationError):
        parcelfsm.schema_of("nope")
