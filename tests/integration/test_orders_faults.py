"""The orders service under bad input, handler failures, unpaid holds and relay crashes,
on a redis-server of the test's own (AOF) and a real database."""

import random
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from contracts import (
    CheckoutRequestedEvent,
    OrderStatus,
    OrderStatusChanged,
    OrderStatusChangedEvent,
    encode_entry,
)
from infra.local.redis_server import RedisServer
from services.common.streams.dead_letters import list_dead_letters, replay_dead_letters
from services.orders.adapters.outbox import OutboxRelay
from services.orders.adapters.payments import WalletBehaviour
from services.orders.adapters.tables import OrderRow
from services.orders.entrypoints.app import OrdersRuntime
from tests.conftest import Database
from tests.support.flow import checkout, eventually, final_statuses, statuses_by_checkout
from tests.support.hostile import hostile_entries
from tests.support.orders import (
    break_payments,
    count,
    orders_settings,
    product,
    running_orders,
)

pytestmark = pytest.mark.slow


@pytest.fixture
async def redis(private_redis: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(private_redis.url)
    yield client
    await client.aclose()


def hostile_sample(size: int) -> list[dict[str, bytes]]:
    """`size` entries drawn by hypothesis from every kind of hostile input."""
    drawn: list[dict[str, bytes]] = []

    @settings(max_examples=size // 10, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(st.lists(hostile_entries, min_size=10, max_size=10))
    def draw(entries: list[dict[str, bytes]]) -> None:
        drawn.extend(entries)

    draw()
    return (drawn * 2)[:size]


def entry_of(item: Any) -> dict[str, str]:
    return encode_entry(
        CheckoutRequestedEvent.new(correlation_id=item.checkout_id, producer="t", data=item)
    )


async def test_hostile_entries_are_dead_lettered_and_every_good_one_is_processed(
    private_redis: RedisServer, redis: Redis, sqlite_database: Database, stream_prefix: str
) -> None:
    hostile = hostile_sample(500)
    good = [checkout(items=[("SKU-A", 1)]) for _ in range(500)]
    entries: list[dict[str, Any]] = [*hostile, *(entry_of(g) for g in good)]
    random.Random(7).shuffle(entries)
    # A claim idle well above the slowest batch, as in production: nothing is redelivered.
    settings_ = orders_settings(
        sqlite_database, private_redis.url, stream_prefix, claim_idle_ms=10_000
    )

    async with running_orders(settings_, {"SKU-A": 10_000}) as orders:
        stream = orders.settings.streams.checkout_requested
        pipe = redis.pipeline(transaction=False)
        for fields in entries:
            pipe.xadd(stream, fields)  # type: ignore[arg-type]
        await pipe.execute()

        try:  # within the test's timeout, so a stall fails with what the group holds
            found = await final_statuses(redis, orders.settings.streams.order_status,
                                         [g.checkout_id for g in good], timeout=60)  # fmt: skip
            letters = await eventually(lambda: list_dead_letters(redis, stream),
                                       until=lambda d: len(d) >= 500, timeout=20)  # fmt: skip
        except AssertionError as exc:
            groups = await redis.xinfo_groups(stream)
            subscribers = [sub for group in orders.groups for sub in group.subscribers]
            running = [(sub.stream_sub.consumer, sub.running) for sub in subscribers]
            raise AssertionError(f"{exc}; groups {groups}; subscribers {running}") from None
        pending = await redis.xpending(stream, "orders")
        assert [g.restarts for g in orders.groups] == [0]
        assert all(sub.running for sub in orders.broker.subscribers)

    assert Counter(
        s[-1].status for s in found.values() if s[-1].checkout_id in {g.checkout_id for g in good}
    ) == {OrderStatus.CONFIRMED: 500}
    assert len(letters) == 500
    assert all(
        letter.reason in {"invalid_json", "invalid_event", "too_large"} for letter in letters
    )
    assert all(letter.deliveries == 1 for letter in letters)  # bad input: no retries
    assert pending["pending"] == 0


async def test_a_dead_letter_replayed_after_the_fix_yields_the_order_once(
    private_redis: RedisServer, redis: Redis, sqlite_database: Database, stream_prefix: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    settings_ = orders_settings(sqlite_database, private_redis.url, stream_prefix, max_deliveries=3)
    item = checkout(items=[("SKU-A", 2)])
    async with running_orders(settings_, {"SKU-A": 10}) as orders:
        stream = orders.settings.streams.checkout_requested
        fix_payments = break_payments(monkeypatch, orders.gateway)
        await redis.xadd(stream, entry_of(item))  # type: ignore[arg-type]
        (letter,) = await eventually(lambda: list_dead_letters(redis, stream),
                                     until=lambda d: len(d) == 1, timeout=20)  # fmt: skip
        assert (letter.reason, letter.deliveries) == ("handler_error", 3)

        fix_payments()  # the fix is deployed
        fields = dict(letter.fields)
        assert await replay_dead_letters(redis, stream, reason="handler_error")
        await redis.xadd(stream, fields)  # type: ignore[arg-type]  # replayed a second time by mistake
        found = await final_statuses(
            redis, orders.settings.streams.order_status, [item.checkout_id]
        )

        assert [s.status.value for s in found[item.checkout_id]] == [
            "received", "reserved", "paid", "confirmed",
        ]  # fmt: skip
        assert await count(orders, OrderRow) == 1
        assert (await product(orders, "SKU-A")).sold == 2
        assert await list_dead_letters(redis, stream) == []


async def test_an_unpaid_reservation_expires_and_releases_its_stock(
    private_redis: RedisServer, redis: Redis, database: Database, stream_prefix: str
) -> None:
    # The gateway hangs longer than the hold: the orders service itself expires the hold.
    settings_ = orders_settings(database, private_redis.url, stream_prefix,
                                hold_seconds=0.5, payment_timeout_seconds=3.0)  # fmt: skip
    item = checkout(items=[("SKU-A", 4)])
    async with running_orders(settings_, {"SKU-A": 10}) as orders:
        await orders.gateway.set_wallet(item.buyer_id, behaviour=WalletBehaviour.TIMEOUT)
        await redis.xadd(orders.settings.streams.checkout_requested, entry_of(item))  # type: ignore[arg-type]
        found = await final_statuses(
            redis, orders.settings.streams.order_status, [item.checkout_id]
        )
        stock = await product(orders, "SKU-A")

    assert [s.status.value for s in found[item.checkout_id]] == ["received", "reserved", "expired"]
    assert (stock.available, stock.reserved, stock.sold) == (10, 0, 0)


async def test_a_relay_crash_after_xadd_resends_with_the_same_event_ids_and_readers_dedupe(
    private_redis: RedisServer, redis: Redis, sqlite_database: Database, stream_prefix: str
) -> None:
    settings_ = orders_settings(sqlite_database, private_redis.url, stream_prefix)
    async with running_orders(settings_, {"SKU-A": 100}) as orders:
        items = [checkout(items=[("SKU-A", 1)]) for _ in range(30)]
        orders.broker.subscribers[0]  # the running service relays these normally
        await _stage_statuses_while_relay_is_down(orders, redis, items)

    status_stream = settings_.streams.order_status
    raw = await redis.xrange(status_stream)
    ids = Counter(
        OrderStatusChangedEvent.model_validate_json(f[b"__data__"]).event_id for _, f in raw
    )
    assert max(ids.values()) == 2  # the crashed batch went out twice, with the same ids
    deduped = await statuses_by_checkout(redis, status_stream)
    assert all(_in_order(s) for s in deduped.values())
    assert sum(len(s) for s in deduped.values()) == len(ids)


async def _stage_statuses_while_relay_is_down(
    orders: OrdersRuntime, redis: Redis, items: list[Any]
) -> None:
    """Process checkouts with a relay that crashes once between XADD and marking sent."""
    assert orders.relay is not None

    async def sends_nothing() -> int:
        return 0

    # The service's own relay task would otherwise send the rows first (it polls every
    # 0.1 s here), and the crash this test is about would not happen.
    orders.relay.publish_pending = sends_nothing  # type: ignore[method-assign]
    crashing = _CrashOnce(redis)
    relay = OutboxRelay(orders.engine, crashing, batch_size=25, idle_seconds=0.05)  # type: ignore[arg-type]
    orders.relay = relay  # woken by every checkout; the test drives it by hand
    for item in items:
        await orders.on_checkout(
            CheckoutRequestedEvent.new(correlation_id=item.checkout_id, producer="t", data=item)
        )
    with pytest.raises(RuntimeError, match="crash"):
        await relay.publish_pending()
    while await relay.publish_pending():
        pass


class _CrashOnce:
    """A Redis client whose first pipeline executes its XADDs, then 'crashes'."""

    def __init__(self, redis: Redis) -> None:
        self.redis, self.crashed = redis, False

    def pipeline(self, transaction: bool = False) -> Any:
        pipe = self.redis.pipeline(transaction=transaction)
        if not self.crashed:
            self.crashed = True
            execute = pipe.execute

            async def execute_then_crash(*args: Any, **kwargs: Any) -> Any:
                await execute(*args, **kwargs)
                raise RuntimeError("crash between XADD and marking sent")

            pipe.execute = execute_then_crash  # type: ignore[method-assign]
        return pipe


def _in_order(statuses: list[OrderStatusChanged]) -> bool:
    return [s.sequence for s in statuses] == list(range(1, len(statuses) + 1))
