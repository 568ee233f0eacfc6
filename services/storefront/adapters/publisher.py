"""Publishes accepted checkouts to their `checkout.requested` partition, and the live
rooms' other events (pins and live state, flash deals, buyers' cancel requests).

The checkouts of concurrent requests go out together: one pipeline (one round trip,
one connection; on a Redis Cluster one per node) carries every XADD that queued up
while the previous one was in flight. Nothing waits to fill a batch, so a lone
checkout is sent at once; under a flash sale the storefront holds one Redis
connection instead of one per request.

Each entry is the wire format of `contracts.wire` (what FastStream's publisher with
`JsonEnvelopeFormat` writes, and what the orders group reads), XADDed to the partition
of the checkout's products. The broker's FastStream publisher only documents the
channel: FastStream's Cluster producer ignores pipelines.
"""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from contracts import (
    CheckoutRequestedEvent,
    FlashDealRequestedEvent,
    RoomChangedEvent,
    Streams,
    encode_entry,
)
from services.storefront.adapters.pipelined import PipelinedCommands
from services.storefront.service import CheckoutUnavailable, EventUnavailable, LiveEvent

logger = logging.getLogger(__name__)


class StreamCheckoutPublisher:
    """XADDs each checkout and returns only once Redis answered with its entry id; the
    checkouts of concurrent requests share one pipeline per round trip."""

    def __init__(
        self,
        streams: Streams,
        *,
        client: Callable[[], Awaitable[Redis]],
        wait_seconds: float | None = None,
    ) -> None:
        self._streams = streams
        self._commands = PipelinedCommands(client, wait_seconds=wait_seconds)

    async def publish(self, event: CheckoutRequestedEvent) -> None:
        stream = self._streams.checkout_stream_for(item.sku for item in event.data.items)
        fields: dict[Any, Any] = encode_entry(event)
        try:
            await self._commands.run(lambda pipe: pipe.xadd(stream, fields))
        except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
            # The broker already retried with backoff: Redis is down or unreachable.
            logger.warning("checkout %s not accepted: %s", event.correlation_id, exc)
            raise CheckoutUnavailable(str(exc)) from exc
        except RedisError as exc:
            # E.g. OOM or a missing ACL grant: not the buyer's fault, and still no 500.
            logger.error("checkout %s refused by Redis: %s", event.correlation_id, exc)
            raise CheckoutUnavailable(str(exc)) from exc


class StreamEventPublisher:
    """XADDs a live-room event (room.changed, flash_deal.requested,
    order.cancellation_requested) to its stream; returns once Redis answered."""

    ROOM_CHANGED_MAXLEN = 10_000
    """`room.changed` only wakes open rooms (fan-out): its old entries are of no use.
    The other two are the marketplace's to consume and are never trimmed here."""

    def __init__(self, streams: Streams, *, client: Callable[[], Awaitable[Redis]]) -> None:
        self._streams = streams
        self._client = client

    async def publish(self, event: LiveEvent) -> None:
        maxlen = None
        if isinstance(event, RoomChangedEvent):
            stream, maxlen = self._streams.room_changed, self.ROOM_CHANGED_MAXLEN
        elif isinstance(event, FlashDealRequestedEvent):
            stream = self._streams.flash_deals
        else:
            stream = self._streams.cancellations
        fields: dict[Any, Any] = encode_entry(event)
        try:
            await (await self._client()).xadd(stream, fields, maxlen=maxlen, approximate=True)
        except (RedisError, OSError) as exc:
            # The broker already retried with backoff; a refused XADD (OOM, ACL) is no better.
            logger.warning("%s %s not published: %s", event.type, event.correlation_id, exc)
            raise EventUnavailable(str(exc)) from exc
