"""The marketplace's coalesced stock and room-sales snapshots, on real Redis and SQLite."""

from collections import Counter

from redis.asyncio import Redis

from contracts import CatalogChangedEvent, RoomSalesChangedEvent, decode_entry
from tests.conftest import Database
from tests.support.flow import checkout, eventually, final_statuses, publish_checkouts
from tests.support.orders import orders_settings, running_orders


async def latest_stock(client: Redis, stream: str) -> dict[str, tuple[int, int, int]]:
    """sku -> (available, sold, version), keeping the highest version as readers do."""
    latest: dict[str, tuple[int, int, int]] = {}
    for _, fields in await client.xrange(stream):
        for p in decode_entry(fields, CatalogChangedEvent).data.products:
            if p.sku not in latest or p.version > latest[p.sku][2]:
                latest[p.sku] = (p.available, p.sold, p.version)
    return latest


async def test_stock_snapshots_follow_a_burst_without_one_event_per_order(
    sqlite_database: Database, redis_url: str, stream_prefix: str, redis_client: Redis
) -> None:
    settings = orders_settings(sqlite_database, redis_url, stream_prefix)
    items = [checkout(items=[("HOT", 1)], room_id="room-9") for _ in range(60)]
    async with running_orders(settings, {"HOT": 40, "COLD": 5}) as orders:
        streams = orders.settings.streams
        await publish_checkouts(redis_client, streams.checkout_requested, items)
        await final_statuses(redis_client, streams.order_status, [i.checkout_id for i in items])

        stock = await eventually(
            lambda: latest_stock(redis_client, streams.catalog_changed),
            until=lambda s: s.get("HOT", (0, 0, 0))[1] == 40,
        )
        sales = await eventually(
            lambda: redis_client.xrange(streams.room_sales),
            until=lambda entries: (
                entries and decode_entry(entries[-1][1], RoomSalesChangedEvent).data.checkouts == 60
            ),
        )
        catalog_events = await redis_client.xlen(streams.catalog_changed)

    assert stock["HOT"][:2] == (0, 40)
    assert stock["COLD"][:2] == (5, 0)  # the first round publishes the whole catalog
    assert catalog_events < 30  # coalesced: far fewer than the 60 checkouts' changes
    last = decode_entry(sales[-1][1], RoomSalesChangedEvent).data
    assert (last.room_id, last.confirmed, last.rejected) == ("room-9", 40, {"out_of_stock": 20})
    assert last.units_sold == {"HOT": 40}
    assert last.revenue_minor == {"EUR": 40_000}
    assert Counter(decode_entry(f, RoomSalesChangedEvent).data.room_id for _, f in sales) == {
        "room-9": len(sales)
    }
