"""The policy key `customs.duty_paid_by`: loading, validation, versioning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import parcelfsm
from parcelfsm.clock import ManualClock
from parcelfsm.errors import ValidationError
from parcelfsm.policy import DEFAULT_VERSION, Policy
from parcelfsm.testing import DEFAULTS


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


def test_an_order_recorded_under_2026_1_replays_with_its_customs_rules() -> None:
    """A log written before 2026.2 (no duty table in its recorded policy) keeps the old
    customs rules: presumed_lost at customs fired then, and the log still imports and
    verifies; the same parcel under 2026.2 is never lost at customs."""
    at = "2026-03-01T10:00:00Z"
    old_policy = {k: v for k, v in Policy.default().to_dict().items() if k != "customs.duty_paid_by"}
    old_policy["version"] = "2026.1"

    def line(version: int, type_name: str, when: str, data: dict[str, Any], due: str | None = None) -> Any:
        return {
            "stream_id": "o-old", "version": version, "type": type_name, "schema_version": 1,
            "occurred_at": when, "recorded_at": when, "due_at": due, "key": None, "data": data,
        }  # fmt: skip

    placed = {**DEFAULTS["order.placed"], "policy": old_policy}
    held = {"status": "customs_held", "text": "Held At Customs"}
    stalled = {"deadline": "customs_stall", "kind": "customs_stalled", "rule": "parcel.customs_stall_days=5"}
    lost = {"deadline": "presumed_lost", "rule": "parcel.silent_lost_days=30"}
    log = [
        line(1, "order.placed", at, placed),
        line(2, "order.shipped", at, {"tracking_number": "RB123456785CN"}),
        line(3, "parcel.scanned", "2026-03-03T10:00:00Z", held),
        line(4, "alert.raised", "2026-03-08T10:00:00Z", stalled, "2026-03-08T10:00:00Z"),
        line(5, "parcel.presumed_lost", "2026-04-02T10:00:00Z", lost, "2026-04-02T10:00:00Z"),
    ]
    with parcelfsm.open(":memory:", clock=ManualClock("2026-04-03T00:00:00Z")) as orders:
        report = orders.import_events(log)
        assert report.appended == 5
        assert orders.replay(verify=True).problems == ()
        view = orders.show("o-old")
        assert (view.policy_version, view.states["parcel"]) == ("2026.1", "lost")
