"""The issues' end-to-end scenarios, through the CLI only (issues #4 and #5).

Each test drives `parcelfsm` with `--db`, `--now` and `--json` exactly as a shell user
would, and reads the outcome from `show --json`; each runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from parcelfsm.cli import cli

PLACED = {"amount": 2599, "currency": "USD", "shipping_cost": 300, "destination_country": "US"}
OPEN_CUSTOMS = {
    "solution": "refund_only",
    "goods_received": False,
    "reason": "customs_problem",
    "cause": "no_invoice",
    "amount": 2599,
    "description": "Customs clearance failed: the seller sent no invoice.",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each scenario runs on an SQLite file and on a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "orders.db")
    return str(request.getfixturevalue("pg_url"))


class Shell:
    """A CLI user on one database (an SQLite file or a PostgreSQL URL)."""

    def __init__(self, db: str) -> None:
        self.db = db

    def run(self, now: str, *args: str) -> tuple[int, Any]:
        result = CliRunner().invoke(cli, ["--db", str(self.db), "--now", now, "--json", *args])
        return result.exit_code, json.loads(result.output) if result.output.strip() else None

    def record(self, now: str, order: str, type_name: str, data: dict[str, Any] | None = None) -> Any:
        args = ["record", order, type_name] + (["--data", json.dumps(data)] if data else [])
        code, out = self.run(now, *args)
        assert code == 0, out
        return out

    def show(self, now: str, order: str = "o-1") -> dict[str, Any]:
        code, out = self.run(now, "show", order)
        assert code == 0, out
        return dict(out)

    def tick(self, now: str) -> list[str]:
        code, out = self.run(now, "tick")
        assert code == 0, out
        return [e["type"] for e in out["fired"]]

    def versions(self, now: str, order: str = "o-1") -> int:
        return len(self.run(now, "history", order)[1]["events"])


def shipped(sh: Shell, **placed: Any) -> None:
    sh.record("2026-03-01T10:00:00Z", "o-1", "order.placed", {**PLACED, **placed})
    sh.record("2026-03-02T10:00:00Z", "o-1", "order.shipped", {"tracking_number": "RB123456785CN"})


def test_tracked_parcel_silent_31_days_after_its_last_scan_is_lost_after_tick(db: str) -> None:
    """Issue #4: last scan, then 31 days of silence → `lost` after `tick`."""
    sh = Shell(db)
    shipped(sh)
    sh.record("2026-03-04T10:00:00Z", "o-1", "parcel.scanned", {"text": "In transit"})
    assert sh.tick("2026-04-03T09:59:59Z") == []  # one second before 30 days of silence
    assert "parcel.presumed_lost" in sh.tick("2026-04-04T10:00:00Z")
    view = sh.show("2026-04-04T10:00:00Z")
    assert view["states"]["parcel"] == "lost"
    assert view["money"]["held"] == view["money"]["paid"]  # escrow stays held
    assert any("no_tracking_info" in a["text"] for a in view["advice"])


def test_parcel_at_the_pickup_point_for_30_days_goes_back_to_the_sender(db: str) -> None:
    """Issue #4: 30 days at the pickup point → `parcel.return_started` → `returning`."""
    sh = Shell(db)
    shipped(sh)
    sh.record("2026-03-10T10:00:00Z", "o-1", "parcel.scanned", {"text": "Available for pickup"})
    assert sh.tick("2026-04-09T09:59:59Z") == []
    assert sh.tick("2026-04-09T10:00:00Z") == ["parcel.return_started"]
    assert sh.show("2026-04-09T10:00:00Z")["states"]["parcel"] == "returning"


def test_parcel_at_customs_5_days_without_update_raises_the_stall_alert_and_advice(db: str) -> None:
    """Issue #4: 5 days at customs, no update → `customs_stalled` and advice to act."""
    sh = Shell(db)
    shipped(sh)
    sh.record("2026-03-05T10:00:00Z", "o-1", "parcel.scanned", {"text": "Clearing Customs"})
    assert sh.tick("2026-03-10T09:59:59Z") == []
    assert sh.tick("2026-03-10T10:00:00Z") == ["alert.raised"]
    view = sh.show("2026-03-10T10:00:00Z")
    assert view["alerts"] == ["customs_stalled"]
    text = " ".join(a["text"] for a in view["advice"])
    assert "contact the seller" in text and "open a dispute" in text


def test_customs_failure_dispute_seller_silent_5_days_refunds_the_full_amount(db: str) -> None:
    """Issue #5: seller silent for 5 days → resolved for the full amount asked."""
    sh = Shell(db)
    shipped(sh)
    sh.record("2026-03-08T10:00:00Z", "o-1", "parcel.scanned", {"text": "Customs clearance failed"})
    sh.record("2026-03-09T10:00:00Z", "o-1", "dispute.opened", OPEN_CUSTOMS)
    assert sh.tick("2026-03-14T09:59:59Z") == []
    assert sh.tick("2026-03-14T10:00:00Z") == ["dispute.seller_timed_out"]
    view = sh.show("2026-03-14T10:00:00Z")
    assert view["states"] == {"order": "finished", "parcel": "returning", "dispute": "resolved"}
    assert view["dispute"]["outcome"] == {"refund": 2599, "how": "seller_timeout", "fault": None}
    assert view["money"]["refunded_to_buyer"] == 2599 and view["money"]["held"] == 0


def test_escalated_customs_dispute_without_document_for_7_days_refunds_amount_minus_shipping(db: str) -> None:
    """Issue #5: escalated customs dispute, no document in 7 days → amount − shipping."""
    sh = Shell(db)
    shipped(sh)
    sh.record("2026-03-08T10:00:00Z", "o-1", "parcel.scanned", {"text": "Customs clearance failed"})
    sh.record("2026-03-09T10:00:00Z", "o-1", "dispute.opened", OPEN_CUSTOMS)
    sh.record("2026-03-10T10:00:00Z", "o-1", "dispute.escalated", {"by": "buyer"})
    assert sh.tick("2026-03-17T09:59:59Z") == []
    assert sh.tick("2026-03-17T10:00:00Z") == ["dispute.customs_document_missed"]
    view = sh.show("2026-03-17T10:00:00Z")
    assert view["dispute"]["outcome"]["refund"] == 2599 - 300
    assert view["money"] == {
        "currency": "USD",
        "paid": 2599,
        "held": 0,
        "released_to_seller": 300,
        "refunded_to_buyer": 2299,
    }


def test_withdrawn_dispute_cannot_be_reopened_16_days_later(db: str) -> None:
    """Issue #5: reopen on day 16 after withdrawal → exit 3 `WindowClosed`, nothing appended."""
    sh = Shell(db)
    shipped(sh)
    sh.record("2026-03-09T10:00:00Z", "o-1", "dispute.opened", OPEN_CUSTOMS)
    sh.record("2026-03-10T10:00:00Z", "o-1", "dispute.withdrawn")
    before = sh.versions("2026-03-26T10:00:00Z")
    code, out = sh.run("2026-03-26T10:00:00Z", "record", "o-1", "dispute.reopened")
    assert code == 3
    assert out["error"]["type"] == "WindowClosed"
    assert sh.versions("2026-03-26T10:00:00Z") == before


def test_zero_refund_agreement_releases_the_escrow_and_cannot_be_reopened(db: str) -> None:
    """Issue #5: an agreed refund of 0 releases everything to the seller, for good."""
    sh = Shell(db)
    shipped(sh)
    sh.record(
        "2026-03-09T10:00:00Z", "o-1", "dispute.opened", {**OPEN_CUSTOMS, "reason": "damaged", "cause": None}
    )
    sh.record("2026-03-10T10:00:00Z", "o-1", "dispute.offer_made", {"by": "seller", "amount": 0})
    sh.record("2026-03-11T10:00:00Z", "o-1", "dispute.offer_accepted", {"by": "buyer"})
    view = sh.show("2026-03-11T10:00:00Z")
    assert view["states"]["dispute"] == "resolved"
    assert view["money"]["released_to_seller"] == 2599 and view["money"]["refunded_to_buyer"] == 0
    assert view["final"] is True
    code, out = sh.run("2026-03-12T10:00:00Z", "record", "o-1", "dispute.reopened")
    assert code == 3 and out["error"]["type"] == "IllegalTransition"


def test_a_policy_file_governs_new_orders_and_is_recorded_with_them(db: str, tmp_path: Path) -> None:
    """`--policy FILE` (or `$PARCELFSM_POLICY`) sets the rules an order is placed under."""
    policy = tmp_path / "policy.json"
    policy.write_text(json.dumps({"version": "shop-2026", "protection.days_default": 75}))
    runner = CliRunner()
    base = ["--db", str(db), "--json"]
    placed = runner.invoke(
        cli,
        [
            *base,
            "--now",
            "2026-03-01T10:00:00Z",
            "--policy",
            str(policy),
            "record",
            "o-1",
            "order.placed",
            "--data",
            json.dumps(PLACED),
        ],
    )
    assert placed.exit_code == 0, placed.output
    sh = Shell(db)  # later calls use the built-in policy: the order keeps the one it started with
    sh.record("2026-03-02T10:00:00Z", "o-1", "order.shipped", {"tracking_number": "RB123456785CN"})
    view = sh.show("2026-03-02T10:00:00Z")
    assert view["policy_version"] == "shop-2026"
    [ends] = [d for d in view["deadlines"] if d["kind"] == "protection_ends"]
    assert (ends["due_at"], ends["rule"]) == ("2026-05-16T10:00:00Z", "protection.days_default=75")
    bad = runner.invoke(cli, [*base, "--policy", str(tmp_path / "missing.json"), "show", "o-1"])
    assert bad.exit_code == 3 and json.loads(bad.output)["error"]["type"] == "ValidationError"


def test_unknown_carrier_text_is_recorded_and_reported_not_guessed(db: str) -> None:
    """Issue #4: unknown text → a scan with status `unknown`, the raw text kept, a warning shown."""
    sh = Shell(db)
    shipped(sh)
    code, out = sh.run(
        "2026-03-04T10:00:00Z", "record", "o-1", "parcel.scanned", "--data", '{"text": "Zorgle flarn 42"}'
    )
    assert code == 0
    assert out["events"][-1]["data"] == {"status": "unknown", "text": "Zorgle flarn 42"}
    assert "Zorgle flarn 42" in out["warnings"][0]
    assert sh.show("2026-03-04T10:00:00Z")["states"]["parcel"] == "shipped"
    human = CliRunner().invoke(
        cli,
        [
            "--db",
            str(sh.db),
            "--now",
            "2026-03-05T10:00:00Z",
            "record",
            "o-1",
            "parcel.scanned",
            "--data",
            '{"text": "Blorp"}',
        ],
    )
    assert human.exit_code == 0 and "warning: carrier text 'Blorp' is not known" in human.stderr
