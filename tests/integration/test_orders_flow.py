"""The orders service against real Redis and a real database (SQLite and PostgreSQL)."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from contracts import OrderStatus, RejectionReason, Streams
from services.orders.adapters.payments import WalletBehaviour
from services.orders.adapters.tables import OrderRow, PaymentRow
from services.orders.entrypoints.app import OrdersRuntime
from tests.conftest import Database
from tests.support.flow import checkout, final_statuses, publish_checkouts, statuses_by_checkout
from tests.support.orders import count, orders_settings, product, running_orders

HAPPY_PATH = ["received", "reserved", "paid", "confirmed"]


@pytest.fixture
async def orders(
    database: Database, redis_url: str, stream_prefix: str
) -> AsyncIterator[OrdersRuntime]:
    settings = orders_settings(database, redis_url, stream_prefix)
    async with running_orders(settings, {"SKU-A": 10, "SKU-B": 3}) as runtime:
        yield runtime


def streams_of(runtime: OrdersRuntime) -> Streams:
    return runtime.settings.streams


async def test_a_checkout_goes_received_reserved_paid_confirmed(
    orders: OrdersRuntime, redis_client: "Redis[bytes]"
) -> None:
    streams = streams_of(orders)
    item = checkout(items=[("SKU-A", 2)])
    await publish_checkouts(redis_client, streams.checkout_requested, [item])

    found = await final_statuses(redis_client, streams.order_status, [item.checkout_id])

    statuses = found[item.checkout_id]
    assert [s.status.value for s in statuses] == HAPPY_PATH
    assert [s.sequence for s in statuses] == [1, 2, 3, 4]
    assert statuses[-1].total_minor == 2000
    assert [(i.sku, i.quantity) for i in statuses[-1].items] == [("SKU-A", 2)]
    history = await statuses_by_checkout(redis_client, streams.buyer_status(item.buyer_id))
    assert history[item.checkout_id] == statuses  # the buyer's capped copy, for resuming
    assert 0 < await redis_client.ttl(streams.buyer_status(item.buyer_id)) <= 86_400
    stock = await product(orders, "SKU-A")
    assert (stock.available, stock.reserved, stock.sold) == (8, 0, 2)


async def test_out_of_stock_is_rejected_with_the_reason(
    orders: OrdersRuntime, redis_client: "Redis[bytes]"
) -> None:
    streams = streams_of(orders)
    item = checkout(items=[("SKU-B", 4)])
    await publish_checkouts(redis_client, streams.checkout_requested, [item])

    found = await final_statuses(redis_client, streams.order_status, [item.checkout_id])

    assert [s.status for s in found[item.checkout_id]] == [
        OrderStatus.RECEIVED,
        OrderStatus.REJECTED,
    ]
    assert found[item.checkout_id][-1].reason is RejectionReason.OUT_OF_STOCK
    assert (await product(orders, "SKU-B")).available == 3


async def test_a_declined_payment_is_rejected_and_releases_the_stock(
    orders: OrdersRuntime, redis_client: "Redis[bytes]"
) -> None:
    streams = streams_of(orders)
    item = checkout(items=[("SKU-A", 3)])
    await orders.gateway.set_wallet(item.buyer_id, behaviour=WalletBehaviour.DECLINE)
    await publish_checkouts(redis_client, streams.checkout_requested, [item])

    found = await final_statuses(redis_client, streams.order_status, [item.checkout_id])

    statuses = found[item.checkout_id]
    assert [s.status.value for s in statuses] == ["received", "reserved", "rejected"]
    assert (statuses[-1].reason, statuses[-1].detail) == (
        RejectionReason.PAYMENT_FAILED,
        "declined",
    )
    stock = await product(orders, "SKU-A")
    assert (stock.available, stock.reserved, stock.sold) == (10, 0, 0)


@pytest.mark.parametrize(
    ("setup", "detail"),
    [
        ({"behaviour": WalletBehaviour.TIMEOUT}, "timeout"),
        ({"balance_minor": 500}, "insufficient_funds"),
    ],
)
async def test_a_payment_that_times_out_or_lacks_funds_is_rejected(
    orders: OrdersRuntime, redis_client: "Redis[bytes]", setup: dict[str, Any], detail: str
) -> None:
    streams = streams_of(orders)
    item = checkout(items=[("SKU-A", 1)])
    await orders.gateway.set_wallet(item.buyer_id, **setup)
    await publish_checkouts(redis_client, streams.checkout_requested, [item])

    found = await final_statuses(redis_client, streams.order_status, [item.checkout_id])

    assert (found[item.checkout_id][-1].status, found[item.checkout_id][-1].detail) == (
        OrderStatus.REJECTED,
        detail,
    )
    assert (await product(orders, "SKU-A")).available == 10


async def test_an_unknown_sku_is_rejected_as_invalid(
    orders: OrdersRuntime, redis_client: "Redis[bytes]"
) -> None:
    streams = streams_of(orders)
    item = checkout(items=[("NOPE", 1)])
    await publish_checkouts(redis_client, streams.checkout_requested, [item])

    found = await final_statuses(redis_client, streams.order_status, [item.checkout_id])

    assert found[item.checkout_id][-1].reason is RejectionReason.INVALID


async def test_the_same_checkout_delivered_twice_yields_one_order(
    orders: OrdersRuntime, redis_client: "Redis[bytes]"
) -> None:
    streams = streams_of(orders)
    item = checkout(items=[("SKU-A", 1)])
    await publish_checkouts(redis_client, streams.checkout_requested, [item, item])
    marker = checkout(items=[("SKU-B", 1)])  # processed after both copies: the stream is ordered
    await publish_checkouts(redis_client, streams.checkout_requested, [marker])

    found = await final_statuses(
        redis_client, streams.order_status, [item.checkout_id, marker.checkout_id]
    )

    assert [s.status.value for s in found[item.checkout_id]] == HAPPY_PATH
    assert await count(orders, OrderRow) == 2
    assert await count(orders, PaymentRow) == 2
    assert (await product(orders, "SKU-A")).sold == 1


async def test_fifty_concurrent_checkouts_for_ten_units_confirm_exactly_ten(
    database: Database, redis_url: str, stream_prefix: str, redis_client: "Redis[bytes]"
) -> None:
    settings = orders_settings(database, redis_url, stream_prefix)
    items = [checkout(items=[("HOT", 1)]) for _ in range(50)]
    # Two consumers in the `orders` group race for the same ten units.
    async with (
        running_orders(settings, {"HOT": 10}) as first,
        running_orders(settings, {"HOT": 10}) as second,
    ):
        await asyncio.gather(
            *(
                publish_checkouts(redis_client, settings.streams.checkout_requested, [i])
                for i in items
            )
        )
        found = await final_statuses(
            redis_client, settings.streams.order_status, [i.checkout_id for i in items]
        )
        finals = Counter(
            (s[-1].status.value, s[-1].reason.value if s[-1].reason else None)
            for s in found.values()
        )
        assert finals == {("confirmed", None): 10, ("rejected", "out_of_stock"): 40}
        stock = await product(first, "HOT")
        assert (stock.available, stock.reserved, stock.sold) == (0, 0, 10)
        assert await count(second, OrderRow) == 50
