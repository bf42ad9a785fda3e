"""Hostile stored rows for the lossless-storage tests (`tests/store_contract.py`).

A chain is a list of field dicts turned into `EventRow`s by `chain_rows`; hashes, chain
links, times and keys vary between what the log writes and anything else a row may
hold, so a backend's compact encoding is tried on both sides of each of its rules.
"""

from __future__ import annotations

import hashlib
from typing import Any, Final

from hypothesis import strategies as st

from parcelfsm.canonical import canonical_json
from parcelfsm.store.recorder import EventRow

#: text without NUL (PostgreSQL's text cannot hold it; the SQLite tests add it)
TEXT: Final = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
POLICY_BITS: Final = (
    '"policy":{',
    '"policy":{}',
    '"policy":null',
    "}",
    "{",
    '"',
    "\\\\",
    '\\\\"policy\\\\":{',
    "null",
    "é",
    "😀",
    "\u2028",
    str(2**70),
)
_POLICY: Final = {
    "version": "2026.2",
    "protection.days_by_country": {"BR": 120, "RU": 90, "ÅLAND": 2**80},
    "dispute.window_days": 15,
    "note": 'a "policy":{ inside a string, 😀 and \\\\ and \\u2028',
    "parcel.no_news_days": -(2**65),
}


def _data(policy: dict[str, Any] | None, extra: str, big: int) -> str:
    body: dict[str, Any] = {"amount": big, "buyer": extra, "currency": "USD", "zz": extra}
    if policy is not None:
        body["policy"] = policy
    return canonical_json(body, check=False)


def _hash(kind: str, seed: str) -> str:
    digest = hashlib.sha256(seed.encode()).hexdigest()
    return {"hex": digest, "upper": digest.upper(), "short": digest[:63], "spaced": digest[:62] + " a"}.get(
        kind, seed
    )


DATA: Final = st.one_of(
    st.builds(
        _data,
        st.sampled_from([None, _POLICY, {**_POLICY, "version": "other"}, {"x": 1}]),
        TEXT,
        st.integers(),
    ),
    st.lists(st.one_of(st.sampled_from(POLICY_BITS), TEXT), max_size=8).map("".join),
)
FIELDS: Final = st.fixed_dictionaries(
    {
        "stream_suffix": TEXT,
        "type": st.one_of(st.sampled_from(["order.placed", "parcel.scanned"]), TEXT),
        "schema_version": st.sampled_from([1, 2, 0]),
        "occurred_at": st.one_of(
            st.just("2026-03-01T10:00:00Z"), st.just("2026-03-01T10:00:00.000001Z"), TEXT
        ),
        "recorded": st.sampled_from(["same", "other", "empty"]),
        "due_at": st.one_of(st.none(), st.just("2026-03-08T10:00:00Z"), TEXT),
        "key": st.one_of(st.none(), TEXT),
        "data": DATA,
        "hash": st.sampled_from(["hex", "hex", "upper", "short", "spaced", "text"]),
        "link": st.sampled_from(["chain", "chain", "other", "empty"]),
        "gap": st.sampled_from([1, 1, 1, 2]),
    }
)


def hostile_chains() -> st.SearchStrategy[list[dict[str, Any]]]:
    """One stream's rows, one to four."""
    return st.lists(FIELDS, min_size=1, max_size=4)


def chain_rows(name: str, chain: list[dict[str, Any]]) -> list[EventRow]:
    """The rows of one stream `name` from a chain of field dicts (versions from 1)."""
    rows: list[EventRow] = []
    version, prev = 0, ""
    for i, f in enumerate(chain):
        version += f["gap"] if rows else 1
        recorded = {"same": f["occurred_at"], "other": "2026-03-02T10:00:00Z", "empty": ""}[f["recorded"]]
        link = {"chain": prev, "other": _hash("hex", f"other{i}"), "empty": ""}[f["link"]]
        key = None if f["key"] is None else f"{name}:{i}:{f['key']}"
        digest = _hash(f["hash"], f"{name}{i}{f['data']}")
        row = EventRow(
            0,
            name,
            version,
            f["type"],
            f["schema_version"],
            f["occurred_at"],
            recorded,
            f["due_at"],
            key,
            f["data"],
            link,
            digest,
        )
        rows.append(row)
        prev = digest
    return rows


_PLACED: Final = {
    "stream_suffix": "x",
    "type": "order.placed",
    "schema_version": 1,
    "occurred_at": "2026-03-01T10:00:00Z",
    "recorded": "same",
    "due_at": None,
    "key": None,
    "data": _data(_POLICY, "😀", 2**70),
    "hash": "hex",
    "link": "chain",
    "gap": 1,
}
#: fixed cases every backend gets besides the generated ones
HAND_PICKED: Final = {
    "hand-picked": [
        _PLACED,
        {**_PLACED, "data": _data(_POLICY, '"policy":{"a":1}', -(2**64)), "recorded": "other"},
        {**_PLACED, "data": '{"policy":{"unclosed":', "hash": "upper", "link": "other"},
        {**_PLACED, "data": _data({**_POLICY, "version": "x" * 300}, "", 0), "due_at": "", "key": ""},
    ],
    "policy-twice": [
        {**_PLACED, "data": '{"a":' + _data(_POLICY, "", 1) + ',"b":' + _data(_POLICY, "", 2) + "}"},
    ],
}
