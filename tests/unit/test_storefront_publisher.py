"""The checkout publisher sends the checkouts of concurrent requests in one pipeline and
answers each request with its own entry's outcome. Fake pipeline, no Redis (the last
test: a silent socket, for the bounded wait)."""

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from contracts import (
    CancellationRequested,
    CancellationRequestedEvent,
    CheckoutItem,
    CheckoutRequested,
    CheckoutRequestedEvent,
    FlashDealRequested,
    FlashDealRequestedEvent,
    RoomChanged,
    RoomChangedEvent,
    Streams,
    decode_entry,
)
from services.storefront.adapters.publisher import StreamCheckoutPublisher, StreamEventPublisher
from services.storefront.service import CheckoutUnavailable, EventUnavailable

STREAMS = Streams("test")


class FakePipeline:
    def __init__(self, redis: "FakeRedis") -> None:
        self.redis = redis
        self.commands: list[str] = []

    def xadd(self, stream: str, fields: dict[str, str]) -> None:
        event = decode_entry(fields, CheckoutRequestedEvent)
        self.redis.streams[event.correlation_id] = stream
        self.commands.append(event.correlation_id)

    async def execute(self, raise_on_error: bool = True) -> list[Any]:
        self.redis.executed.append(list(self.commands))
        await asyncio.sleep(0)  # a round trip: other requests queue up meanwhile
        if self.redis.down:
            raise RedisConnectionError("connection refused")
        return [
            ResponseError("OOM") if cid in self.redis.refuse else f"{n}-0".encode()
            for n, cid in enumerate(self.commands)
        ]


class FakeRedis:
    def __init__(self) -> None:
        self.executed: list[list[str]] = []
        self.streams: dict[str, str] = {}  # checkout id → the stream it was added to
        self.refuse: set[str] = set()
        self.down = False

    def pipeline(self, transaction: bool = True) -> FakePipeline:
        assert transaction is False
        return FakePipeline(self)


def publisher_with(redis: FakeRedis, streams: Streams = STREAMS) -> StreamCheckoutPublisher:
    async def client() -> FakeRedis:
        return redis

    return StreamCheckoutPublisher(streams, client=client)  # type: ignore[arg-type]


def event(n: int, sku: str = "MUG") -> CheckoutRequestedEvent:
    checkout_id = f"co-{n}"
    return CheckoutRequestedEvent.new(
        correlation_id=checkout_id,
        producer="storefront",
        data=CheckoutRequested(
            checkout_id=checkout_id,
            room_id="demo",
            buyer_id="buyer-a",
            items=[CheckoutItem(sku=sku, quantity=1)],
        ),
    )


async def test_checkouts_arriving_together_share_one_round_trip() -> None:
    redis = FakeRedis()
    publisher = publisher_with(redis)

    await asyncio.gather(*(publisher.publish(event(n)) for n in range(50)))

    assert redis.executed == [[f"co-{n}" for n in range(50)]]


async def test_checkouts_arriving_during_a_round_trip_go_in_the_next_one() -> None:
    redis = FakeRedis()
    publisher = publisher_with(redis)

    first = asyncio.create_task(publisher.publish(event(0)))
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # the first pipeline is in flight now
    await asyncio.gather(first, *(publisher.publish(event(n)) for n in (1, 2)))

    assert redis.executed == [["co-0"], ["co-1", "co-2"]]


async def test_an_entry_redis_refuses_fails_only_its_own_checkout() -> None:
    redis = FakeRedis()
    redis.refuse.add("co-1")
    publisher = publisher_with(redis)

    outcomes = await asyncio.gather(
        *(publisher.publish(event(n)) for n in range(3)), return_exceptions=True
    )

    assert outcomes[0] is None
    assert outcomes[2] is None
    assert isinstance(outcomes[1], CheckoutUnavailable)


async def test_an_unreachable_redis_makes_every_waiting_checkout_unavailable() -> None:
    redis = FakeRedis()
    redis.down = True
    publisher = publisher_with(redis)

    outcomes = await asyncio.gather(
        *(publisher.publish(event(n)) for n in range(3)), return_exceptions=True
    )

    assert all(isinstance(outcome, CheckoutUnavailable) for outcome in outcomes)
    redis.down = False
    await publisher.publish(event(3))  # and it recovers with the next checkout


async def test_a_buyer_who_gives_up_does_not_disturb_the_others() -> None:
    redis = FakeRedis()
    publisher = publisher_with(redis)

    gone = asyncio.create_task(publisher.publish(event(0)))
    staying = asyncio.create_task(publisher.publish(event(1)))
    await asyncio.sleep(0)
    gone.cancel()

    await staying
    with pytest.raises(asyncio.CancelledError):
        await gone


async def test_each_checkout_goes_to_its_products_partition_in_the_same_round_trip() -> None:
    redis = FakeRedis()
    streams = Streams("test", checkout_partitions=4)
    publisher = publisher_with(redis, streams)
    skus = [f"SKU-{n}" for n in range(40)]

    await asyncio.gather(*(publisher.publish(event(n, sku)) for n, sku in enumerate(skus)))

    assert len(redis.executed) == 1
    assert [redis.streams[f"co-{n}"] for n in range(40)] == [
        streams.checkout_stream_for([sku]) for sku in skus
    ]
    assert set(redis.streams.values()) == set(streams.checkout_streams)  # 40 skus hit all 4


class FakeStreams:
    def __init__(self, *, down: bool = False) -> None:
        self.down = down
        self.added: list[tuple[str, int | None]] = []

    async def xadd(
        self, stream: str, fields: dict[str, str], maxlen: int | None, approximate: bool
    ) -> bytes:
        if self.down:
            raise RedisConnectionError("connection refused")
        self.added.append((stream, maxlen))
        return b"1-0"


def event_publisher(redis: FakeStreams) -> StreamEventPublisher:
    async def client() -> FakeStreams:
        return redis

    return StreamEventPublisher(STREAMS, client=client)  # type: ignore[arg-type]


async def test_each_live_room_event_goes_to_its_own_stream_and_only_room_changed_is_trimmed() -> (
    None
):
    redis = FakeStreams()
    publisher = event_publisher(redis)
    starts = datetime(2026, 12, 4, tzinfo=UTC)

    await publisher.publish(
        RoomChangedEvent.new(
            correlation_id="r", producer="t", data=RoomChanged(room_id="r", state="live")
        )
    )
    await publisher.publish(
        FlashDealRequestedEvent.new(
            correlation_id="d",
            producer="t",
            data=FlashDealRequested(
                deal_id="d",
                seller_id="s",
                room_id="r",
                sku="MUG",
                price_minor=1,
                units_cap=1,
                per_buyer_limit=1,
                starts_at=starts,
            ),
        )
    )
    await publisher.publish(
        CancellationRequestedEvent.new(
            correlation_id="c",
            producer="t",
            data=CancellationRequested(checkout_id="c", buyer_id="b"),
        )
    )

    assert redis.added == [
        (STREAMS.room_changed, StreamEventPublisher.ROOM_CHANGED_MAXLEN),
        (STREAMS.flash_deals, None),
        (STREAMS.cancellations, None),
    ]


async def test_a_live_room_event_redis_does_not_take_is_reported_unavailable() -> None:
    publisher = event_publisher(FakeStreams(down=True))
    event = RoomChangedEvent.new(
        correlation_id="r", producer="t", data=RoomChanged(room_id="r", state="ended")
    )
    with pytest.raises(EventUnavailable):
        await publisher.publish(event)


async def test_a_redis_that_never_answers_makes_the_checkout_unavailable_within_its_wait() -> None:
    """A real socket that accepts and stays silent (a hung Redis): redis-py would wait its
    10 s socket timeout and retry; the checkout's wait ends it in `wait_seconds`, and the
    checkouts queued behind that round trip get the same bounded answer."""

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never answers; returns when the client hangs up
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = Redis(host="127.0.0.1", port=port, socket_timeout=10)

    async def connect() -> Redis:
        return client

    publisher = StreamCheckoutPublisher(STREAMS, client=connect, wait_seconds=0.3)
    started = asyncio.get_running_loop().time()
    try:
        outcomes = await asyncio.gather(
            *(publisher.publish(event(n)) for n in range(3)), return_exceptions=True
        )
    finally:
        await client.aclose()
        server.close()
    waited = asyncio.get_running_loop().time() - started

    assert [type(o) for o in outcomes] == [CheckoutUnavailable] * 3
    assert "within 0.3s" in str(outcomes[0])
    assert waited < 2.0
