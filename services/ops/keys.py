"""The stream keys livecart-ops looks at, and the short names it shows them by.

A key is `<prefix>:{<name>}`, its braces a Redis Cluster hash tag, and a dead-letter
stream is `<key>.dlq`; ops show `checkout.requested.2` for `livecart:{checkout.requested.2}`
and `order.status.dlq` for `livecart:{order.status}.dlq`. Checkouts are split over the
configured partitions, but ops also look for partitions Redis still holds from another
setting (a lowered `LIVECART_CHECKOUT_PARTITIONS` leaves entries nobody reads).
"""

import re

from redis.asyncio import Redis

from contracts import Streams
from services.ops.entries import text

CHECKOUTS = "checkout.requested"
STREAM_NAMES = (
    CHECKOUTS,
    "order.status",
    "catalog.changed",
    "room.sales",
    "flash_deal.requested",
    "order.cancellation_requested",
    "room.changed",
)
"""The streams livecart uses, by short name; `checkout.requested` stands for every partition."""

SCAN_COUNT = 1000


def stream_keys(streams: Streams) -> list[tuple[str, str]]:
    """(short name, key) of every stream livecart uses: each checkout partition, in
    partition order, then the others."""
    others = (
        streams.order_status,
        streams.catalog_changed,
        streams.room_sales,
        *streams.live_requests,
        streams.room_changed,
    )
    return [(streams.short_name(key), key) for key in (*streams.checkout_streams, *others)]


def grouped_streams(streams: Streams) -> list[str]:
    """The streams a consumer group reads (group `orders`): the only ones whose consumers
    dead-letter what keeps failing. The others are read without a group (XREAD)."""
    return [*streams.checkout_streams, *streams.live_requests]


_PARTITION = re.compile(r"\{checkout\.requested(?:\.(\d+))?\}")


def partition_of(streams: Streams, key: str) -> int | None:
    """The partition number of a checkout stream's key (-1 for the single, unnumbered
    one), None when `key` is not a checkout stream of the prefix (a DLQ is not one)."""
    found = _PARTITION.fullmatch(key.removeprefix(f"{streams.prefix}:"))
    if not key.startswith(f"{streams.prefix}:") or found is None:
        return None
    return int(found[1]) if found[1] is not None else -1


def by_partition(streams: Streams, keys: set[str]) -> list[str]:
    """Checkout stream keys in partition order (the unnumbered one first)."""
    return sorted(keys, key=lambda key: (partition_of(streams, key) or 0, key))


async def checkout_streams_in(client: Redis, streams: Streams) -> list[str]:
    """Every configured checkout partition, in order, then any other partition Redis holds
    (found with SCAN: on a Redis Cluster, of every primary)."""
    found = {
        text(key)
        async for key in client.scan_iter(
            match=streams.checkout_pattern, count=SCAN_COUNT, _type="stream"
        )
    }
    configured = streams.checkout_streams
    extra = {key for key in found if partition_of(streams, key) is not None} - set(configured)
    return [*configured, *by_partition(streams, extra)]
