"""The shared consumer group (services/common/streams/consumer.py) on a real Redis with AOF:
retry cap, dead letters, reclaim from a dead consumer, upkeep."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest
from faststream.redis import RedisBroker
from redis.asyncio import Redis

from contracts import CheckoutRequestedEvent, Streams, encode_entry
from infra.local.redis_server import RedisServer
from services.common.settings import ServiceSettings
from services.common.streams.broker import build_broker
from services.common.streams.consumer import GroupConsumer
from services.common.streams.dead_letters import list_dead_letters
from services.common.streams.delivery import DeliveryPolicy
from tests.support.flow import checkout, eventually

MAX_DELIVERIES = 3


@dataclass
class Recorder:
    """A handler that records what it processed and raises for poisoned buyers."""

    poisoned: set[str] = field(default_factory=set)
    processed: list[str] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)

    async def __call__(self, event: CheckoutRequestedEvent) -> None:
        cid = event.data.checkout_id
        self.attempts[cid] = self.attempts.get(cid, 0) + 1
        if event.data.buyer_id in self.poisoned:
            raise RuntimeError(f"cannot handle {cid}")
        self.processed.append(cid)


@dataclass
class Running:
    broker: RedisBroker
    group: GroupConsumer
    client: Redis
    stream: str


def make_group(stream: str, consumer: str = "", gone_ms: int = 300_000) -> GroupConsumer:
    return GroupConsumer(
        stream=stream, group="test-group", service="test",
        policy=DeliveryPolicy(max_deliveries=MAX_DELIVERIES, max_entry_bytes=4096),
        claim_idle_ms=300, block_ms=100, consumer_gone_ms=gone_ms, consumer=consumer,
        upkeep_seconds=0.2,
    )  # fmt: skip


@pytest.fixture
def start_group(
    private_redis: RedisServer, stream_prefix: str
) -> Callable[..., "contextlib.AbstractAsyncContextManager[Running]"]:
    settings = ServiceSettings(redis_url=private_redis.url, stream_prefix=stream_prefix)
    stream = Streams(stream_prefix).checkout_requested

    @contextlib.asynccontextmanager
    async def start(handler: Recorder, **group_args: int | str) -> AsyncIterator[Running]:
        broker = build_broker(settings, description="test")
        group = make_group(stream, **group_args)  # type: ignore[arg-type]

        async def handle(event: CheckoutRequestedEvent) -> None:
            await handler(event)

        group.register(broker, handle, title="t", description="t")
        client = await broker.connect()
        await group.ensure_group(client)
        await broker.start()
        upkeep = asyncio.create_task(group.run_upkeep(broker, client))
        try:
            yield Running(broker, group, client, stream)
        finally:
            upkeep.cancel()
            await broker.stop()

    return start


async def add(client: Redis, stream: str, buyer: str = "") -> str:
    item = checkout(buyer_id=buyer or None)
    await client.xadd(
        stream,
        encode_entry(
            CheckoutRequestedEvent.new(  # type: ignore[arg-type]
                correlation_id=item.checkout_id, producer="test", data=item
            )
        ),
    )
    return item.checkout_id


async def test_a_poison_entry_is_retried_up_to_the_cap_then_dead_lettered_without_blocking(
    start_group: Callable[..., "contextlib.AbstractAsyncContextManager[Running]"],
) -> None:
    handler = Recorder(poisoned={"buyer-poison"})
    async with start_group(handler) as run:
        poison = await add(run.client, run.stream, "buyer-poison")
        behind = [await add(run.client, run.stream) for _ in range(20)]

        await eventually(
            lambda: asyncio.sleep(0, handler.processed), until=lambda p: len(p) == 20, timeout=5
        )
        assert handler.processed == behind  # the poison entry held nothing up

        letters = await eventually(
            lambda: list_dead_letters(run.client, run.stream),
            until=lambda d: len(d) == 1,
            timeout=15,
        )
        pending = await run.client.xpending(run.stream, "test-group")

    assert handler.attempts[poison] == MAX_DELIVERIES
    (letter,) = letters
    assert (letter.reason, letter.deliveries, letter.stream) == (
        "handler_error",
        MAX_DELIVERIES,
        run.stream,
    )
    assert "cannot handle" in letter.error
    assert letter.consumer.startswith("test-")
    assert (
        CheckoutRequestedEvent.model_validate_json(letter.fields[b"__data__"]).data.checkout_id
        == poison
    )
    assert pending["pending"] == 0


async def test_entries_pending_on_a_dead_consumer_are_claimed_by_a_live_one(
    private_redis: RedisServer,
    start_group: Callable[..., "contextlib.AbstractAsyncContextManager[Running]"],
    stream_prefix: str,
) -> None:
    stream = Streams(stream_prefix).checkout_requested
    client = Redis.from_url(private_redis.url)
    await client.xgroup_create(stream, "test-group", id="0", mkstream=True)
    ids = [await add(client, stream) for _ in range(5)]
    # A consumer reads them and dies before acking: they stay pending on it.
    await client.xreadgroup("test-group", "dead-consumer", {stream: ">"}, count=5)
    await client.aclose()

    handler = Recorder()
    async with start_group(handler, gone_ms=1000) as run:
        await eventually(
            lambda: asyncio.sleep(0, handler.processed), until=lambda p: len(p) == 5, timeout=10
        )
        consumers = await eventually(
            lambda: run.client.xinfo_consumers(stream, "test-group"),
            until=lambda cs: all(c["name"] != b"dead-consumer" for c in cs),
            timeout=10,
        )

    assert sorted(handler.processed) == sorted(ids)
    assert {c["name"].decode() for c in consumers} <= run.group.own_consumers
    assert run.group.removed_consumers == 1


async def test_a_lost_group_is_recreated_and_consumption_goes_on(
    start_group: Callable[..., "contextlib.AbstractAsyncContextManager[Running]"],
) -> None:
    handler = Recorder()
    async with start_group(handler) as run:
        first = await add(run.client, run.stream)
        await eventually(lambda: asyncio.sleep(0, handler.processed), until=lambda p: p == [first])

        await run.client.delete(run.stream)  # what a Redis that lost its data looks like
        await eventually(
            lambda: asyncio.sleep(0, run.group.restarts), until=lambda n: n >= 1, timeout=10
        )
        second = await add(run.client, run.stream)
        await eventually(lambda: asyncio.sleep(0, handler.processed), until=lambda p: second in p)

        assert all(sub.running for sub in run.broker.subscribers)
