"""A live room's public stream against real Redis: snapshot, coalesced stock, ticker, viewers."""

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from httpx_sse import ServerSentEvent, aconnect_sse

from contracts import (
    CatalogChanged,
    CatalogChangedEvent,
    CheckoutItem,
    OrderStatus,
    ProductSnapshot,
    RoomSales,
    RoomSalesChangedEvent,
    Streams,
    encode_entry,
)
from services.notifier.config import NotifierSettings
from services.notifier.hub import StatusHub
from tests.integration.notifier.support import (
    DEADLINE,
    Notifier,
    Notifiers,
    Redis,
    Relay,
    browser_events,
    new_id,
    notifier_settings,
    order_status,
    take,
    wait_until,
)


@pytest.fixture
def settings(redis_url: str, stream_prefix: str) -> NotifierSettings:
    return notifier_settings(redis_url, stream_prefix, room_push_seconds=0.25)


@pytest.fixture
async def notifiers() -> AsyncIterator[Notifiers]:
    running = Notifiers()
    yield running
    await running.close()


@pytest.fixture
async def client(notifiers: Notifiers, settings: NotifierSettings) -> httpx.AsyncClient:
    notifier: Notifier = await notifiers.start(settings)
    return notifier.client


@dataclass
class Marketplace:
    """Writes snapshots as the orders service's snapshot publisher does."""

    redis: Redis
    streams: Streams

    async def stock(self, *products: ProductSnapshot) -> None:
        await self.stock_rounds([products])

    async def stock_rounds(self, rounds: Sequence[tuple[ProductSnapshot, ...]]) -> None:
        """One snapshot per round, all in one pipeline (a burst, whatever the machine's load)."""
        pipe = self.redis.pipeline(transaction=False)
        for products in rounds:
            event = CatalogChangedEvent.new(
                correlation_id="catalog", producer="orders", data=CatalogChanged(products=products)
            )
            fields: dict[Any, Any] = encode_entry(event)
            pipe.xadd(self.streams.catalog_changed, fields)
        await pipe.execute()

    async def sales(self, room_id: str, *, checkouts: int, confirmed: int = 0) -> None:
        sales = RoomSales(room_id=room_id, checkouts=checkouts, confirmed=confirmed, expired=0)
        event = RoomSalesChangedEvent.new(correlation_id=room_id, producer="orders", data=sales)
        fields: dict[Any, Any] = encode_entry(event)
        await self.redis.xadd(self.streams.room_sales, fields)


@pytest.fixture
def marketplace(redis_client: Redis, settings: NotifierSettings) -> Marketplace:
    return Marketplace(redis_client, settings.streams)


@pytest.fixture
def relay(redis_client: Redis, settings: NotifierSettings) -> Relay:
    return Relay(redis_client, settings.streams)


def product(sku: str, version: int, available: int = 10) -> ProductSnapshot:
    return ProductSnapshot(
        sku=sku, title=sku.title(), price_minor=1250, currency="EUR", available=available,
        sold=0, version=version,
    )  # fmt: skip


def data(event: ServerSentEvent) -> object:
    return json.loads(event.data)


async def test_a_room_stream_opens_with_a_snapshot_of_stock_sales_and_viewers(
    notifiers: Notifiers, settings: NotifierSettings, marketplace: Marketplace
) -> None:
    # Written before the notifier starts: it finds them among the newest entries.
    await marketplace.stock(product("mug", 1, available=10), product("cap", 1, available=5))
    await marketplace.stock(product("mug", 3, available=7))
    await marketplace.stock(product("mug", 2, available=9))  # older, arriving later
    await marketplace.stock(product("hat", 1))
    await marketplace.sales("r1", checkouts=3)
    await marketplace.sales("r1", checkouts=4, confirmed=2)
    await marketplace.sales("r2", checkouts=9)
    client = (await notifiers.start(settings)).client
    async with aconnect_sse(
        client, "GET", "/events/rooms/r1", params={"skus": "mug,cap"}
    ) as source:
        (snapshot,) = await take(browser_events(source), 1)
    assert (snapshot.event, snapshot.id) == ("snapshot", "1")
    body = json.loads(snapshot.data)
    assert [(p["sku"], p["version"], p["available"]) for p in body["stock"]] == [
        ("cap", 1, 5),
        ("mug", 3, 7),
    ]
    assert (body["sales"]["checkouts"], body["sales"]["confirmed"]) == (4, 2)
    assert body["viewers"] == 1


async def test_a_starting_notifier_reads_only_the_newest_snapshots(
    notifiers: Notifiers, settings: NotifierSettings, marketplace: Marketplace
) -> None:
    for i in range(10):
        await marketplace.stock(product(f"sku-{i}", 1))
    narrow = settings.model_copy(update={"recent_snapshots": 3})
    client = (await notifiers.start(narrow)).client
    async with aconnect_sse(client, "GET", "/events/rooms/r1") as source:
        (snapshot,) = await take(browser_events(source), 1)
    assert [p["sku"] for p in json.loads(snapshot.data)["stock"]] == ["sku-7", "sku-8", "sku-9"]


async def test_a_burst_of_stock_changes_reaches_a_browser_as_a_few_pushes_of_the_latest(
    client: httpx.AsyncClient, marketplace: Marketplace
) -> None:
    async with aconnect_sse(client, "GET", "/events/rooms/r1", params={"skus": "mug"}) as source:
        events = browser_events(source)
        await take(events, 1)  # the snapshot
        started = time.monotonic()
        for first in range(1, 51, 10):  # 50 snapshots in 5 bursts, ~40 ms apart
            burst_of_ten = range(first, first + 10)
            rounds = [(product("mug", v, available=100 - v),) for v in burst_of_ten]
            await marketplace.stock_rounds(rounds)
            await asyncio.sleep(0.04)
        burst = time.monotonic() - started
        stock: list[ServerSentEvent] = []
        async with asyncio.timeout(DEADLINE):
            while not stock or json.loads(stock[-1].data)[0]["version"] < 50:
                event = await anext(events)
                assert event.event == "stock", event
                stock.append(event)
    print(f"50 stock snapshots in {burst * 1000:.0f} ms -> {len(stock)} stock pushes")
    assert len(stock) <= 5
    (latest,) = json.loads(stock[-1].data)
    assert (latest["sku"], latest["version"], latest["available"]) == ("mug", 50, 50)


async def test_confirmed_orders_of_the_room_appear_on_the_ticker_without_buyer_or_order(
    client: httpx.AsyncClient, relay: Relay
) -> None:
    two_items = (CheckoutItem(sku="mug", quantity=2), CheckoutItem(sku="cap", quantity=1))
    async with aconnect_sse(client, "GET", "/events/rooms/r1") as source:
        events = browser_events(source)
        await take(events, 1)
        await relay.happy_path(new_id("co"), "ann-secret-buyer", room_id="r1")
        other_room = order_status(new_id("co"), OrderStatus.CONFIRMED, buyer_id="x", room_id="r2")
        await relay.publish(other_room)
        second = order_status(
            new_id("co"), OrderStatus.CONFIRMED, buyer_id="bob", room_id="r1", items=two_items
        )
        await relay.publish(second)
        purchases = await take(events, 2)
    assert [e.event for e in purchases] == ["purchase", "purchase"]
    assert [data(e) for e in purchases] == [
        {"items": [{"sku": "mug", "quantity": 1}], "total_minor": 2599, "currency": "EUR"},
        {
            "items": [{"sku": "mug", "quantity": 2}, {"sku": "cap", "quantity": 1}],
            "total_minor": 2599,
            "currency": "EUR",
        },
    ]
    assert not any(secret in e.data for e in purchases for secret in ("ann", "bob", "order-"))


async def test_a_starting_notifier_does_not_replay_earlier_purchases_to_the_ticker(
    notifiers: Notifiers, settings: NotifierSettings, relay: Relay
) -> None:
    await relay.happy_path(new_id("co"), "ann", room_id="r1")  # before the notifier starts
    notifier = await notifiers.start(settings)
    statuses: StatusHub = notifier.app.state.statuses
    await wait_until(lambda: statuses.statuses_seen == 4, "the notifier read the history")
    async with aconnect_sse(notifier.client, "GET", "/events/rooms/r1") as source:
        events = browser_events(source)
        await take(events, 1)
        later = (CheckoutItem(sku="cap", quantity=3),)
        await relay.publish(
            order_status(new_id("co"), OrderStatus.CONFIRMED, buyer_id="bob", room_id="r1",
                         items=later)
        )  # fmt: skip
        (purchase,) = await take(events, 1)
    assert data(purchase)["items"] == [{"sku": "cap", "quantity": 3}]  # type: ignore[index]


async def test_viewers_count_the_open_connections_to_the_room_on_this_replica(
    client: httpx.AsyncClient,
) -> None:
    async with aconnect_sse(client, "GET", "/events/rooms/r1") as first:
        watching = browser_events(first)
        (snapshot,) = await take(watching, 1)
        assert data(snapshot)["viewers"] == 1  # type: ignore[index]
        async with aconnect_sse(client, "GET", "/events/rooms/r1") as second:
            (theirs,) = await take(browser_events(second), 1)
            assert data(theirs)["viewers"] == 2  # type: ignore[index]
            (joined,) = await take(watching, 1)
        (left,) = await take(watching, 1)
    assert [(e.event, data(e)) for e in (joined, left)] == [
        ("viewers", {"count": 2}),
        ("viewers", {"count": 1}),
    ]
    assert [e.id for e in (snapshot, joined, left)] == ["1", "2", "3"]


async def test_malformed_entries_on_each_stream_do_not_stop_the_readers(
    client: httpx.AsyncClient,
    relay: Relay,
    marketplace: Marketplace,
    redis_client: Redis,
    settings: NotifierSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="services.notifier")
    streams = settings.streams
    async with aconnect_sse(client, "GET", "/events/rooms/r1") as source:
        events = browser_events(source)
        await take(events, 1)
        for stream in (streams.catalog_changed, streams.room_sales, streams.order_status):
            await redis_client.xadd(stream, {"__data__": "not json"})
            await redis_client.xadd(stream, {"__data__": json.dumps({"type": "?", "data": {}})})
        await marketplace.stock(product("mug", 7))
        await marketplace.sales("r1", checkouts=1)
        await relay.publish(
            order_status(new_id("co"), OrderStatus.CONFIRMED, buyer_id="ann", room_id="r1")
        )
        received = await take(events, 3)
    assert sorted(e.event for e in received) == ["purchase", "sales", "stock"]
    assert [e.id for e in received] == ["2", "3", "4"]
    skipped = [r for r in caplog.records if "skipped malformed" in r.getMessage()]
    assert len(skipped) == 6
    assert {r.getMessage().split()[2] for r in skipped} == {
        streams.catalog_changed,
        streams.room_sales,
        streams.order_status,
    }
