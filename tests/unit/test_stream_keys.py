"""Stream keys (contracts/streams.py): Redis Cluster hash tags and checkout partitions."""

import fnmatch

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from contracts import MAX_CHECKOUT_PARTITIONS, Streams, checkout_partition
from services.orders.config import OrdersSettings

skus = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", min_size=1, max_size=40)


def hash_tag(key: str) -> str:
    """The part of `key` Redis Cluster hashes (its first non-empty `{...}`)."""
    start = key.index("{")
    return key[start + 1 : key.index("}", start)]


def test_every_stream_shares_its_slot_with_its_dead_letters_and_no_other_stream() -> None:
    streams = Streams("shop", checkout_partitions=4)
    keys = [
        *streams.checkout_streams,
        streams.order_status,
        streams.catalog_changed,
        streams.room_sales,
        streams.buyer_status("buyer-1"),
    ]

    assert all(key.startswith("shop:{") for key in keys)  # the prefix stays outside the tag
    assert all(hash_tag(Streams.dead_letters(key)) == hash_tag(key) for key in keys)
    assert len({hash_tag(key) for key in keys}) == len(keys)


def test_one_partition_keeps_one_checkout_stream() -> None:
    streams = Streams("shop")

    assert streams.checkout_streams == ("shop:{checkout.requested}",)
    assert streams.checkout_requested == "shop:{checkout.requested}"
    assert streams.checkout_stream_for(["ANY"]) == streams.checkout_requested


def test_checkout_partitions_are_spelt_once_when_streams_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    streams, same = Streams("shop", checkout_partitions=3), Streams("shop", checkout_partitions=3)

    def no_key_spelling(self: Streams, name: str) -> str:
        raise AssertionError(f"a checkout key was spelt again: {name}")

    monkeypatch.setattr(Streams, "_key", no_key_spelling)

    assert streams.checkout_streams == (
        "shop:{checkout.requested.0}",
        "shop:{checkout.requested.1}",
        "shop:{checkout.requested.2}",
    )
    assert streams.checkout_streams is streams.checkout_streams  # one tuple, not a new one
    stream = streams.checkout_stream_for(["SKU-1", "SKU-2"])
    assert stream is streams.checkout_streams[checkout_partition(["SKU-1"], 3)]
    assert same == streams  # the cache takes no part in == nor in hash()
    assert hash(same) == hash(streams)


def test_the_single_stream_accessor_refuses_when_checkouts_are_partitioned() -> None:
    with pytest.raises(ValueError, match="checkout_stream_for"):
        _ = Streams("shop", checkout_partitions=3).checkout_requested


@pytest.mark.parametrize("partitions", [0, MAX_CHECKOUT_PARTITIONS + 1])
def test_partition_counts_out_of_range_are_refused(partitions: int) -> None:
    with pytest.raises(ValueError, match="checkout_partitions"):
        Streams("shop", checkout_partitions=partitions)
    with pytest.raises(ValidationError):
        OrdersSettings(checkout_partitions=partitions)


def test_the_partition_function_is_crc32_of_the_smallest_sku() -> None:
    # CRC-32/ISO-HDLC's published check value: what any other language's crc32 gives.
    check = 0xCBF43926  # CRC-32 of "123456789"
    assert checkout_partition(["123456789"], 1000) == check % 1000
    assert checkout_partition(["A", "123456789"], 1000) == check % 1000  # "1" < "A"


@given(st.lists(skus, min_size=1, max_size=5), st.integers(1, 64))
def test_a_products_checkouts_always_go_to_one_partition(cart: list[str], n: int) -> None:
    streams = Streams("shop", checkout_partitions=n)

    stream = streams.checkout_stream_for(cart)

    assert stream in streams.checkout_streams
    assert stream == streams.checkout_stream_for(reversed(cart))  # whatever the line order
    assert stream == streams.checkout_stream_for([min(cart)])


def test_the_checkout_pattern_matches_every_partition_and_none_of_their_dead_letters() -> None:
    streams = Streams("shop", checkout_partitions=4)
    pattern = streams.checkout_pattern
    others = [streams.order_status, streams.catalog_changed, streams.buyer_status("b")]

    assert all(fnmatch.fnmatchcase(key, pattern) for key in streams.checkout_streams)
    assert not any(
        fnmatch.fnmatchcase(Streams.dead_letters(key), pattern) for key in streams.checkout_streams
    )
    assert all(
        fnmatch.fnmatchcase(Streams.dead_letters(key), Streams.dead_letters(pattern))
        for key in streams.checkout_streams
    )
    assert not any(fnmatch.fnmatchcase(key, pattern) for key in others)


def test_settings_share_the_partition_count_and_refuse_braces_in_the_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LIVECART_CHECKOUT_PARTITIONS", "6")
    monkeypatch.setenv("LIVECART_REDIS_CLUSTER", "true")

    settings = OrdersSettings()

    assert len(settings.streams.checkout_streams) == 6
    assert settings.redis_cluster is True
    with pytest.raises(ValidationError):
        OrdersSettings(stream_prefix="{shop}")
