"""Issue 14, "bounded, clean input": ids match their pattern whole (no trailing newline),
free text has no control characters but tab and newline, evidence lists and whole
events are bounded, policy values are bounded, messages quote at most ~100 characters
of a value, and an import line may not be recorded before it occurred."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import pytest
from hardening_kit import build, error_of, logical, ok, run

import parcelfsm
from parcelfsm.clock import ManualClock
from parcelfsm.errors import QUOTE_CHARS, ValidationError
from parcelfsm.fields import MAX_EVENT_BYTES, MAX_EVIDENCE, MAX_REFERENCE
from parcelfsm.policy import VERSION_CHARS, Policy
from parcelfsm.testing import DEFAULTS

PLACED: Final = json.dumps(DEFAULTS["order.placed"])
BIG: Final = "x" * 10_000_000


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return build(tmp_path / "x.db")


@pytest.fixture
def book(db: Path) -> Any:
    with parcelfsm.open(str(db), clock=ManualClock("2026-03-20T10:00:00Z")) as orders:
        yield orders


def _dispute(**changes: Any) -> dict[str, Any]:
    return {**DEFAULTS["dispute.opened"], **changes}


# --- ids ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("order_id", ["o-9\n", "o-9\r\n", "\no-9", "o-9\x00", "o 9"])
def test_an_order_id_with_a_trailing_newline_or_control_character_is_refused_by_the_cli(
    db: Path, order_id: str
) -> None:
    """`"o-9\\n"` was stored (then `show o-9` was NotFound and `due` broke): now exit 3."""
    before = logical(db)
    result = run(db, "record", order_id, "order.placed", "--data", PLACED)
    assert result.exit_code == 3
    assert error_of(result)["type"] == "ValidationError"
    assert logical(db) == before


def test_an_order_id_with_a_trailing_newline_is_refused_by_the_api(book: parcelfsm.Orders) -> None:
    """The API applies the same whole-string match."""
    with pytest.raises(ValidationError, match="order id"):
        book.record("o-9\n", "order.placed", DEFAULTS["order.placed"])
    with pytest.raises(ValidationError):
        book.show("o-1\n")


@pytest.mark.parametrize("field", ["seller", "buyer", "item"])
def test_a_trailing_newline_in_an_id_like_field_is_refused(book: parcelfsm.Orders, field: str) -> None:
    """`seller`, `buyer`, `item` are matched whole too (`$` no longer matches before `\\n`)."""
    with pytest.raises(ValidationError, match=field):
        book.record("o-9", "order.placed", {**DEFAULTS["order.placed"], field: "acme\n"})


# --- control characters ------------------------------------------------------------------------


@pytest.mark.parametrize("char", ["\x00", "\x07", "\r", "\x1b", "\x7f", "\x85"])
def test_nul_and_control_characters_in_scan_text_are_refused(book: parcelfsm.Orders, char: str) -> None:
    """Scan `text` and `location` with NUL / control characters: ValidationError naming the field."""
    before = book.history("o-1")
    with pytest.raises(ValidationError, match="text"):
        book.record("o-1", "parcel.scanned", {"text": f"In transit{char}"})
    with pytest.raises(ValidationError, match="location"):
        book.record("o-1", "parcel.scanned", {"status": "in_transit", "location": f"Shen{char}zhen"})
    assert book.history("o-1") == before


def test_tab_and_newline_are_allowed_in_text(book: parcelfsm.Orders) -> None:
    """Tab and newline are text, not control noise: accepted and stored as given."""
    events = book.record("o-1", "parcel.scanned", {"text": "Arrived\tat hub\nShenzhen"})
    assert events[-1].data["text"] == "Arrived\tat hub\nShenzhen"


@pytest.mark.parametrize("item", ["photo\x00.jpg", "photo\x1b[31m.jpg", "photo\r.jpg"])
def test_control_characters_in_evidence_items_are_refused(book: parcelfsm.Orders, item: str) -> None:
    """Each evidence reference is text: NUL and escapes are refused, naming the item."""
    with pytest.raises(ValidationError, match=r"evidence\[1\]"):
        book.record("o-1", "dispute.opened", _dispute(evidence=["ok.jpg", item]))


@pytest.mark.parametrize("text", ["late\x00", "a\x08b"])
def test_control_characters_in_complaint_and_description_are_refused(
    book: parcelfsm.Orders, text: str
) -> None:
    """Complaint text and the dispute description refuse control characters too."""
    with pytest.raises(ValidationError, match="description"):
        book.record("o-1", "dispute.opened", _dispute(description=text))
    with pytest.raises(ValidationError, match="text"):
        book.record("o-1", "complaint.filed", {"text": text})


# --- sizes -------------------------------------------------------------------------------------


def test_five_ten_megabyte_evidence_items_are_refused_and_nothing_is_stored(
    book: parcelfsm.Orders, db: Path
) -> None:
    """`evidence` of 5 × 10 MB was stored as one 50 MB event: ValidationError, nothing written."""
    before = logical(db)
    with pytest.raises(ValidationError) as caught:
        book.record("o-1", "dispute.opened", _dispute(evidence=[BIG] * 5))
    assert len(caught.value.message) < 400
    assert logical(db) == before


def test_a_hundred_thousand_evidence_items_are_refused(book: parcelfsm.Orders) -> None:
    """100k evidence references (800 KB): ValidationError; one over the item limit names it."""
    with pytest.raises(ValidationError, match="bytes"):
        book.record("o-1", "dispute.opened", _dispute(evidence=["a.jpg"] * 100_000))
    with pytest.raises(ValidationError, match=f"more than {MAX_EVIDENCE}"):
        book.record("o-1", "dispute.opened", _dispute(evidence=["a.jpg"] * (MAX_EVIDENCE + 1)))


def test_evidence_at_its_limits_is_accepted(book: parcelfsm.Orders) -> None:
    """The limits are inclusive: MAX_EVIDENCE items of MAX_REFERENCE characters each."""
    evidence = [f"{i:04d}" + "e" * (MAX_REFERENCE - 4) for i in range(MAX_EVIDENCE)]
    events = book.record("o-1", "dispute.opened", _dispute(evidence=evidence))
    assert events[-1].data["evidence"] == evidence
    with pytest.raises(ValidationError, match="longer than"):
        book.record("o-2", "dispute.opened", _dispute(evidence=["e" * (MAX_REFERENCE + 1)]))


def test_an_import_line_larger_than_the_event_limit_is_refused(book: parcelfsm.Orders) -> None:
    """A whole event's encoded data is bounded (64 KiB): an imported giant is refused."""
    policy = {**Policy.default().to_dict(), "version": "v" * (MAX_EVENT_BYTES + 1)}
    line = {
        "stream_id": "o-9",
        "version": 1,
        "type": "order.placed",
        "occurred_at": "2026-03-01T10:00:00Z",
        "recorded_at": "2026-03-01T10:00:00Z",
        "data": {**DEFAULTS["order.placed"], "policy": policy},
    }
    with pytest.raises(ValidationError, match=f"at most {MAX_EVENT_BYTES}"):
        book.import_events([line])


def test_a_rejected_ten_megabyte_value_is_quoted_short_on_the_cli(db: Path) -> None:
    """The message echoed a whole 10 MB value; now at most ~100 characters of it, one line."""
    cases = [
        ["record", "o-1", "parcel.scanned", "--data", json.dumps({"status": "x" * 1_000_000})],
        ["record", "x" * 1_000_000, "order.placed", "--data", PLACED],
        ["record", "o-1", "t" * 1_000_000],
        ["record", "o-1", "parcel.scanned", "--data", json.dumps({"k" * 1_000_000: 1})],
        ["show", "o-1", "--at", "2" * 1_000_000],
    ]
    for argv in cases:
        result = run(db, *argv, as_json=False)
        assert result.exit_code == 3, result.stderr[:300]
        assert len(result.stderr) < 400, result.stderr[:300]
        assert result.stderr.count("\n") == 1


def test_quoted_values_in_messages_are_cut_near_a_hundred_characters(book: parcelfsm.Orders) -> None:
    """A value in a message is cut to QUOTE_CHARS characters and marked with its length."""
    with pytest.raises(ValidationError) as caught:
        book.record("o-1", "parcel.scanned", {"status": "s" * 5000})
    assert "s" * (QUOTE_CHARS + 1) not in caught.value.message
    assert "5000 chars" in caught.value.message


# --- policy ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["v" * 10_000, "2026\x00evil", "line\nbreak"])
def test_a_policy_version_that_is_huge_or_has_control_characters_is_refused(version: str) -> None:
    """A 10 KB version (copied into every new order) or one with NUL: ValidationError."""
    with pytest.raises(ValidationError, match=r"policy\.version"):
        Policy.from_dict({"version": version})
    assert Policy.from_dict({"version": "v" * VERSION_CHARS}).version == "v" * VERSION_CHARS


def test_a_policy_file_nested_a_hundred_thousand_deep_is_a_validation_error(db: Path, tmp_path: Path) -> None:
    """RecursionError traceback before; now exit 3 for `--policy` and `replay --policy`."""
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    nested = tmp_path / "nested.json"
    nested.write_text('{"a":' * 100_000 + "1" + "}" * 100_000)
    for path in (deep, nested):
        with pytest.raises(ValidationError):
            Policy.from_file(path)
        result = run(db, "replay", "--policy", str(path))
        assert (result.exit_code, error_of(result)["type"]) == (3, "ValidationError")
        result = run(db, "--policy", str(path), "record", "o-8", "order.placed", "--data", PLACED)
        assert (result.exit_code, error_of(result)["type"]) == (3, "ValidationError")


def test_a_deeply_nested_policy_dict_through_the_api_is_a_validation_error() -> None:
    """A policy dict nested 100k deep given to `from_dict`: ValidationError, not RecursionError."""
    value: Any = 1
    for _ in range(100_000):
        value = {"x": value}
    with pytest.raises(ValidationError):
        Policy.from_dict({"protection.days_by_country": {"BR": value}})
    with pytest.raises(ValidationError):
        Policy.from_dict({"dispute": value})


def test_a_country_code_with_a_trailing_newline_is_refused_in_a_policy() -> None:
    """Country codes are matched whole."""
    with pytest.raises(ValidationError, match="ISO alpha-2"):
        Policy.from_dict({"protection.days_by_country": {"BR\n": 120}})


# --- import ------------------------------------------------------------------------------------


def test_an_import_line_recorded_before_it_occurred_is_refused(db: Path, tmp_path: Path) -> None:
    """`recorded_at` earlier than `occurred_at` was accepted; now exit 3 naming the line."""
    line = {
        "stream_id": "o-9",
        "version": 1,
        "type": "order.placed",
        "occurred_at": "2026-03-02T10:00:00Z",
        "recorded_at": "2026-03-01T10:00:00Z",
        "data": DEFAULTS["order.placed"],
    }
    dump = tmp_path / "in.jsonl"
    dump.write_text(json.dumps(line) + "\n")
    before = logical(db)
    result = run(db, "import", str(dump))
    assert result.exit_code == 3
    assert "line 1" in error_of(result)["message"] and "recorded_at" in error_of(result)["message"]
    assert logical(db) == before
    dump.write_text(json.dumps({**line, "recorded_at": line["occurred_at"]}) + "\n")
    assert ok(run(db, "import", str(dump)))["appended"] == 1
