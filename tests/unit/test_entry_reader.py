"""The one reader of stream entries (contracts/wire.py): entry ids, the size limit, the
decoder's missing-field and size checks, and the dead-letter reason codes."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contracts import CheckoutItem, CheckoutRequested, CheckoutRequestedEvent, encode_entry
from contracts.wire import (
    MAX_ENTRY_BYTES,
    UNREADABLE,
    DeadLetterReason,
    EntryId,
    WireError,
    check_entry_size,
    decode_entry,
    entry_size,
)

parts = st.integers(0, 2**64 - 1)


def checkout() -> CheckoutRequestedEvent:
    items = [CheckoutItem(sku="LC-MUG-LIVE", quantity=1)]
    data = CheckoutRequested(checkout_id="c-1", room_id="demo", buyer_id="b-1", items=items)
    return CheckoutRequestedEvent.new(correlation_id="c-1", producer="test", data=data)


def test_the_reason_codes_on_the_wire_keep_their_spelling() -> None:
    # Ops and the dead letters already stored read these: a new spelling is a new reason.
    assert {reason.value for reason in DeadLetterReason} == {
        "missing_field", "too_large", "invalid_json", "invalid_event", "invalid_entry",
        "handler_error",
    }  # fmt: skip
    assert {str(r) for r in UNREADABLE} == {
        "missing_field",
        "too_large",
        "invalid_json",
        "invalid_event",
    }


@given(parts, parts)
def test_an_entry_id_reads_back_as_redis_spells_it_from_text_or_bytes(ms: int, seq: int) -> None:
    text = f"{ms}-{seq}"

    assert EntryId.parse(text) == EntryId.parse(text.encode()) == (ms, seq)
    assert str(EntryId.parse(text)) == text


def test_entry_ids_compare_as_numbers_not_as_text() -> None:
    assert EntryId.parse("10-0") > EntryId.parse("9-5")
    assert EntryId.parse("9-10") > EntryId.parse("9-9")
    assert sorted(map(EntryId.parse, ["2-0", "10-1", "10-0"])) == [(2, 0), (10, 0), (10, 1)]


def test_an_entry_id_tells_when_redis_added_the_entry() -> None:
    assert EntryId.parse("1700000000123-4").added_at == datetime(
        2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "text",
    [
        "",
        "17",
        "17-",
        "-0",
        "17-0-1",
        "a-0",
        "17-b",
        " 17-0",
        "\u0661\u0667-\u0660",
        "+1-0",
        "1_0-0",
    ],
)
def test_anything_but_an_entry_id_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a stream entry id"):
        EntryId.parse(text)


def test_an_entrys_size_counts_every_field_name_and_value_in_utf8_bytes() -> None:
    assert entry_size({b"__data__": b"abc", b"x": b""}) == 8 + 3 + 1
    assert entry_size({"__data__": "€"}) == entry_size({b"__data__": "€".encode()}) == 8 + 3


def test_an_entry_over_the_limit_is_too_large_and_one_at_the_limit_is_not() -> None:
    at_limit = {b"__data__": b"x" * (MAX_ENTRY_BYTES - 8)}
    check_entry_size(at_limit)

    with pytest.raises(WireError) as refused:
        check_entry_size({**at_limit, b"y": b""})
    assert refused.value.reason == "too_large"
    assert refused.value.detail == f"{MAX_ENTRY_BYTES + 1} bytes > {MAX_ENTRY_BYTES}"
    with pytest.raises(WireError, match="too_large"):
        check_entry_size({b"a": b"bc"}, limit=2)


def test_the_decoder_reads_an_entry_as_the_producer_wrote_it() -> None:
    event = checkout()
    written = encode_entry(event)
    from_redis = {k.encode(): v.encode() for k, v in written.items()}

    assert decode_entry(written, CheckoutRequestedEvent) == event
    assert decode_entry(from_redis, CheckoutRequestedEvent, max_entry_bytes=1024) == event


def test_an_entry_without_its_data_field_is_a_missing_field() -> None:
    with pytest.raises(WireError) as refused:
        decode_entry({b"data": b"{}"}, CheckoutRequestedEvent)

    assert refused.value.reason == "missing_field"


def test_with_a_limit_the_whole_entry_is_measured_before_anything_is_read() -> None:
    huge = {b"padding": b"x" * 2000}  # no `__data__` either: size comes first

    with pytest.raises(WireError) as refused:
        decode_entry(huge, CheckoutRequestedEvent, max_entry_bytes=1024)
    assert refused.value.reason == "too_large"
    with pytest.raises(WireError, match="missing_field"):
        decode_entry(huge, CheckoutRequestedEvent)  # no limit given: the field check only
