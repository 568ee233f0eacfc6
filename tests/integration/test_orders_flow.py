"""The orders service against real Redis and a real database (SQLite and PostgreSQL)."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from contracts import CheckoutRequestedEvent, OrderStatus, RejectionReason, Streams
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


async def test_one_batch_gives_every_checkout_its_own_exact_outcome(
    orders: OrdersRuntime, redis_client: "Redis[bytes]"
) -> None:
    """All of this arrives in one read of the group: one set of statements, each checkout
    still ends as it would alone (stock in arrival order, all lines or none)."""
    streams = streams_of(orders)
    placed = checkout(items=[("SKU-A", 1)])
    await publish_checkouts(redis_client, streams.checkout_requested, [placed])
    await final_statuses(redis_client, streams.order_status, [placed.checkout_id])
    twice = checkout(items=[("SKU-A", 1)])
    poor = checkout(items=[("SKU-A", 1)])
    poor_again = checkout(buyer_id=poor.buyer_id, items=[("SKU-A", 1)])
    declines = checkout(items=[("SKU-A", 1)])
    hangs = checkout(items=[("SKU-A", 1)])
    batch = [
        placed,  # delivered again: resumes, no second order
        twice,
        twice,  # the same checkout twice in one batch
        checkout(items=[("SKU-B", 2)]),
        checkout(items=[("SKU-A", 1), ("SKU-B", 2)]),  # B runs out: takes no A either
        checkout(items=[("SKU-B", 1)]),  # smaller, later: still fits
        checkout(items=[("NOPE", 1)]),
        poor,
        poor_again,  # the wallet pays for one of the two
        declines,
        hangs,
    ]
    await orders.gateway.set_wallet(poor.buyer_id, balance_minor=1500)
    await orders.gateway.set_wallet(declines.buyer_id, behaviour=WalletBehaviour.DECLINE)
    await orders.gateway.set_wallet(hangs.buyer_id, behaviour=WalletBehaviour.TIMEOUT)
    events = [CheckoutRequestedEvent.new(correlation_id=c.checkout_id, producer="test", data=c)
              for c in batch]  # fmt: skip

    await orders.on_checkouts(events)
    outcome = await final_statuses(
        redis_client, streams.order_status, [c.checkout_id for c in batch]
    )

    final = {c.checkout_id: outcome[c.checkout_id][-1] for c in batch}
    summary = [(final[c.checkout_id].status.value, final[c.checkout_id].detail) for c in batch]
    assert summary == [
        ("confirmed", None),
        ("confirmed", None),
        ("confirmed", None),
        ("confirmed", None),
        ("rejected", None),
        ("confirmed", None),
        ("rejected", "unknown sku NOPE"),
        ("confirmed", None),
        ("rejected", "insufficient_funds"),
        ("rejected", "declined"),
        ("rejected", "timeout"),
    ]
    assert final[batch[4].checkout_id].reason is RejectionReason.OUT_OF_STOCK
    for c in batch:  # every status once, in order, whatever path the checkout took
        assert [s.sequence for s in outcome[c.checkout_id]] == list(
            range(1, len(outcome[c.checkout_id]) + 1)
        )
    assert await count(orders, OrderRow) == 10
    a, b = await product(orders, "SKU-A"), await product(orders, "SKU-B")
    assert (a.available, a.reserved, a.sold) == (7, 0, 3)
    assert (b.available, b.reserved, b.sold) == (0, 0, 3)
    assert await orders.gateway.balance(poor.buyer_id) == 500
