"""Hypothesis strategies for stream entries that must never be processed as checkouts."""

import json
from typing import Any

from hypothesis import strategies as st

from contracts import CheckoutItem, CheckoutRequested, CheckoutRequestedEvent

Fields = dict[str, bytes]

_VALID = CheckoutRequestedEvent.new(
    correlation_id="co-valid",
    producer="test",
    data=CheckoutRequested(
        checkout_id="co-valid", room_id="room-1", buyer_id="buyer-1",
        items=[CheckoutItem(sku="SKU-A", quantity=1)],
    ),
)  # fmt: skip
_VALID_JSON = _VALID.model_dump_json()
_VALID_DICT: dict[str, Any] = json.loads(_VALID_JSON)

# For each path into the envelope, values that can never be valid there.
_WRONG_TYPES: dict[tuple[str, ...], list[Any]] = {
    ("event_id",): [None, 12, [], ""],
    ("occurred_at",): ["yesterday", 12.5, None],
    ("correlation_id",): [None, 7, {}],
    ("data", "checkout_id"): [None, 5, "", "x" * 65, "bad id!"],
    ("data", "buyer_id"): [None, [], "no spaces allowed"],
    ("data", "items"): [None, 5, "items", []],
    ("data", "items", 0): [None, "item", 3],
    ("data", "items", 0, "quantity"): [0, -1, "many", 10_000, None],
    ("data", "items", 0, "sku"): [None, "", "sku with space"],
}


def _with(path: tuple[str | int, ...], value: Any, *, drop: bool = False) -> bytes:
    doc = json.loads(_VALID_JSON)
    target = doc
    for key in path[:-1]:
        target = target[key]
    if drop:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return json.dumps(doc).encode()


def _data(raw: bytes) -> Fields:
    return {"__data__": raw}


random_bytes = st.binary(min_size=0, max_size=300).map(_data)
truncated_json = st.integers(0, len(_VALID_JSON) - 1).map(lambda n: _data(_VALID_JSON[:n].encode()))
wrong_types = st.sampled_from(sorted(_WRONG_TYPES.items())).flatmap(
    lambda kv: st.sampled_from(kv[1]).map(lambda v: _data(_with(kv[0], v)))
)
missing_fields = st.sampled_from(
    [("event_id",), ("type",), ("version",), ("correlation_id",), ("data",),
     ("data", "checkout_id"), ("data", "items"), ("data", "buyer_id")]
).map(lambda path: _data(_with(path, None, drop=True)))  # fmt: skip
unknown_versions = (
    st.integers().filter(lambda v: v != 1).map(lambda v: _data(_with(("version",), v)))
)
unknown_types = (
    st.text(max_size=40)
    .filter(lambda t: t != "checkout.requested")
    .map(lambda t: _data(_with(("type",), t)))
)
huge_fields = st.integers(70_000, 200_000).map(
    lambda n: _data(_with(("data", "idempotency_key"), "k" * n))
)
no_data_field = st.dictionaries(
    st.text(min_size=1, max_size=10).filter(lambda k: k != "__data__"),
    st.binary(max_size=50), min_size=1, max_size=3,
)  # fmt: skip

hostile_entries = st.one_of(
    random_bytes, truncated_json, wrong_types, missing_fields, unknown_versions,
    unknown_types, huge_fields, no_data_field,
)  # fmt: skip
