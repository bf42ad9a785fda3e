"""Hostile input: bad input gets a clear, typed error and changes nothing (no partial appends).

Property tests throw arbitrary JSON-like data, type names, order ids, times, import lines,
tracking payloads and policies at the library, each asserting one thing: the call either
succeeds, or raises a `ParcelFsmError` of a docs/cli.md rejection type and the database
(events, projections, idempotency keys) is exactly as it was. Any other exception is a
bug (a traceback for the CLI user). The CLI part runs a handful of hostile invocations
and asserts exit 3 with a JSON error object (or 0 where the input is actually fine),
never a traceback and never a write.

The explicit `test_bug_*` tests are minimal reproductions of the library bugs these
properties found; each names the input, the expectation and where the fault lies.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any, Final

import attrs
import pytest
from click.testing import CliRunner, Result
from contract import EVENT_COLUMNS
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

import parcelfsm
from parcelfsm.canonical import canonical_json
from parcelfsm.cli import cli
from parcelfsm.clock import ManualClock, format_time, parse_time
from parcelfsm.errors import ParcelFsmError
from parcelfsm.events import EVENT_TYPES
from parcelfsm.feeds import parse_feed
from parcelfsm.policy import Policy
from parcelfsm.testing import DEFAULTS
from parcelfsm.vocabulary import ALERT_KINDS, REASONS, SCAN_STATUSES

PLACED_AT: Final = "2026-03-01T10:00:00Z"
SHIPPED_AT: Final = "2026-03-02T10:00:00Z"
NOW: Final = "2026-03-10T10:00:00Z"
#: what a rejected input may raise (docs/cli.md, exit 3; ConcurrencyConflict only with expect_version)
REJECTIONS: Final = frozenset(
    {"ValidationError", "IllegalTransition", "WindowClosed", "OutOfOrder", "IdempotencyConflict", "NotFound"}
)
FEEDS: Final = Path(__file__).parent / "fixtures" / "feeds"
AFTERSHIP_NUMBER: Final = "RB905512332CN"
CAINIAO_NUMBER: Final = "LP00654321987654"

FAST = settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(deadline=None, max_examples=50, suppress_health_check=[HealthCheck.too_slow])


# --- helpers -------------------------------------------------------------------------------


def _book(now: str = NOW) -> parcelfsm.Orders:
    """An in-memory order book holding `o-1`, placed on 03-01 and shipped on 03-02."""
    orders = parcelfsm.open(":memory:", clock=ManualClock(now))
    orders.record("o-1", "order.placed", DEFAULTS["order.placed"], at=PLACED_AT)
    orders.record("o-1", "order.shipped", DEFAULTS["order.shipped"], at=SHIPPED_AT)
    return orders


def _rows(conn: Any) -> tuple[tuple[Any, ...], ...]:
    """Every row of the log, the projections and the key index, in a stable order."""
    tables = ("events", "orders", "deadlines", "keys")
    return tuple(tuple(sorted(conn.execute(f"SELECT * FROM {t}").fetchall(), key=repr)) for t in tables)


def _snapshot(orders: parcelfsm.Orders) -> tuple[tuple[Any, ...], ...]:
    return _rows(orders.log.backend._conn)  # type: ignore[attr-defined]


def _rejected(exc: ParcelFsmError) -> None:
    """A rejection is one of the docs/cli.md exit-3 types and names what is wrong."""
    assert exc.type in REJECTIONS, f"{exc.type}: {exc.message}"
    assert exc.exit_code == 3
    assert isinstance(exc.message, str) and exc.message.strip()


def _note(outcome: str) -> None:
    """Count outcomes for `--hypothesis-show-statistics` (no-op outside a property)."""
    if currently_in_test_context():
        event(outcome)


def _succeeds_or_changes_nothing(orders: parcelfsm.Orders, call: Callable[[], Any]) -> Any:
    """Run `call`; on a `ParcelFsmError` assert a typed rejection and an untouched database."""
    before = _snapshot(orders)
    try:
        result = call()
    except ParcelFsmError as exc:
        _note(f"rejected: {exc.type}")
        _rejected(exc)
        assert _snapshot(orders) == before, f"{exc.type} but the database changed: {exc.message}"
        return None
    _note("accepted")
    return result


# --- strategies ------------------------------------------------------------------------------

INTERESTING: Final[tuple[Any, ...]] = (
    None,
    True,
    False,
    0,
    -1,
    1,
    3650,
    3651,
    2**53 - 1,
    2**53,
    -(2**63),
    2**64,
    10**30,
    "",
    " ",
    "\x00",
    "a\x00b",
    "№",
    "📦",
    "ÄÖÜ",
    "x" * 300,
    "buyer",
    "seller",
    "none",
    "refund_only",
    "return_and_refund",
    "no_invoice",
    "prohibited_goods",
    "RB123456785CN",
    "RB123456784CN",
    "USD",
    "usd",
    "US",
    "2026-03-05T10:00:00Z",
    [],
    ["photo.jpg"],
    [1],
    {},
    {"a": 1},
    *SCAN_STATUSES,
    *REASONS,
    *ALERT_KINDS,
)
leaves = st.one_of(
    st.sampled_from(INTERESTING),
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(),
    st.text(max_size=20),
)
#: JSON-like values (text without lone surrogates: those have their own tests below)
json_values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
FIELDS: Final = {name: [f.name for f in attrs.fields(cls)] for name, cls in EVENT_TYPES.items()}
type_names = st.one_of(
    st.sampled_from(sorted(EVENT_TYPES)),
    st.sampled_from(["", " order.placed", "ORDER.PLACED", "order", "order.placed\x00", "dispute.*"]),
    st.text(max_size=30),
)
order_ids = st.one_of(
    st.sampled_from(["o-1", "o-2"]),
    st.sampled_from(
        [
            "",
            "x" * 128,
            "x" * 129,
            "a b",
            "../etc/passwd",
            "o/1",
            "ördér",
            "o-1\n",
            " o-1",
            "o-1\x00",
            "📦",
            "o-1;DROP TABLE events",
        ]
    ),
    st.text(max_size=140),
)


@st.composite
def command_data(draw: st.DrawFn, type_name: str) -> Any:
    """Anything at all, random objects over the type's field names, or its defaults broken."""
    fields = FIELDS.get(type_name, [])
    keys = st.sampled_from(fields) | st.text(max_size=12) if fields else st.text(max_size=12)
    style = draw(st.integers(0, 3))
    if style == 0:
        return draw(json_values)
    if style == 1:
        return draw(st.dictionaries(keys, json_values, max_size=8))
    data: dict[str, Any] = dict(DEFAULTS.get(type_name, {}))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["set", "drop", "add"]))
        if op == "drop" and data:
            del data[draw(st.sampled_from(sorted(data)))]
        elif op == "add":
            data[draw(st.text(max_size=12))] = draw(json_values)
        else:
            data[draw(keys)] = draw(json_values)
    return data


fixed_offsets = st.builds(
    dt.timezone,
    st.timedeltas(
        min_value=-dt.timedelta(hours=23, minutes=59), max_value=dt.timedelta(hours=23, minutes=59)
    ),
)
HOSTILE_TIMES: Final = (
    "",
    " ",
    "garbage",
    "0000-01-01",
    "0000-01-01T00:00:00Z",
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+05:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-05:00",
    "10000-01-01T00:00:00Z",
    "2026-03-05",
    "2026-03-05T10:00:00",
    "2026-03-05T10:00:00+24:00",
    "2026-02-30T10:00:00Z",
    "2026-03-05T10:00:00Zjunk",
    "2026-03-05T10:00:00.1234567Z",
    "２０２６-03-05",
    "2026-03-05T10:00:00z",
    "1970-01-01T00:00:00Z",
)
time_texts = st.one_of(
    st.sampled_from(HOSTILE_TIMES),
    st.text(max_size=40),
    st.datetimes(timezones=fixed_offsets).map(dt.datetime.isoformat),
    st.datetimes().map(dt.datetime.isoformat),
    st.from_regex(
        r"\A\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?)?(Z|z|[+-]\d{2}(:?\d{2})?)?\Z",
        fullmatch=True,
    ),
)
times = st.one_of(
    time_texts,
    st.datetimes(),  # naive
    st.datetimes(timezones=fixed_offsets),
    st.datetimes(timezones=st.just(dt.UTC)),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


def _tweak(draw: st.DrawFn, value: Any) -> Any:
    """A near miss of `value`: a flipped character, an off-by-one, a type confusion."""
    if isinstance(value, bool):
        return draw(st.sampled_from([not value, int(value), str(value).lower(), None]))
    if isinstance(value, int):
        return draw(st.sampled_from([value + 1, value - 1, -value, value * 10**20, float(value), str(value)]))
    if isinstance(value, str):
        if not value:
            return draw(st.sampled_from([" ", "\x00", None]))
        i = draw(st.integers(0, len(value) - 1))
        flipped = chr((ord(value[i]) ^ 1) or 0x41)
        return draw(
            st.sampled_from([value[:i] + flipped + value[i + 1 :], value[:i], value + "\x00", [value]])
        )
    if isinstance(value, list):
        return draw(st.sampled_from([value[::-1], value + value, [], value[:1]]))
    if isinstance(value, dict):
        return draw(st.sampled_from([{}, list(value.values()), None]))
    return draw(st.sampled_from(["", 0, [], {}]))


@st.composite
def mutated(draw: st.DrawFn, value: Any, max_steps: int = 3) -> Any:
    """`value` after 1..max_steps random edits anywhere in its tree."""
    value = copy.deepcopy(value)
    for _ in range(draw(st.integers(1, max_steps))):
        path = draw(st.sampled_from(list(_paths(value))))
        op = draw(st.sampled_from(["replace", "delete", "tweak", "insert"]))
        if not path:
            value = draw(json_values) if op == "replace" else _tweak(draw, value)
            continue
        parent = value
        for step in path[:-1]:
            parent = parent[step]
        last = path[-1]
        if op == "replace":
            parent[last] = draw(json_values)
        elif op == "delete":
            del parent[last]
        elif op == "tweak":
            parent[last] = _tweak(draw, parent[last])
        elif isinstance(parent[last], dict):
            parent[last][draw(st.text(max_size=10))] = draw(json_values)
        elif isinstance(parent[last], list):
            parent[last].insert(draw(st.integers(0, len(parent[last]))), draw(json_values))
        else:
            parent[last] = _tweak(draw, parent[last])
    return value


# --- 1. Orders.record --------------------------------------------------------------------------


def _check_appended(orders: parcelfsm.Orders, count: int, type_name: str, events: Any) -> None:
    assert events, "a successful record returns the appended events"
    assert events[-1].type == type_name
    assert orders.store.count_events() == count + len(events)


@FAST
@given(
    order_id=order_ids,
    type_name=type_names,
    data=st.data(),
    key=st.none() | st.text(max_size=20),
)
def test_record_arbitrary_commands_succeed_or_change_nothing(
    order_id: str, type_name: str, data: st.DataObject, key: str | None
) -> None:
    payload = data.draw(command_data(type_name), label="data")
    orders = _book()
    count = orders.store.count_events()
    events = _succeeds_or_changes_nothing(
        orders, lambda: orders.record(order_id, type_name, payload, key=key)
    )
    if events is not None:
        _check_appended(orders, count, type_name, events)


@FAST
@given(
    order_id=st.sampled_from(["o-1", "o-2", "x" * 129]),
    type_name=st.sampled_from(sorted(DEFAULTS)),
    data=st.data(),
)
def test_record_known_types_with_one_broken_field(order_id: str, type_name: str, data: st.DataObject) -> None:
    """The defaults of a real command with one to three fields replaced, dropped or added."""
    payload = data.draw(mutated(DEFAULTS[type_name]), label="data")
    orders = _book()
    count = orders.store.count_events()
    events = _succeeds_or_changes_nothing(orders, lambda: orders.record(order_id, type_name, payload))
    if events is not None:
        _check_appended(orders, count, type_name, events)


VALID_COMMANDS: Final = (
    ("parcel.scanned", {"status": "in_transit"}),
    ("parcel.scanned", {"text": "Held At Customs"}),
    ("order.receipt_confirmed", {}),
    ("protection.extended", {"days": 10, "by": "seller"}),
    ("dispute.opened", DEFAULTS["dispute.opened"]),
    ("complaint.filed", DEFAULTS["complaint.filed"]),
)


@FAST
@given(command=st.sampled_from(VALID_COMMANDS), at=times)
def test_record_with_arbitrary_at(command: tuple[str, dict[str, Any]], at: Any) -> None:
    """`at` naive, far past or future, year 1 / 9999, any offset, any text."""
    type_name, payload = command
    orders = _book()
    count = orders.store.count_events()
    events = _succeeds_or_changes_nothing(orders, lambda: orders.record("o-1", type_name, payload, at=at))
    if events is not None:
        _check_appended(orders, count, type_name, events)
        assert events[-1].occurred_at <= orders.now()


@FAST
@given(order_id=order_ids, at=st.none() | times, as_recorded=st.booleans(), limit=st.integers(-5, 500))
def test_reads_with_arbitrary_ids_and_times_write_nothing(
    order_id: str, at: Any, as_recorded: bool, limit: int
) -> None:
    orders = _book()
    before = _snapshot(orders)
    for call in (
        lambda: orders.show(order_id, at=at, as_recorded=as_recorded).to_json(),
        lambda: orders.history(order_id),
        lambda: orders.advise(order_id, at=at),
        lambda: orders.due(before=at, limit=limit),
        lambda: orders.advance(at if at is not None else NOW, dry_run=True),
        lambda: list(orders.export_events(order_id)),
    ):
        try:
            call()
        except ParcelFsmError as exc:
            _rejected(exc)
        assert _snapshot(orders) == before


# --- 2. import_lines -----------------------------------------------------------------------------


@cache
def _export_lines() -> tuple[str, ...]:
    """A realistic export: a placed, shipped, scanned, alerted and disputed order, plus another."""
    clock = ManualClock(PLACED_AT)
    with parcelfsm.open(":memory:", clock=clock) as orders:
        orders.record("o-1", "order.placed", DEFAULTS["order.placed"], key="k-placed")
        clock.advance(days=1)
        orders.record("o-1", "order.shipped", DEFAULTS["order.shipped"])
        clock.advance(days=11)
        orders.tick()  # first_info alert
        orders.record("o-1", "parcel.scanned", {"text": "Held At Customs", "location": "Madrid"})
        clock.advance(days=1)
        orders.record("o-1", "dispute.opened", {**DEFAULTS["dispute.opened"], "evidence": ["a.jpg"]})
        orders.record("o-2", "order.placed", {**DEFAULTS["order.placed"], "coupon_discount": 100})
        return tuple(json.dumps(e.to_json()) for e in orders.export_events())


def test_import_of_an_untouched_export_succeeds() -> None:
    """The baseline the mutations start from is accepted, and accepted again as a no-op."""
    lines = _export_lines()
    orders = parcelfsm.open(":memory:", clock=ManualClock("2026-04-01T00:00:00Z"))
    report = orders.import_lines(lines)
    assert (report.appended, report.skipped) == (len(lines), 0)
    again = orders.import_lines(lines)
    assert (again.appended, again.skipped) == (0, len(lines))


LINE_FIELDS: Final = tuple(sorted(EVENT_COLUMNS))  # every stored field, in a stable order


@st.composite
def hostile_line(draw: st.DrawFn, line: str) -> str:
    """One export line made hostile: a field dropped, replaced or nudged, or no JSON at all."""
    obj = json.loads(line)
    kind = draw(st.sampled_from(["drop", "replace", "version", "data", "hash", "tree", "json", "text"]))
    if kind == "drop":
        del obj[draw(st.sampled_from(LINE_FIELDS))]
    elif kind == "replace":
        obj[draw(st.sampled_from(LINE_FIELDS))] = draw(json_values)
    elif kind == "version":
        obj["version"] = draw(
            st.sampled_from([0, -1, 10**30, 2**63, True, 1.0, "1", None, [1]]) | st.integers()
        )
    elif kind == "data":
        obj["data"] = draw(mutated(obj["data"]))
    elif kind == "hash":
        obj["hash"] = _tweak(draw, obj["hash"])
    elif kind == "tree":
        obj = draw(mutated(obj))
    elif kind == "json":
        return json.dumps(draw(json_values))
    else:
        return draw(
            st.sampled_from(["{", "[1,", "nul", "\x00", '{"a": 1}{', line[: len(line) // 2]]) | st.text()
        )
    return json.dumps(obj)


@FAST
@given(data=st.data(), prefix=st.integers(0, 3))
def test_import_hostile_lines_succeed_or_change_nothing(data: st.DataObject, prefix: int) -> None:
    """One line of a real export made hostile; the target already holds `prefix` of its lines."""
    lines = list(_export_lines())
    index = data.draw(st.integers(0, len(lines) - 1), label="index")
    lines[index] = data.draw(hostile_line(lines[index]), label="line")
    orders = parcelfsm.open(":memory:", clock=ManualClock("2026-04-01T00:00:00Z"))
    orders.import_lines(_export_lines()[:prefix])
    count = orders.store.count_events()
    report = _succeeds_or_changes_nothing(orders, lambda: orders.import_lines(lines))
    if report is not None:
        assert orders.store.count_events() == count + report.appended
        assert orders.replay(verify=True).problems == ()


@FAST
@given(lines=st.lists(json_values.map(json.dumps) | st.text(max_size=60), min_size=1, max_size=4))
def test_import_random_lines_succeed_or_change_nothing(lines: list[str]) -> None:
    orders = _book()
    _succeeds_or_changes_nothing(orders, lambda: orders.import_lines(lines))


# --- 3. ingest_tracking ------------------------------------------------------------------------


@cache
def _fixture(name: str) -> Any:
    return json.loads((FEEDS / name).read_text(encoding="utf-8"))


def _tracked_book() -> parcelfsm.Orders:
    """`o-1` shipped with the AfterShip fixture's number, then re-tracked with Cainiao's."""
    orders = parcelfsm.open(":memory:", clock=ManualClock("2026-03-25T00:00:00Z"))
    orders.record("o-1", "order.placed", DEFAULTS["order.placed"], at="2026-01-30T00:00:00Z")
    orders.record("o-1", "order.shipped", {"tracking_number": AFTERSHIP_NUMBER}, at="2026-02-01T00:00:00Z")
    orders.record(
        "o-1", "parcel.track_replaced", {"tracking_number": CAINIAO_NUMBER}, at="2026-02-01T00:00:00Z"
    )
    return orders


@pytest.mark.parametrize("name", ["aftership_china_post.json", "cainiao_aliexpress_standard.json"])
def test_ingest_of_an_untouched_fixture_appends(name: str) -> None:
    orders = _tracked_book()
    report = orders.ingest_tracking("o-1", _fixture(name))
    assert report.appended > 0


payloads = st.one_of(
    st.sampled_from(["aftership_china_post.json", "cainiao_aliexpress_standard.json"]).flatmap(
        lambda name: mutated(_fixture(name), max_steps=2)
    ),
    json_values,
)


@SLOW
@given(
    payload=payloads,
    fmt=st.sampled_from(["auto", "cainiao", "aftership"]) | st.text(max_size=10),
    order_id=st.sampled_from(["o-1", "o-2", "../x"]),
)
def test_ingest_hostile_payloads_succeed_or_change_nothing(payload: Any, fmt: str, order_id: str) -> None:
    orders = _tracked_book()
    before = _snapshot(orders)
    count = orders.store.count_events()
    report = _succeeds_or_changes_nothing(
        orders, lambda: orders.ingest_tracking(order_id, payload, format=fmt)
    )
    if report is not None:
        # rejected checkpoints are reported, not appended (docs/rules.md / ingest docstring)
        assert report.checkpoints == report.appended + report.skipped + len(report.rejected)
        assert orders.store.count_events() >= count + report.appended
        if report.appended == 0:
            assert _snapshot(orders) == before


# --- 4. Policy.from_dict and parse_time ---------------------------------------------------------

POLICY_KEYS: Final = tuple(Policy.default().to_dict())
policy_values = st.one_of(
    st.sampled_from([0, 1, 5, 3650, 3651, -1, True, 2.0, "5", None, {}, [], {"US": 5}, {"us": 5}]),
    st.dictionaries(st.sampled_from(["US", "BR", "RU", "us", "USA", ""]) | st.text(max_size=3), leaves),
    json_values,
)


@st.composite
def policy_dicts(draw: st.DrawFn) -> Any:
    flat = draw(st.dictionaries(st.sampled_from(POLICY_KEYS) | st.text(max_size=20), policy_values))
    if draw(st.booleans()):
        nested: dict[str, Any] = {}
        for key, value in flat.items():
            head, _, rest = key.partition(".")
            if rest:
                nested.setdefault(head, {})
                if isinstance(nested[head], dict):
                    nested[head][rest] = value
            else:
                nested[key] = value
        return nested
    return flat


@FAST
@given(data=policy_dicts() | json_values)
def test_policy_from_dict_is_a_policy_or_a_validation_error(data: Any) -> None:
    try:
        policy = Policy.from_dict(data)
    except ParcelFsmError as exc:
        assert exc.type == "ValidationError"
        return
    assert Policy.from_dict(policy.to_dict()) == policy
    canonical_json(policy.to_dict())
    for key in POLICY_KEYS:
        if key not in ("version", "protection.days_by_country", "customs.duty_paid_by"):
            assert 0 <= policy.days(key) <= 3650
    # an order placed under it folds, and its whole future can be read without a crash
    orders = parcelfsm.open(":memory:", clock=ManualClock(NOW), policy=policy)
    orders.record("o-1", "order.placed", DEFAULTS["order.placed"])
    orders.record("o-1", "order.shipped", DEFAULTS["order.shipped"])
    orders.show("o-1", at="2080-01-01T00:00:00Z").to_json()


@FAST
@given(text=time_texts)
def test_parse_time_is_aware_utc_or_a_validation_error(text: str) -> None:
    try:
        value = parse_time(text, "when")
    except ParcelFsmError as exc:
        assert exc.type == "ValidationError"
        assert "when" in exc.message
        return
    assert value.utcoffset() == dt.timedelta(0)
    assert parse_time(format_time(value)) == value


# --- 5. the CLI ----------------------------------------------------------------------------------

PLACED_JSON: Final = json.dumps(DEFAULTS["order.placed"])
DEEP_ARRAY: Final = "[" * 10_000 + "]" * 10_000
DEEP_OBJECT: Final = '{"a":' * 10_000 + "1" + "}" * 10_000
HUGE_INT: Final = "9" * 5000


def _run(db: Path, *args: str, input: str | bytes | None = None) -> Result:
    """Invoke the CLI with `--json`; an exception escaping it is a crash (the test fails)."""
    return CliRunner().invoke(cli, ["--db", str(db), "--json", *args], input=input, catch_exceptions=False)


def _db_rows(db: Path) -> Any:
    if not db.exists():
        return None
    with sqlite3.connect(db) as conn:
        return _rows(conn)


@pytest.fixture
def cli_db(tmp_path: Path) -> Path:
    """A database where `o-1` was placed (key `k-placed`) on 03-01 and shipped on 03-02."""
    db = tmp_path / "orders.db"
    shipped = json.dumps(DEFAULTS["order.shipped"])
    for args in (
        ["o-1", "order.placed", "--data", PLACED_JSON, "--at", PLACED_AT],
        ["o-k", "order.placed", "--data", PLACED_JSON, "--key", "k-placed"],
        ["o-1", "order.shipped", "--data", shipped, "--at", SHIPPED_AT],
    ):
        result = _run(db, *_at("record", *args))
        assert result.exit_code == 0, result.output
    return db


def _write(tmp_path: Path, name: str, content: str | bytes) -> str:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def _line(**changes: Any) -> str:
    """An `order.placed` import line for a new stream `o-9`, with `changes`."""
    obj = {
        "stream_id": "o-9",
        "version": 1,
        "type": "order.placed",
        "occurred_at": PLACED_AT,
        "data": DEFAULTS["order.placed"],
        **changes,
    }
    return json.dumps(obj) + "\n"


Case = Callable[[Path], tuple[list[str], str | bytes | None]]
SCAN: Final = '{"status": "in_transit"}'


def _at(*args: str) -> list[str]:
    """CLI arguments with the clock fixed at NOW."""
    return ["--now", NOW, *args]


def _ingest(stdin: str | bytes, order: str = "o-1") -> tuple[list[str], str | bytes | None]:
    return _at("track-ingest", order, "-"), stdin


def _import(t: Path, name: str, content: str | bytes) -> tuple[list[str], None]:
    return _at("import", _write(t, name, content)), None


def _with_policy(t: Path, content: str | bytes) -> tuple[list[str], None]:
    policy = _write(t, "policy.json", content)
    return ["--now", NOW, "--policy", policy, "record", "o-2", "order.placed", "--data", PLACED_JSON], None


HUGE_PLACED: Final = PLACED_JSON.replace("2599", HUGE_INT, 1)
REJECTED_CASES: Final[dict[str, Case]] = {
    "--now garbage": lambda t: (["--now", "garbage", "show", "o-1"], None),
    "--now year 1 with an offset": lambda t: (["--now", "0001-01-01T00:00:00+05:00", "show", "o-1"], None),
    "--now at the end of the calendar, placing": lambda t: (
        ["--now", "9999-12-31", "record", "o-2", "order.placed", "--data", PLACED_JSON],
        None,
    ),
    "--at year 0": lambda t: (
        _at("record", "o-1", "parcel.scanned", "--data", SCAN, "--at", "0000-01-01"),
        None,
    ),
    "--at year 1 with an offset": lambda t: (
        _at("record", "o-1", "parcel.scanned", "--data", SCAN, "--at", "0001-01-01T00:00:00+01:00"),
        None,
    ),
    "--data array": lambda t: (_at("record", "o-1", "order.receipt_confirmed", "--data", "[1, 2]"), None),
    "--data string": lambda t: (_at("record", "o-1", "order.receipt_confirmed", "--data", '"x"'), None),
    "--data number": lambda t: (_at("record", "o-1", "order.receipt_confirmed", "--data", "42"), None),
    "--data not JSON": lambda t: (_at("record", "o-1", "order.receipt_confirmed", "--data", "{"), None),
    "--data 10k-deep array": lambda t: (
        _at("record", "o-1", "order.receipt_confirmed", "--data", DEEP_ARRAY),
        None,
    ),
    "--data 10k-deep object": lambda t: (
        _at("record", "o-1", "order.receipt_confirmed", "--data", DEEP_OBJECT),
        None,
    ),
    "--data 5000-digit number": lambda t: (_at("record", "o-2", "order.placed", "--data", HUGE_PLACED), None),
    "--data lone surrogate escape": lambda t: (
        _at("record", "o-1", "parcel.scanned", "--data", '{"text": "In transit \\ud800"}'),
        None,
    ),
    "show unicode id": lambda t: (_at("show", "ördér-📦"), None),
    "show id too long": lambda t: (_at("show", "x" * 129), None),
    "show --at garbage": lambda t: (_at("show", "o-1", "--at", "garbage"), None),
    "history ../": lambda t: (_at("history", "../o-1"), None),
    "advance --to garbage": lambda t: (_at("advance", "--to", "garbage"), None),
    "advance --to beyond the calendar": lambda t: (_at("advance", "--to", "9999-12-31T23:59:59-05:00"), None),
    "due --before garbage": lambda t: (_at("due", "--before", "garbage"), None),
    "import a binary file": lambda t: _import(t, "bin.jsonl", bytes(range(256))),
    "import a missing file": lambda t: (_at("import", str(t / "missing.jsonl")), None),
    "import a 10k-deep line": lambda t: _import(t, "deep.jsonl", DEEP_ARRAY),
    "import a 5000-digit number": lambda t: _import(
        t, "huge.jsonl", _line().replace('"version": 1', f'"version": {HUGE_INT}')
    ),
    "import type is a list": lambda t: _import(t, "type.jsonl", _line(type=["x"])),
    "import occurred_at beyond the calendar": lambda t: _import(
        t, "late.jsonl", _line(occurred_at="9999-12-31T00:00:00Z")
    ),
    "import a key of another stream": lambda t: _import(t, "key.jsonl", _line(key="k-placed")),
    "import a good line then a bad one": lambda t: _import(
        t, "half.jsonl", _line() + _line(version=2, type="order.placed")
    ),
    "track-ingest garbage stdin": lambda t: _ingest("garbage"),
    "track-ingest empty stdin": lambda t: _ingest(""),
    "track-ingest binary stdin": lambda t: _ingest(b"\xff\xfe\x00\x81"),
    "track-ingest JSON number": lambda t: _ingest("42"),
    "track-ingest 10k-deep stdin": lambda t: _ingest(DEEP_ARRAY),
    "track-ingest a year-1 checkpoint": lambda t: _ingest(
        json.dumps({"checkpoints": [{"checkpoint_time": "0001-01-01T00:00:00+08:00", "message": "x"}]})
    ),
    "track-ingest unknown order": lambda t: _ingest("[]", order="nope"),
    "export unknown order": lambda t: (_at("export", "nope"), None),
    "export ../": lambda t: (_at("export", "../x"), None),
    "--policy not UTF-8": lambda t: _with_policy(t, b"\xff\xfe{}"),
    "--policy not an object": lambda t: _with_policy(t, "[1]"),
    "--policy version with a lone surrogate": lambda t: _with_policy(t, '{"version": "\\ud800"}'),
    "replay --what-if with a bad key": lambda t: (
        _at("replay", "--what-if", _write(t, "p.json", '{"dispute.window_days": -1}')),
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(REJECTED_CASES))
def test_cli_hostile_invocation_exits_3_with_a_json_error(cli_db: Path, case: str) -> None:
    args, stdin = REJECTED_CASES[case](cli_db.parent)
    before = _db_rows(cli_db)
    result = _run(cli_db, *args, input=stdin)
    assert "Traceback" not in result.output
    assert result.exit_code == 3, f"exit {result.exit_code}: {result.output[:500]}"
    payload = json.loads(result.stdout)
    assert list(payload) == ["error"]
    assert payload["error"]["type"] in REJECTIONS
    assert isinstance(payload["error"]["message"], str) and payload["error"]["message"].strip()
    assert _db_rows(cli_db) == before, "a rejected invocation wrote to the database"


FINE_CASES: Final[dict[str, tuple[list[str], str | None, bool]]] = {
    # args, stdin, whether it may write
    "show far in the future": (["--now", NOW, "show", "o-1", "--at", "9999-12-31T23:59:59Z"], None, False),
    "history": (["--now", NOW, "history", "o-1"], None, False),
    "advance dry-run to the end of the calendar": (
        ["--now", NOW, "advance", "--to", "9999-12-31T23:59:59Z", "--dry-run"],
        None,
        False,
    ),
    "normalize control characters": (["--now", NOW, "normalize", "\x01\x7f garbage №"], None, False),
    "track-ingest an empty list": (["--now", NOW, "track-ingest", "o-1", "-"], "[]", True),
    "record with --data null": (
        ["--now", NOW, "record", "o-1", "order.receipt_confirmed", "--data", "null"],
        None,
        True,
    ),
    "due with a date-only --before": (["--now", NOW, "due", "--before", "2026-03-05"], None, False),
}


@pytest.mark.parametrize("case", sorted(FINE_CASES))
def test_cli_odd_but_valid_invocation_exits_0(cli_db: Path, case: str) -> None:
    args, stdin, writes = FINE_CASES[case]
    before = _db_rows(cli_db)
    result = _run(cli_db, *args, input=stdin)
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output[:500]}"
    assert "error" not in json.loads(result.stdout)
    if not writes:
        assert _db_rows(cli_db) == before


def test_cli_non_utf8_key_from_argv_is_not_a_crash(cli_db: Path) -> None:
    """`--key $'\\xff'` reaches Python as a lone surrogate (surrogateescape): accept or exit 3."""
    before = _db_rows(cli_db)
    result = _run(
        cli_db,
        "--now",
        NOW,
        "record",
        "o-1",
        "parcel.scanned",
        "--data",
        '{"status": "in_transit"}',
        "--key",
        "k-\udcff",
    )
    assert result.exit_code in (0, 3), result.output[:500]
    if result.exit_code == 3:
        assert json.loads(result.stdout)["error"]["type"] in REJECTIONS
        assert _db_rows(cli_db) == before


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["import", "{dir}"], id="import a directory"),
    ],
)
def test_cli_bad_value_of_a_known_argument_is_exit_3_not_usage(cli_db: Path, args: list[str]) -> None:
    """A bad file argument is input, not usage: ValidationError, exit 3 (docs/cli.md)."""
    argv = [a.replace("{dir}", str(cli_db.parent)) for a in args]
    result = _run(cli_db, "--now", NOW, *argv, input="[]")
    assert result.exit_code == 3, f"exit {result.exit_code}: {result.output[:300]}"
    assert json.loads(result.stdout)["error"]["type"] == "ValidationError"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(
            ["record", "o-1", "order.receipt_confirmed", "--expect-version", "x"], id="expect-version x"
        ),
        pytest.param(["due", "--limit", "0"], id="due --limit 0"),
        pytest.param(["due", "--limit", "9" * 30], id="due --limit huge"),
        pytest.param(["track-ingest", "o-1", "-", "--format", "bogus"], id="track-ingest --format bogus"),
    ],
)
def test_cli_bad_value_of_a_typed_option_is_a_validation_error(cli_db: Path, args: list[str]) -> None:
    """Typed options (numbers in range, choices) refuse a bad value as input: exit 3, nothing written."""
    before = _db_rows(cli_db)
    result = _run(cli_db, "--now", NOW, *args, input="[]")
    assert result.exit_code == 3, f"exit {result.exit_code}: {result.output[:300]}"
    assert "Traceback" not in result.output
    assert _db_rows(cli_db) == before


# --- minimal reproductions of the bugs the properties found ---------------------------------------


@pytest.mark.parametrize("text", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"])
def test_bug_parse_time_overflow_at_the_calendar_edges(text: str) -> None:
    """clock.py to_utc: `astimezone(UTC)` raises OverflowError out of range; expect ValidationError."""
    with pytest.raises(ParcelFsmError) as info:
        parse_time(text, "--at")
    assert info.value.type == "ValidationError"


def test_bug_record_with_aware_year_1_datetime() -> None:
    orders = _book()
    at = dt.datetime(1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    _succeeds_or_changes_nothing(
        orders, lambda: orders.record("o-1", "parcel.scanned", {"status": "in_transit"}, at=at)
    )


@pytest.mark.parametrize(
    ("type_name", "data", "key"),
    [
        pytest.param("parcel.scanned", {"text": "In transit \ud800"}, None, id="surrogate in data"),
        pytest.param("parcel.scanned", {"status": "in_transit"}, "k-\udcff", id="surrogate in key"),
        pytest.param("complaint.filed", {"text": 10**5000}, None, id="int beyond str-digits limit"),
    ],
)
def test_bug_record_unencodable_input_is_typed(type_name: str, data: dict[str, Any], key: str | None) -> None:
    """records.py fingerprint → canonical.py sha256_hex / json.dumps raise before any validation."""
    orders = _book()
    _succeeds_or_changes_nothing(orders, lambda: orders.record("o-1", type_name, data, key=key))


def test_bug_deadline_arithmetic_overflow_is_typed() -> None:
    """Each `protection.extended` is ≤ 3650 days, but nothing bounded their sum: enough of them
    pushed `protection_end` past year 9999. Extensions now total at most 3650 days."""
    orders = _book()
    orders.record("o-1", "protection.extended", {"days": 3650, "by": "buyer"})
    before = _snapshot(orders)
    with pytest.raises(ParcelFsmError) as info:
        orders.record("o-1", "protection.extended", {"days": 1, "by": "buyer"})
    assert info.value.type == "ValidationError"
    assert _snapshot(orders) == before


def test_bug_placing_an_order_at_the_end_of_the_calendar_is_typed() -> None:
    """`ship_by` = placed + processing days overflows (deadlines.py); the CLI's `--now 9999-12-31`."""
    orders = parcelfsm.open(":memory:", clock=ManualClock("9999-12-31T00:00:00Z"))
    _succeeds_or_changes_nothing(
        orders, lambda: orders.record("o-1", "order.placed", DEFAULTS["order.placed"])
    )


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(_line(type=["x"]), id="type is a list"),
        pytest.param(_line(type={"a": 1}), id="type is an object"),
        pytest.param(DEEP_ARRAY, id="10k-deep array"),
        pytest.param(_line().replace('"version": 1', f'"version": {HUGE_INT}'), id="5000-digit number"),
        pytest.param(_line(occurred_at="0001-01-01T00:00:00+05:00"), id="occurred_at year 1 +05:00"),
        pytest.param(_line(recorded_at="0001-01-01T00:00:00+05:00"), id="recorded_at year 1 +05:00"),
        pytest.param(_line(occurred_at="9999-12-31T00:00:00Z"), id="placed at the end of the calendar"),
        pytest.param(_line(data={**DEFAULTS["order.placed"], "seller": "\ud800"}), id="lone surrogate"),
    ],
)
def test_bug_import_line_is_typed(line: str) -> None:
    """transfer.py import_lines / parse_line let non-ParcelFsmError exceptions escape."""
    orders = _book()
    _succeeds_or_changes_nothing(orders, lambda: orders.import_lines([line]))


def test_bug_import_reusing_a_key_is_idempotency_conflict_not_concurrency() -> None:
    """sqlite.py append_stored maps the `events.key` UNIQUE failure to ConcurrencyConflict (exit 4)."""
    orders = _book()
    orders.record("o-2", "order.placed", DEFAULTS["order.placed"], key="k-placed")
    before = _snapshot(orders)
    with pytest.raises(ParcelFsmError) as info:
        orders.import_lines([_line(key="k-placed")])
    assert info.value.type == "IdempotencyConflict"
    assert _snapshot(orders) == before


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(
            {"checkpoints": [{"checkpoint_time": "0001-01-01T00:00:00+08:00", "message": "In transit"}]},
            id="aftership",
        ),
        pytest.param(
            {"detailList": [{"timeStr": "0001-01-01 00:00:00", "timeZone": "GMT+8", "desc": "In transit"}]},
            id="cainiao",
        ),
    ],
)
def test_bug_feed_time_overflow_is_typed(payload: dict[str, Any]) -> None:
    """feeds.py `_local_time`: `astimezone(UTC)` raises OverflowError; expect ValidationError."""
    with pytest.raises(ParcelFsmError) as info:
        parse_feed(payload)
    assert info.value.type == "ValidationError"


def test_bug_policy_file_not_utf8_is_typed(tmp_path: Path) -> None:
    """policy.py from_file catches OSError and JSONDecodeError but not UnicodeDecodeError."""
    path = tmp_path / "policy.json"
    path.write_bytes(b"\xff\xfe{}")
    with pytest.raises(ParcelFsmError) as info:
        Policy.from_file(path)
    assert info.value.type == "ValidationError"


def test_bug_scan_dated_before_the_order_fires_nothing_before_the_order() -> None:
    """A carrier checkpoint with a bogus date (1970, a default epoch) is accepted as the first
    scan; `presumed_lost` then counts from 1970 and the parcel is declared lost at once, by a
    timed event dated decades before the order was placed. Expected: such a scan is rejected,
    or recorded without arming deadlines before the order existed."""
    orders = _book()
    payload = {
        "tracking_number": DEFAULTS["order.shipped"]["tracking_number"],
        "checkpoints": [{"checkpoint_time": "1970-01-01T00:00:00+00:00", "message": "In transit"}],
    }
    try:
        orders.ingest_tracking("o-1", payload)
    except ParcelFsmError as exc:
        _rejected(exc)
    orders.tick()
    placed = orders.history("o-1")[0].occurred_at
    early = [
        (e.type, format_time(e.occurred_at)) for e in orders.history("o-1") if e.due_at and e.due_at < placed
    ]
    assert early == [], f"timed events dated before the order was placed: {early}"
    assert orders.show("o-1").states["parcel"] != "lost"
