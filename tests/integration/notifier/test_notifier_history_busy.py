"""A buyer's stream outlives a history client with no free connection (real Redis).

Under a flash sale every connection of the notifier's history pool can be busy for
longer than a read may wait for one; redis-py then raises "No connection available".
The feed reads again after a pause: the status arrives and the stream never ends.
"""

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.asyncio import BlockingConnectionPool

from contracts import EntryId, OrderStatus, Streams
from services.notifier.adapters.buyer_history import RedisBuyerHistory
from services.notifier.feed import follow_statuses
from services.notifier.hub import StatusHub
from services.notifier.metrics import HISTORY_UNAVAILABLE
from services.notifier.records import StatusRecord
from tests.integration.notifier.support import Relay, new_id, order_status

POOL_WAIT_SECONDS = 0.2
HELD_MS = 1500  # a connection held this long: several of the feed's reads time out


@pytest.fixture
async def one_connection(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A history client with a single connection, as a pool whose connections are all busy."""
    client = aioredis.Redis.from_pool(
        BlockingConnectionPool.from_url(redis_url, max_connections=1, timeout=POOL_WAIT_SECONDS)
    )
    yield client
    await client.aclose()


async def blocked_in_redis(redis: aioredis.Redis) -> None:
    """Until Redis shows a client blocked in XREAD (the holder has the connection)."""
    async with asyncio.timeout(5):
        while not any(c.get("cmd") == "xread" for c in await redis.client_list()):  # noqa: ASYNC110 - polls Redis
            await asyncio.sleep(0.01)


async def test_a_status_read_while_every_connection_is_busy_arrives_once_one_is_free(
    one_connection: aioredis.Redis, redis_client: aioredis.Redis, stream_prefix: str
) -> None:
    streams = Streams(stream_prefix)
    buyer, checkout = new_id("buyer"), new_id("checkout")
    relay = Relay(redis_client, streams)
    received = EntryId.parse(
        await relay.publish(order_status(checkout, OrderStatus.RECEIVED, buyer_id=buyer))
    )
    idle = streams.buyer_status(new_id("nobody"))
    unavailable = HISTORY_UNAVAILABLE._value.get()
    hub = StatusHub()
    with hub.listen(buyer) as bell:
        # The pool's only connection, blocked in Redis for HELD_MS.
        holder = asyncio.create_task(one_connection.xread({idle: "$"}, block=HELD_MS))
        await blocked_in_redis(redis_client)
        feed = follow_statuses(
            history=RedisBuyerHistory(one_connection, streams), bell=bell, after=None
        )
        async with asyncio.timeout(HELD_MS / 1000 + 5):
            first = await anext(feed)
        await holder
        await feed.aclose()

    assert isinstance(first, StatusRecord)
    assert (first.entry_id, first.status.status) == (received, OrderStatus.RECEIVED)
    assert HISTORY_UNAVAILABLE._value.get() - unavailable >= 2  # read again, not given up
