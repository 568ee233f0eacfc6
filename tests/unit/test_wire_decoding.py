"""Property tests of the wire decoders: whatever a stream entry holds, reading it gives a
valid event or a `WireError` with a documented reason, never another exception; and every
event type survives encode → decode unchanged."""

import json
import string
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any, get_args

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contracts import (
    CancellationRequested,
    CancellationRequestedEvent,
    CatalogChanged,
    CatalogChangedEvent,
    CheckoutItem,
    CheckoutRequested,
    CheckoutRequestedEvent,
    DealSnapshot,
    Envelope,
    FlashDealRequested,
    FlashDealRequestedEvent,
    OrderStatus,
    OrderStatusChanged,
    OrderStatusChangedEvent,
    ProductSnapshot,
    RejectionReason,
    RoomChanged,
    RoomChangedEvent,
    RoomSales,
    RoomSalesChangedEvent,
    WireError,
    decode_entry,
    encode_entry,
)
from contracts.wire import MAX_ENTRY_BYTES, decode_payload
from services.common.streams.wire import JsonEnvelopeFormat
from tests.support.hostile import hostile_entries

REASONS = {"missing_field", "too_large", "invalid_json", "invalid_event"}
"""The reason codes `contracts.wire` documents for an entry it cannot read."""

FUZZ = settings(
    max_examples=50, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
)

identifiers = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}", fullmatch=True)
skus = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", fullmatch=True)
currencies = st.text(string.ascii_uppercase, min_size=3, max_size=3)
amounts = st.integers(0, 2**63 - 1)
offsets = st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m)))
moments = st.datetimes(datetime(1970, 1, 1), datetime(2200, 1, 1), timezones=offsets)
items = st.builds(CheckoutItem, sku=skus, quantity=st.integers(1, 100))
counts_by_key = st.dictionaries(st.text(max_size=20), st.integers(-(2**63), 2**63 - 1), max_size=4)


def _maybe(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | strategy


deals = st.builds(
    DealSnapshot, deal_id=identifiers, room_id=identifiers, price_minor=amounts,
    units_cap=st.integers(1, 2**31), units_taken=amounts, per_buyer_limit=st.integers(1, 2**31),
    starts_at=moments, ends_at=_maybe(moments),
)  # fmt: skip
products = st.builds(
    ProductSnapshot, sku=skus, title=st.text(max_size=200), price_minor=amounts,
    currency=currencies, available=amounts, sold=amounts, version=amounts,
    seller_id=_maybe(identifiers), image_url=_maybe(st.text(max_size=500)), deal=_maybe(deals),
)  # fmt: skip
PAYLOADS: dict[type[Envelope], st.SearchStrategy[Any]] = {  # type: ignore[type-arg]
    CheckoutRequestedEvent: st.builds(
        CheckoutRequested,
        checkout_id=identifiers,
        room_id=identifiers,
        buyer_id=identifiers,
        items=st.lists(items, min_size=1, max_size=20),
        idempotency_key=_maybe(st.text(max_size=128)),
    ),
    OrderStatusChangedEvent: st.builds(
        OrderStatusChanged,
        checkout_id=identifiers,
        order_id=identifiers,
        buyer_id=identifiers,
        room_id=identifiers,
        status=st.sampled_from(OrderStatus),
        previous_status=_maybe(st.sampled_from(OrderStatus)),
        sequence=st.integers(1, 2**31),
        reason=_maybe(st.sampled_from(RejectionReason)),
        detail=_maybe(st.text(max_size=200)),
        total_minor=amounts,
        currency=currencies,
        items=st.lists(items, max_size=20),
        requested_at=_maybe(moments),
        seller_id=_maybe(identifiers),
        tracking_ref=_maybe(st.text(max_size=100)),
    ),
    CatalogChangedEvent: st.builds(
        CatalogChanged, products=st.lists(products, min_size=1, max_size=4)
    ),
    RoomSalesChangedEvent: st.builds(
        RoomSales,
        room_id=identifiers,
        checkouts=amounts,
        confirmed=amounts,
        rejected=counts_by_key,
        expired=amounts,
        units_sold=counts_by_key,
        revenue_minor=counts_by_key,
        revenue_minor_by_sku=counts_by_key,
        cancelled=amounts,
    ),
    FlashDealRequestedEvent: st.builds(
        FlashDealRequested,
        deal_id=identifiers,
        seller_id=identifiers,
        room_id=identifiers,
        sku=skus,
        price_minor=amounts,
        units_cap=st.integers(1, 1_000_000),
        per_buyer_limit=st.integers(1, 100),
        starts_at=moments,
        ends_at=_maybe(moments),
    ),
    CancellationRequestedEvent: st.builds(
        CancellationRequested, checkout_id=identifiers, buyer_id=identifiers
    ),
    RoomChangedEvent: st.builds(
        RoomChanged,
        room_id=identifiers,
        state=st.sampled_from(["scheduled", "live", "ended"]),
        skus=st.lists(skus, max_size=100),
    ),
}
EVENT_TYPES = sorted(PAYLOADS, key=lambda t: t.TYPE)


def test_every_event_type_has_a_strategy() -> None:
    assert {t.__name__ for t in PAYLOADS} == {
        name for name in dir(__import__("contracts.events").events) if name.endswith("Event")
    }


def events(event_type: type[Envelope]) -> st.SearchStrategy[Envelope]:  # type: ignore[type-arg]
    """Any valid event of `event_type`, at every version its readers take."""
    envelope_text = st.text(min_size=1, max_size=64)
    return st.builds(
        event_type, event_id=envelope_text, type=st.just(event_type.TYPE),
        version=st.sampled_from(get_args(event_type.model_fields["version"].annotation)),
        occurred_at=moments, correlation_id=envelope_text, producer=envelope_text,
        data=PAYLOADS[event_type],
    )  # fmt: skip


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=lambda t: t.TYPE)
def test_every_event_reads_back_as_written(event_type: type[Envelope]) -> None:  # type: ignore[type-arg]
    @FUZZ
    @given(event=events(event_type))
    def reads_back(event: Envelope) -> None:  # type: ignore[type-arg]
        fields = encode_entry(event)
        assert decode_entry(fields, event_type) == event
        # Redis hands the fields back as bytes.
        as_redis = {key.encode(): value.encode() for key, value in fields.items()}
        assert decode_entry(as_redis, event_type) == event

    reads_back()


def _json_values() -> st.SearchStrategy[Any]:
    leaves = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30)
    return st.recursive(
        leaves,
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=12,
    )


def _any_time_text() -> st.SearchStrategy[str]:
    """Date-times anywhere in the calendar, in any offset: a UTC conversion may overflow."""
    return st.datetimes(timezones=offsets).map(datetime.isoformat)


def _mutated(event: Envelope, picks: st.DataObject) -> bytes:  # type: ignore[type-arg]
    """`event`'s JSON with one value somewhere replaced by anything, or removed."""
    doc = json.loads(event.model_dump_json())
    target: Any = doc
    while True:
        keys = list(target.items() if isinstance(target, dict) else enumerate(target))
        key, value = picks.draw(st.sampled_from(keys)) if keys else (None, None)
        if key is None or not isinstance(value, dict | list) or picks.draw(st.booleans()):
            break
        target = value
    if key is not None and picks.draw(st.integers(0, 9)) == 0:
        del target[key]
    elif key is not None:
        target[key] = picks.draw(_json_values() | _any_time_text())
    return json.dumps(doc).encode()


_surrogate_text = st.text(st.characters() | st.integers(0xD800, 0xDFFF).map(chr), max_size=50)
raw_values = (
    st.binary(max_size=300)
    | _surrogate_text
    | _json_values().map(json.dumps)
    | st.integers(1, 5000).map(lambda depth: "[" * depth + "]" * depth)
    | st.integers(1, 5000).map(lambda depth: '{"a":' * depth)
)
field_names = (
    st.sampled_from(["__data__", b"__data__"]) | st.text(max_size=10) | st.binary(max_size=10)
)
arbitrary_fields = st.dictionaries(field_names, raw_values, max_size=3)


def _reads_or_refuses(read: Callable[[], Envelope], event_type: type[Envelope]) -> None:  # type: ignore[type-arg]
    try:
        event = read()
    except WireError as exc:
        refused: WireError | None = exc
    else:
        refused = None
        assert isinstance(event, event_type)
    assert refused is None or refused.reason in REASONS, refused


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=lambda t: t.TYPE)
def test_any_entry_reads_as_an_event_or_is_refused_with_a_reason(
    event_type: type[Envelope],  # type: ignore[type-arg]
) -> None:
    @FUZZ
    @given(fields=hostile_entries | arbitrary_fields)
    def reads_or_refuses(fields: dict[Any, Any]) -> None:
        _reads_or_refuses(lambda: decode_entry(fields, event_type), event_type)

    reads_or_refuses()


@pytest.mark.parametrize("event_type", EVENT_TYPES, ids=lambda t: t.TYPE)
def test_a_valid_event_with_any_one_value_changed_reads_or_is_refused(
    event_type: type[Envelope],  # type: ignore[type-arg]
) -> None:
    @FUZZ
    @given(event=events(event_type), picks=st.data())
    def reads_or_refuses(event: Envelope, picks: st.DataObject) -> None:  # type: ignore[type-arg]
        raw = _mutated(event, picks)
        _reads_or_refuses(lambda: decode_payload(raw, event_type), event_type)

    reads_or_refuses()


@pytest.mark.parametrize(
    "moment", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:59:59-05:00"], ids=["min", "max"]
)
def test_an_occurred_at_beyond_the_utc_calendar_is_an_invalid_event(moment: str) -> None:
    doc = json.loads(_some_checkout().model_dump_json())
    doc["occurred_at"] = moment
    with pytest.raises(WireError) as refused:
        decode_payload(json.dumps(doc), CheckoutRequestedEvent)
    assert refused.value.reason == "invalid_event"


@FUZZ
@given(size=st.integers(MAX_ENTRY_BYTES // 4 + 1, MAX_ENTRY_BYTES))
@example(size=MAX_ENTRY_BYTES // 3 + 1)
def test_an_entry_over_the_limit_in_utf8_bytes_is_too_large_whatever_its_length_in_characters(
    size: int,
) -> None:
    text = "€" * size  # three bytes each
    with pytest.raises(WireError) as refused:
        decode_payload(text, CheckoutRequestedEvent)
    too_large = len(text.encode()) > MAX_ENTRY_BYTES
    assert (refused.value.reason == "too_large") == too_large, refused.value


@pytest.mark.parametrize("empty", ["", b""])
def test_an_empty_data_field_is_invalid_json_not_a_missing_field(empty: str | bytes) -> None:
    fields: Any = {"__data__": empty} if isinstance(empty, str) else {b"__data__": empty}
    with pytest.raises(WireError) as refused:
        decode_entry(fields, CheckoutRequestedEvent)
    assert refused.value.reason == "invalid_json"


@FUZZ
@given(
    raw=st.binary(max_size=300)
    | raw_values.map(lambda v: v if isinstance(v, bytes) else v.encode("utf-8", "surrogatepass"))
)
@example(raw=b"[" * 100_000)
def test_the_faststream_format_hands_on_any_entry_without_raising(raw: bytes) -> None:
    data, headers = JsonEnvelopeFormat.parse(raw)
    assert data == raw
    assert headers["content-type"] == "application/json"


def _some_checkout() -> CheckoutRequestedEvent:
    return CheckoutRequestedEvent.new(
        correlation_id="co-1", producer="test",
        data=CheckoutRequested(
            checkout_id="co-1", room_id="room-1", buyer_id="buyer-1",
            items=[CheckoutItem(sku="SKU-A", quantity=1)],
        ),
    )  # fmt: skip
