"""Feed invariants (Hypothesis): order and repetition of checkpoints do not matter.

For each sample payload of the three formats, any permutation of its checkpoints,
with any of them repeated, ingested into a fresh order, gives the same parcel state and
the same stored events (types, times, data, keys) as the payload as sent.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import parcelfsm
from parcelfsm.clock import ManualClock
from parcelfsm.feeds import parse_feed
from parcelfsm.testing import DEFAULTS

FEEDS = Path(__file__).parent / "fixtures" / "feeds"

# file, number, destination, placed, shipped, now, path to the checkpoint list
SAMPLES: dict[str, tuple[str, str, str, str, str, str, tuple[Any, ...]]] = {
    "aftership": (
        "aftership_china_post.json", "RB905512332CN", "DE", "2026-02-01T10:00:00Z",
        "2026-02-02T00:00:00Z", "2026-02-16T00:00:00Z", ("data", "tracking", "checkpoints"),
    ),
    "aftership-cainiao-ru": (
        "aftership_cainiao_russia.json", "LP00598123456789", "RU", "2026-03-31T10:00:00Z",
        "2026-03-31T12:00:00Z", "2026-04-14T00:00:00Z", ("data", "tracking", "checkpoints"),
    ),
    "cainiao": (
        "cainiao_aliexpress_standard.json", "LP00654321987654", "ES", "2026-03-09T10:00:00Z",
        "2026-03-09T12:00:00Z", "2026-03-21T00:00:00Z", ("module", 0, "detailList"),
    ),
    "17track": (
        "17track_webhook_china_post_brazil.json", "RB905512346CN", "BR", "2026-05-01T10:00:00Z",
        "2026-05-01T12:00:00Z", "2026-05-21T00:00:00Z",
        ("data", "track_info", "tracking", "providers", 0, "events"),
    ),
}  # fmt: skip


def load(name: str) -> Any:
    """The sample payload, decoded."""
    return json.loads((FEEDS / SAMPLES[name][0]).read_text(encoding="utf-8"))


def checkpoints(payload: Any, name: str) -> list[Any]:
    """The (live) checkpoint list of the payload."""
    node = payload
    for step in SAMPLES[name][6]:
        node = node[step]
    assert isinstance(node, list)
    return node


def outcome(name: str, payload: Any) -> tuple[Any, ...]:
    """Ingest `payload` into a fresh order: its states and stored events."""
    _, number, country, placed, shipped, now, _ = SAMPLES[name]
    clock = ManualClock(placed)
    with parcelfsm.open(":memory:", clock=clock) as orders:
        orders.record("o-1", "order.placed", {**DEFAULTS["order.placed"], "destination_country": country})
        clock.set(shipped)
        orders.record("o-1", "order.shipped", {"tracking_number": number})
        clock.set(now)
        orders.ingest_tracking("o-1", payload)
        view = orders.show("o-1")
        events = [(e.type, e.occurred_at, e.due_at, e.data, e.key) for e in orders.history("o-1")]
    return view.states, events, view.alerts


BASELINES = {name: outcome(name, load(name)) for name in SAMPLES}


@st.composite
def shuffled(draw: st.DrawFn, name: str) -> Any:
    """The sample with its checkpoints permuted and some of them repeated."""
    payload = load(name)
    items = checkpoints(payload, name)
    order = draw(st.permutations(range(len(items))))
    repeats = draw(st.lists(st.integers(0, len(items) - 1), max_size=6))
    mixed = [copy.deepcopy(items[i]) for i in [*order, *repeats]]
    draw(st.randoms(use_true_random=False)).shuffle(mixed)
    items[:] = mixed
    return payload


@pytest.mark.parametrize("name", list(SAMPLES))
def test_any_permutation_or_duplication_gives_the_same_state_and_events(name: str) -> None:
    """Permuting and repeating a feed's checkpoints changes nothing that is stored."""

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(payload=shuffled(name))
    def check(payload: Any) -> None:
        assert outcome(name, payload) == BASELINES[name]

    check()


def test_the_baselines_hold_every_checkpoint() -> None:
    """The baselines are not vacuous: every sample lands a scan per distinct checkpoint."""
    scans = {name: sum(1 for e in BASELINES[name][1] if e[0] == "parcel.scanned") for name in SAMPLES}
    assert scans == {"aftership": 10, "aftership-cainiao-ru": 13, "cainiao": 15, "17track": 12}


def test_checkpoints_at_the_same_instant_keep_one_order_whatever_the_payload_order() -> None:
    """Two events at one instant (customs start and release) come out in lifecycle order
    whichever comes first in the payload, so the parcel ends up cleared either way."""
    start = {"time": 1775030400000, "desc": "Import customs clearance started", "actionCode": "CC_IM_START"}
    done = {"time": 1775030400000, "desc": "Import customs clearance complete", "actionCode": "CC_IM_SUCCESS"}
    feeds = [
        parse_feed({"mailNo": "LP00598123456789", "detailList": pair})
        for pair in ([start, done], [done, start])
    ]
    assert feeds[0].checkpoints == feeds[1].checkpoints
    assert [c.status for c in feeds[0].checkpoints] == ["arrived_at_customs", "customs_cleared"]
