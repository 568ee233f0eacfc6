"""Helpers to drive the checkout flow over real Redis streams and wait for its outcome."""

import asyncio
import time
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from redis.asyncio import Redis

from contracts import (
    CheckoutItem,
    CheckoutRequested,
    CheckoutRequestedEvent,
    OrderStatusChanged,
    OrderStatusChangedEvent,
    Streams,
    decode_entry,
    encode_entry,
)

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]],
    *,
    until: Callable[[T], bool],
    timeout: float = 20.0,
    interval: float = 0.05,
) -> T:
    """Poll `probe` until `until(result)` holds; fail with the last result at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if until(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {result!r}")
        await asyncio.sleep(interval)


def checkout(
    *,
    buyer_id: str | None = None,
    items: Iterable[tuple[str, int]] = (("SKU-A", 1),),
    room_id: str = "room-1",
    checkout_id: str | None = None,
) -> CheckoutRequested:
    return CheckoutRequested(
        checkout_id=checkout_id or f"co-{uuid.uuid4().hex[:16]}",
        room_id=room_id,
        buyer_id=buyer_id or f"buyer-{uuid.uuid4().hex[:8]}",
        items=[CheckoutItem(sku=sku, quantity=qty) for sku, qty in items],
    )


async def publish_checkouts(
    client: "Redis[Any]", stream: str | Streams, checkouts: Iterable[CheckoutRequested]
) -> None:
    """XADD each checkout as the storefront would (the language-neutral wire format), to
    `stream`, or with `Streams` to each checkout's partition."""
    pipe = client.pipeline(transaction=False)
    for item in checkouts:
        event = CheckoutRequestedEvent.new(
            correlation_id=item.checkout_id, producer="test", data=item
        )
        key = (
            stream
            if isinstance(stream, str)
            else stream.checkout_stream_for(i.sku for i in item.items)
        )
        pipe.xadd(key, encode_entry(event))  # type: ignore[arg-type]
    await pipe.execute()


async def statuses_by_checkout(
    client: "Redis[Any]", stream: str
) -> dict[str, list[OrderStatusChanged]]:
    """Every status in `stream`, grouped by checkout, duplicates (same event id) dropped."""
    return await StatusTally(client, stream).read_new()


class StatusTally:
    """The statuses of a stream grouped by checkout, read incrementally: each `read_new`
    decodes only the entries added since the last, so polling a long stream stays cheap
    (the tests poll in the same event loop as the services they watch)."""

    def __init__(self, client: "Redis[Any]", stream: str) -> None:
        self.client, self.stream = client, stream
        self.seen: set[str] = set()
        self.found: dict[str, list[OrderStatusChanged]] = defaultdict(list)
        self.last_id = "-"

    async def read_new(self) -> dict[str, list[OrderStatusChanged]]:
        while entries := await self.client.xrange(self.stream, min=self.last_id, count=5000):
            for _, fields in entries:
                event = decode_entry(fields, OrderStatusChangedEvent)
                if event.event_id not in self.seen:
                    self.seen.add(event.event_id)
                    self.found[event.data.checkout_id].append(event.data)
            last = entries[-1][0]
            self.last_id = "(" + (last.decode() if isinstance(last, bytes) else last)
        return self.found


async def final_statuses(
    client: "Redis[Any]", stream: str, checkout_ids: Iterable[str], *, timeout: float = 30.0
) -> dict[str, list[OrderStatusChanged]]:
    """Wait until every checkout in `checkout_ids` has a final status; return all statuses."""
    wanted = set(checkout_ids)
    tally = StatusTally(client, stream)

    def missing(found: dict[str, list[OrderStatusChanged]]) -> list[str]:
        return sorted(cid for cid in wanted if not (found.get(cid) and found[cid][-1].is_final))

    try:
        return await eventually(tally.read_new, until=lambda f: not missing(f), timeout=timeout)
    except AssertionError:
        left = missing(tally.found)
        raise AssertionError(
            f"{len(left)} of {len(wanted)} checkouts have no final status on {stream} after "
            f"{timeout}s (e.g. {left[:3]}; {sum(map(len, tally.found.values()))} statuses read)"
        ) from None
