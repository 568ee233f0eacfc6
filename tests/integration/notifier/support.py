"""Helpers of the notifier's integration tests (this module holds no tests): settings and
tokens, a relay that writes statuses as the orders outbox relay does, and notifiers
served by a real uvicorn so that streams are live and disconnects are real."""

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
import uvicorn
from fastapi import FastAPI
from httpx_sse import EventSource, ServerSentEvent

from contracts import (
    CheckoutItem,
    OrderStatus,
    OrderStatusChanged,
    OrderStatusChangedEvent,
    RoomChanged,
    RoomChangedEvent,
    Streams,
    encode_entry,
    utc_now,
)
from services.common.tokens import BuyerTokens
from services.notifier.config import NotifierSettings
from services.notifier.entrypoints.app import create_app

SECRET = "notifier-integration-tests-secret-0123456789"
TOKENS = BuyerTokens(SECRET)
DEADLINE = 10.0
POLL_SECONDS = 0.01
HAPPY_PATH = (OrderStatus.RECEIVED, OrderStatus.RESERVED, OrderStatus.PAID, OrderStatus.CONFIRMED)
Redis = aioredis.Redis


def notifier_settings(redis_url: str, prefix: str, **overrides: object) -> NotifierSettings:
    values: dict[str, object] = {
        "redis_url": redis_url, "stream_prefix": prefix, "token_secret": SECRET,
        "heartbeat_seconds": 0.1, "rate_limit_connects_per_address": "off", **overrides,
    }  # fmt: skip
    return NotifierSettings.model_validate(values)


def bearer(buyer_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS.issue(buyer_id)}"}


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def order_status(
    checkout_id: str,
    state: OrderStatus,
    *,
    buyer_id: str,
    room_id: str = "room-1",
    items: tuple[CheckoutItem, ...] = (CheckoutItem(sku="mug", quantity=1),),
) -> OrderStatusChanged:
    step = HAPPY_PATH.index(state) if state in HAPPY_PATH else 1
    return OrderStatusChanged(
        checkout_id=checkout_id, order_id=f"order-{checkout_id}", buyer_id=buyer_id,
        room_id=room_id, status=state, previous_status=HAPPY_PATH[step - 1] if step else None,
        sequence=step + 1, total_minor=2599, currency="EUR", items=list(items),
        requested_at=utc_now(),
    )  # fmt: skip


@dataclass
class Relay:
    """Writes statuses as the outbox relay does: XADD to `order.status`, then to the
    buyer's capped stream (MAXLEN ~200, 24 h TTL), in one pipeline."""

    redis: Redis
    streams: Streams

    async def publish(
        self, status: OrderStatusChanged, *, event: OrderStatusChangedEvent | None = None
    ) -> str:
        """Publish `status` (or `event`, to send one twice); its id in the buyer's stream."""
        event = event or OrderStatusChangedEvent.new(
            correlation_id=status.checkout_id, producer="orders", data=status
        )
        fields: dict[Any, Any] = encode_entry(event)
        history = self.streams.buyer_status(event.data.buyer_id)
        pipe = self.redis.pipeline(transaction=False)
        pipe.xadd(self.streams.order_status, fields)
        pipe.xadd(history, fields, maxlen=200, approximate=True)
        pipe.expire(history, 86_400)
        _, entry_id, _ = await pipe.execute()
        return str(entry_id.decode())

    async def happy_path(
        self, checkout_id: str, buyer_id: str, *, room_id: str = "room-1"
    ) -> list[str]:
        return [
            await self.publish(order_status(checkout_id, state, buyer_id=buyer_id, room_id=room_id))
            for state in HAPPY_PATH
        ]


TEST_ROOMS = ("r1", "r2", "r3", "room-1")
"""The rooms these tests open streams of: announced as the storefront announces a room."""


async def announce_rooms(redis: Redis, streams: Streams, *room_ids: str) -> None:
    """Announce `room_ids` on `room.changed` (live, nothing pinned), as the storefront does
    for a room it creates or finds at start: the notifier streams announced rooms only."""
    for room_id in room_ids:
        event = RoomChangedEvent.new(
            correlation_id=room_id,
            producer="storefront",
            data=RoomChanged(room_id=room_id, state="live"),
        )
        fields: dict[Any, Any] = encode_entry(event)
        await redis.xadd(streams.room_changed, fields)


@dataclass
class Notifier:
    app: FastAPI
    client: httpx.AsyncClient
    server: uvicorn.Server
    task: "asyncio.Task[None]"


@dataclass
class Notifiers:
    """Notifier apps under uvicorn on free ports; `close()` stops whatever is still running."""

    running: list[Notifier] = field(default_factory=list)

    async def start(self, settings: NotifierSettings) -> Notifier:
        app = create_app(settings)
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", lifespan="on",
            timeout_graceful_shutdown=2,
        )  # fmt: skip
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        await wait_until(lambda: server.started or task.done(), "uvicorn started")
        port = server.servers[0].sockets[0].getsockname()[1]
        notifier = Notifier(
            app, httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}"), server, task
        )
        self.running.append(notifier)
        return notifier

    async def stop(self, notifier: Notifier) -> None:
        self.running.remove(notifier)
        await notifier.client.aclose()
        notifier.server.should_exit = True
        async with asyncio.timeout(DEADLINE):
            await notifier.task

    async def close(self) -> None:
        for notifier in list(self.running):
            await self.stop(notifier)


async def wait_until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(int(DEADLINE / POLL_SECONDS)):
        if condition():
            return
        await asyncio.sleep(POLL_SECONDS)
    pytest.fail(f"not within {DEADLINE}s: {what}")


async def browser_events(source: EventSource) -> AsyncIterator[ServerSentEvent]:
    """The events a browser would dispatch. httpx-sse also turns a heartbeat after an
    event with an id into an event without data; browsers ignore those, and so do we."""
    async for event in source.aiter_sse():
        if event.data:
            yield event


async def take(events: AsyncIterator[ServerSentEvent], n: int) -> list[ServerSentEvent]:
    """The next `n` events of a stream, within the deadline."""
    async with asyncio.timeout(DEADLINE):
        return [await anext(events) for _ in range(n)]
