"""State names are typed: the Literal types match the machines, and a misspelt state
fails `mypy --strict`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from parcelfsm.lifecycles import DISPUTE_STATES, ORDER_STATES, PARCEL_STATES
from parcelfsm.machines import dispute, order, parcel


def test_the_literal_state_types_name_exactly_the_machines_states() -> None:
    """One source of truth: each Literal lists its machine's states (order's "none" is
    the machine's start before `order.placed`, never a folded state)."""
    assert ("none", *ORDER_STATES) == order.STATES
    assert parcel.STATES == PARCEL_STATES
    assert dispute.STATES == DISPUTE_STATES
    assert len(set(ORDER_STATES) | set(PARCEL_STATES) | set(DISPUTE_STATES)) == 5 + 12 + 7


@pytest.mark.parametrize(
    ("expression", "fails"),
    [
        ('s.order == "finishd"', True),
        ('s.parcel == "at_custom"', True),
        ('s.dispute_state == "escalatd"', True),
        ('s.order == "finished" and s.parcel == "at_customs"', False),
    ],
)
def test_a_misspelt_state_fails_type_checking(tmp_path: Path, expression: str, fails: bool) -> None:
    """`mypy --strict` rejects a comparison with a state no machine has."""
    snippet = tmp_path / "snippet.py"
    header = "from parcelfsm.state import OrderState\n\n\ndef check(s: OrderState) -> bool:\n"
    snippet.write_text(f"{header}    return {expression}\n")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(snippet)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode != 0) == fails, result.stdout
    if fails:
        assert "Non-overlapping equality check" in result.stdout
