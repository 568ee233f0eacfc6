"""Flash deals in the marketplace, on real Redis and a real database (SQLite and PostgreSQL):
the seller's request, the deal price, the per-buyer limit and the cap at checkout."""

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col

from contracts import CatalogChangedEvent, FlashDealRequestedEvent, ProductSnapshot, decode_entry
from services.common.streams.dead_letters import list_dead_letters
from services.orders import seller_service
from services.orders.adapters.tables import FlashDealRow, OrderLineRow, OrderRow
from services.orders.entrypoints.app import OrdersRuntime
from tests.conftest import Database
from tests.support.flow import checkout, eventually, final_statuses, publish_checkouts
from tests.support.orders import (
    count,
    flash_deal,
    order_of,
    orders_settings,
    product,
    publish_event,
    row,
    running_orders,
)

SELLER = "seller-1"


@pytest.fixture
async def orders(
    database: Database, redis_url: str, stream_prefix: str
) -> AsyncIterator[OrdersRuntime]:
    settings = orders_settings(database, redis_url, stream_prefix)
    async with running_orders(settings, {"HOT": 50, "COLD": 5}, seller_id=SELLER) as runtime:
        yield runtime


async def start_deal(
    orders: OrdersRuntime, client: Redis, **values: Any
) -> FlashDealRequestedEvent:
    """Publish a seller's deal on HOT (room-1) and wait until the marketplace keeps it."""
    event = flash_deal(sku="HOT", seller_id=SELLER, **values)
    await publish_event(client, orders.settings.streams.flash_deals, event)
    await eventually(lambda: row(orders, FlashDealRow, event.data.deal_id), until=bool)
    return event


async def outcomes(
    orders: OrdersRuntime, client: Redis, items: list[Any]
) -> list[tuple[str, str | None, str | None, int]]:
    """Publish `items` in one go; (status, reason, detail, total) of each, in order."""
    streams = orders.settings.streams
    await publish_checkouts(client, streams.checkout_requested, items)
    found = await final_statuses(client, streams.order_status, [i.checkout_id for i in items])
    last = [found[i.checkout_id][-1] for i in items]
    return [(s.status.value, s.reason, s.detail, s.total_minor) for s in last]


async def test_a_checkout_in_the_deals_room_pays_the_deal_price_and_its_lines_carry_the_deal(
    orders: OrdersRuntime, redis_client: Redis
) -> None:
    deal = await start_deal(orders, redis_client, price_minor=600)
    in_room = checkout(items=[("HOT", 2), ("COLD", 1)], room_id="room-1")
    elsewhere = checkout(items=[("HOT", 1)], room_id="room-2")

    found = await outcomes(orders, redis_client, [in_room, elsewhere])

    assert found == [("confirmed", None, None, 2 * 600 + 1000), ("confirmed", None, None, 1000)]
    order = await order_of(orders, in_room.checkout_id)
    assert order.seller_id == SELLER
    async with async_sessionmaker(orders.engine)() as session:
        lines = await session.execute(
            select(
                col(OrderLineRow.sku), col(OrderLineRow.unit_price_minor), col(OrderLineRow.deal_id)
            ).where(col(OrderLineRow.order_id) == order.order_id)
        )
        assert sorted(lines) == [("COLD", 1000, None), ("HOT", 600, deal.data.deal_id)]


async def test_a_buyer_asking_two_with_a_limit_of_one_is_rejected_limit_exceeded(
    orders: OrdersRuntime, redis_client: Redis
) -> None:
    await start_deal(orders, redis_client, per_buyer_limit=1)

    found = await outcomes(orders, redis_client, [checkout(items=[("HOT", 2)])])

    assert found[0][:2] == ("rejected", "limit_exceeded")
    assert (await product(orders, "HOT")).available == 50


async def test_a_buyers_second_checkout_beyond_the_limit_is_rejected_limit_exceeded(
    orders: OrdersRuntime, redis_client: Redis
) -> None:
    await start_deal(orders, redis_client, per_buyer_limit=2)
    first = checkout(items=[("HOT", 2)])
    await outcomes(orders, redis_client, [first])
    again = checkout(buyer_id=first.buyer_id, items=[("HOT", 1)])
    other = checkout(items=[("HOT", 2)])
    # And within one read of the group: the earlier checkout of the batch counts too.
    twice = checkout(items=[("HOT", 1)])
    twice_more = checkout(buyer_id=twice.buyer_id, items=[("HOT", 2)])

    found = await outcomes(orders, redis_client, [again, other, twice, twice_more])

    assert [f[:2] for f in found] == [
        ("rejected", "limit_exceeded"),
        ("confirmed", None),
        ("confirmed", None),
        ("rejected", "limit_exceeded"),
    ]


async def test_a_deal_at_its_cap_rejects_sold_out_while_stock_remains(
    orders: OrdersRuntime, redis_client: Redis
) -> None:
    await start_deal(orders, redis_client, units_cap=3, per_buyer_limit=1)
    items = [checkout(items=[("HOT", 1)]) for _ in range(5)]

    found = await outcomes(orders, redis_client, items)

    assert Counter(f[:3] for f in found) == {
        ("confirmed", None, None): 3,
        ("rejected", "out_of_stock", "flash deal sold out"): 2,
    }
    stock = await product(orders, "HOT")
    assert (stock.available, stock.sold) == (47, 3)


async def test_two_replicas_never_sell_a_deal_beyond_its_cap_or_a_buyers_limit(
    database: Database, redis_url: str, stream_prefix: str, redis_client: Redis
) -> None:
    settings = orders_settings(database, redis_url, stream_prefix, consumer_max_records=5)
    buyers = [f"buyer-{n}" for n in range(6)]
    items = [checkout(buyer_id=buyers[n % 6], items=[("HOT", 1)]) for n in range(40)]
    async with (
        running_orders(settings, {"HOT": 100}, seller_id=SELLER) as first,
        running_orders(settings, {"HOT": 100}, seller_id=SELLER) as second,
    ):
        await start_deal(first, redis_client, units_cap=10, per_buyer_limit=2)
        await asyncio.gather(
            *(
                publish_checkouts(redis_client, settings.streams.checkout_requested, [i])
                for i in items
            )
        )
        found = await final_statuses(
            redis_client, settings.streams.order_status, [i.checkout_id for i in items]
        )
        confirmed = [i for i in items if found[i.checkout_id][-1].status.value == "confirmed"]
        assert len(confirmed) == 10
        assert max(Counter(i.buyer_id for i in confirmed).values()) <= 2
        assert (await product(second, "HOT")).sold == 10


@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ({"seller_id": "seller-2"}, "not_sellers_product"),
        ({"price_minor": 1001}, "price_above_list"),
        ({"sku": "NOPE"}, "unknown_sku"),
    ],
)
async def test_a_deal_the_marketplace_refuses_is_dead_lettered_with_the_reason_and_not_kept(
    orders: OrdersRuntime, redis_client: Redis, values: dict[str, Any], reason: str
) -> None:
    stream = orders.settings.streams.flash_deals
    event = flash_deal(**{"sku": "HOT", "seller_id": SELLER, **values})
    await publish_event(redis_client, stream, event)

    (letter,) = await eventually(lambda: list_dead_letters(redis_client, stream), until=bool)

    assert (letter.reason, letter.deliveries) == (reason, 1)  # never retried
    assert await row(orders, FlashDealRow, event.data.deal_id) is None
    assert (await redis_client.xpending(stream, "orders"))["pending"] == 0


async def test_a_later_request_with_the_same_deal_id_replaces_the_deal(
    orders: OrdersRuntime, redis_client: Redis
) -> None:
    deal = await start_deal(orders, redis_client, price_minor=600)
    changed = flash_deal(
        sku="HOT", seller_id=SELLER, deal_id=deal.data.deal_id, price_minor=550, units_cap=4
    )
    await publish_event(redis_client, orders.settings.streams.flash_deals, changed)

    kept = await eventually(
        lambda: row(orders, FlashDealRow, deal.data.deal_id),
        until=lambda r: r is not None and r.price_minor == 550,
    )
    assert kept is not None
    assert kept.units_cap == 4


async def latest_products(client: Redis, stream: str) -> dict[str, ProductSnapshot]:
    latest: dict[str, ProductSnapshot] = {}
    entries: list[tuple[bytes, dict[bytes, bytes]]] = await client.xrange(stream)  # type: ignore[assignment]
    for _, fields in entries:
        event = decode_entry(fields, CatalogChangedEvent)
        assert event.version == 2
        for p in event.data.products:
            if p.sku not in latest or p.version >= latest[p.sku].version:
                latest[p.sku] = p
    return latest


async def test_catalog_changed_v2_carries_the_seller_the_image_and_the_deal_with_units_taken(
    orders: OrdersRuntime, redis_client: Redis
) -> None:
    stream = orders.settings.streams.catalog_changed
    deal = await start_deal(orders, redis_client, price_minor=600, units_cap=10)
    await outcomes(orders, redis_client, [checkout(items=[("HOT", 2)])])
    await seller_service.update_product(
        uow=orders.uow, seller_id=SELLER, sku="HOT", image_url="https://img.example/hot.jpg"
    )
    orders.changed(skus=["HOT"])

    latest = await eventually(
        lambda: latest_products(redis_client, stream),
        until=lambda s: "HOT" in s and s["HOT"].image_url is not None,
    )

    hot = latest["HOT"]
    assert (hot.seller_id, hot.image_url) == (SELLER, "https://img.example/hot.jpg")
    assert hot.deal is not None
    assert (hot.deal.deal_id, hot.deal.price_minor, hot.deal.units_taken) == (
        deal.data.deal_id,
        600,
        2,
    )
    assert (hot.deal.units_cap, hot.deal.room_id) == (10, "room-1")
    assert latest["COLD"].deal is None
    assert await count(orders, OrderRow) == 1
