"""The policy key `customs.duty_paid_by`: loading, validation, versioning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from parcelfsm.errors import ValidationError
from parcelfsm.policy import DEFAULT_VERSION, Policy


@pytest.mark.parametrize(
    "data",
    [
        {"customs.duty_paid_by": {"BR": "seller", "RU": "buyer"}},
        {"customs": {"duty_paid_by": {"BR": "seller", "RU": "buyer"}}},
    ],
)
def test_duty_payer_loads_flat_or_nested(data: dict[str, Any]) -> None:
    """Flat and nested forms give the same table; unlisted countries default to the buyer."""
    policy = Policy.from_dict(data)
    assert policy.duty_payer("BR") == ("seller", "customs.duty_paid_by.BR=seller")
    assert policy.duty_payer("RU")[0] == "buyer"
    assert policy.duty_payer("US") == ("buyer", "customs.duty_paid_by=buyer (default)")
    assert policy.version.startswith("custom-")
    assert Policy.from_dict(policy.to_dict()) == policy


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"BR": "platform"}, "BR"),
        ({"brazil": "seller"}, "alpha-2"),
        (["BR"], "expected an object"),
    ],
)
def test_a_bad_duty_table_is_a_validation_error(value: Any, message: str) -> None:
    """Only ISO alpha-2 countries mapped to buyer or seller are accepted."""
    with pytest.raises(ValidationError, match=message):
        Policy.from_dict({"customs.duty_paid_by": value})


def test_a_policy_file_names_the_duty_payer(tmp_path: Path) -> None:
    """A JSON policy file may set the table like any other key."""
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"version": "shop-1", "customs.duty_paid_by": {"DE": "seller"}}))
    policy = Policy.from_file(path)
    assert (policy.version, policy.duty_payer("DE")[0]) == ("shop-1", "seller")


def test_the_default_version_records_the_table_and_an_old_one_reads_as_all_buyer() -> None:
    """2026.2 writes the (empty) table; a policy recorded under 2026.1 lacks it and keeps
    its version, reading every country as buyer-pays."""
    assert DEFAULT_VERSION == "2026.2"
    assert Policy.default().to_dict()["customs.duty_paid_by"] == {}
    old = {k: v for k, v in Policy.default().to_dict().items() if k != "customs.duty_paid_by"}
    restored = Policy.from_dict({**old, "version": "2026.1"})
    assert (restored.version, restored.duty_payer("BR")[0]) == ("2026.1", "buyer")
