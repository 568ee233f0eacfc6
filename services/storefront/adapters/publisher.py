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

import asyncio
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
from services.storefront.service import CheckoutUnavailable, EventUnavailable, LiveEvent

logger = logging.getLogger(__name__)

Queued = tuple[CheckoutRequestedEvent, "asyncio.Future[None]"]


class StreamCheckoutPublisher:
    """XADDs each event and returns only once Redis answered with its entry id."""

    def __init__(self, streams: Streams, *, client: Callable[[], Awaitable[Redis]]) -> None:
        self._streams = streams
        self._client = client  # the broker's connection (its pool and retry policy)
        self._queue: list[Queued] = []
        self._sender: asyncio.Task[None] | None = None

    async def publish(self, event: CheckoutRequestedEvent) -> None:
        accepted: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((event, accepted))
        if self._sender is None:
            self._sender = asyncio.create_task(self._send_queued())
        await accepted

    async def _send_queued(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue, []
                try:
                    await self._send(batch)
                except BaseException as exc:
                    # A bug or a shutdown: no request may be left waiting for its answer.
                    failure = exc if isinstance(exc, Exception) else CheckoutUnavailable("stopping")
                    for _event, accepted in batch:
                        _settle(accepted, failure)
                    if not isinstance(exc, Exception):
                        raise
        finally:
            self._sender = None

    async def _send(self, batch: list[Queued]) -> None:
        queued: list[Queued] = []
        try:
            pipe = (await self._client()).pipeline(transaction=False)
            for event, accepted in batch:
                try:
                    skus = [item.sku for item in event.data.items]
                    pipe.xadd(self._streams.checkout_stream_for(skus), encode_entry(event))  # type: ignore[arg-type]
                except Exception as exc:  # not encodable: this checkout's own failure
                    _settle(accepted, exc)
                    continue
                queued.append((event, accepted))
            answers = await pipe.execute(raise_on_error=False) if queued else []
        except (RedisConnectionError, RedisTimeoutError) as exc:
            # The broker already retried with backoff: Redis is down or unreachable.
            logger.warning("%d checkouts not accepted: %s", len(batch), exc)
            for _event, accepted in batch:
                _settle(accepted, CheckoutUnavailable(str(exc)))
            return
        except RedisError as exc:
            logger.error("%d checkouts refused by Redis: %s", len(batch), exc)
            for _event, accepted in batch:
                _settle(accepted, CheckoutUnavailable(str(exc)))
            return
        for (event, accepted), answer in zip(queued, answers, strict=True):
            if isinstance(answer, Exception):
                # E.g. OOM or a missing ACL grant: not the buyer's fault, and still no 500.
                logger.error("checkout %s refused by Redis: %s", event.correlation_id, answer)
                _settle(accepted, CheckoutUnavailable(str(answer)))
            else:
                _settle(accepted, None)


def _settle(accepted: "asyncio.Future[None]", outcome: BaseException | None) -> None:
    if accepted.done():  # the request gave up (client went away)
        return
    if outcome is None:
        accepted.set_result(None)
    else:
        accepted.set_exception(outcome)


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
