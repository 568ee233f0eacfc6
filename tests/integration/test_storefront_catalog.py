"""The storefront's fan-out reader of `catalog.changed`: live stock in memory, shown by the
room API and page; showcase titles and prices kept in step. Real Redis, real SQLite."""

import json
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as aioredis

from contracts import CatalogChanged, CatalogChangedEvent, ProductSnapshot, encode_entry
from infra.local.redis_server import RedisServer, free_port
from services.storefront.config import StorefrontSettings
from tests.conftest import Database
from tests.support import demo
from tests.support.flow import eventually
from tests.support.storefront import Storefront, running_storefront

HOODIE, MUG, CAP = demo.DEMO_PRODUCTS


def settings_for(
    redis_url: str, stream_prefix: str, database: Database, **overrides: Any
) -> StorefrontSettings:
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "stream_prefix": stream_prefix,
        "database_url": database.url,
        "notifier_public_url": "http://notifier.test",
        "room_cache_seconds": 0,
    }
    return StorefrontSettings(**(values | overrides))


@pytest.fixture
async def storefront(
    redis_url: str, stream_prefix: str, sqlite_database: Database
) -> AsyncIterator[Storefront]:
    async for running in running_storefront(
        settings_for(redis_url, stream_prefix, sqlite_database)
    ):
        yield running


def snapshot(product: demo.DemoProduct, *, available: int, version: int, **changes: Any) -> Any:
    values = {
        "sku": product.sku,
        "title": product.title,
        "price_minor": product.price_minor,
        "currency": product.currency,
        "available": available,
        "sold": product.stock - available,
        "version": version,
    }
    return ProductSnapshot(**(values | changes))


async def announce(client: aioredis.Redis, stream: str, *products: ProductSnapshot) -> None:
    """XADD one `catalog.changed` entry, as the marketplace writes it."""
    event = CatalogChangedEvent.new(
        correlation_id="catalog", producer="test", data=CatalogChanged(products=list(products))
    )
    await client.xadd(stream, encode_entry(event))  # type: ignore[arg-type]


async def room_products(storefront: Storefront) -> dict[str, dict[str, Any]]:
    response = await storefront.client.get(f"/api/rooms/{demo.DEMO_ROOM_ID}")
    assert response.status_code == 200
    return {p["sku"]: p for p in response.json()["products"]}


async def available(storefront: Storefront) -> dict[str, int | None]:
    return {sku: p["available"] for sku, p in (await room_products(storefront)).items()}


async def test_a_catalog_change_in_the_stream_shows_up_as_available_in_the_room_api(
    storefront: Storefront, redis_client: aioredis.Redis
) -> None:
    stream = storefront.settings.streams.catalog_changed
    assert set((await available(storefront)).values()) == {None}  # not known yet

    await announce(redis_client, stream, snapshot(HOODIE, available=7, version=3))

    shown = await eventually(lambda: available(storefront), until=lambda a: a[HOODIE.sku] == 7)
    assert shown == {HOODIE.sku: 7, MUG.sku: None, CAP.sku: None}


async def test_an_older_version_never_overwrites_a_newer_one(
    storefront: Storefront, redis_client: aioredis.Redis
) -> None:
    stream = storefront.settings.streams.catalog_changed
    await announce(redis_client, stream, snapshot(HOODIE, available=3, version=10))
    await announce(redis_client, stream, snapshot(HOODIE, available=9, version=4))
    await announce(redis_client, stream, snapshot(MUG, available=1, version=1))  # a marker

    shown = await eventually(lambda: available(storefront), until=lambda a: a[MUG.sku] == 1)
    assert shown[HOODIE.sku] == 3


async def test_malformed_entries_are_skipped_and_never_stop_the_reader(
    storefront: Storefront, redis_client: aioredis.Redis
) -> None:
    stream = storefront.settings.streams.catalog_changed
    wrong_shape = {"event_id": "e-1", "type": "catalog.changed", "version": 1, "data": {}}
    for fields in (
        {"__data__": "this is not JSON"},
        {"__data__": json.dumps(wrong_shape)},
        {"__data__": b"\xff\xfe not utf-8"},
        {"something_else": "no __data__ field at all"},
    ):
        await redis_client.xadd(stream, fields)  # type: ignore[arg-type]
    await announce(redis_client, stream, snapshot(CAP, available=0, version=2))

    shown = await eventually(lambda: available(storefront), until=lambda a: a[CAP.sku] == 0)
    assert shown[CAP.sku] == 0
    ready = await storefront.client.get("/ready")
    assert ready.json()["checks"] == {"redis": True, "database": True}


async def test_a_new_title_or_price_is_copied_to_the_showcase_but_never_the_stock(
    storefront: Storefront, redis_client: aioredis.Redis
) -> None:
    stream = storefront.settings.streams.catalog_changed
    await announce(
        redis_client,
        stream,
        snapshot(MUG, available=4, version=5, title="On-Air Mug XL", price_minor=1990),
    )

    shown = await eventually(
        lambda: room_products(storefront), until=lambda p: p[MUG.sku]["price"] == "19.90"
    )
    assert (shown[MUG.sku]["title"], shown[MUG.sku]["available"]) == ("On-Air Mug XL", 4)
    page = await storefront.client.get(f"/rooms/{demo.DEMO_ROOM_ID}")
    assert "On-Air Mug XL" in page.text
    assert 'data-available="4"' in page.text


async def test_on_start_up_only_the_newest_entries_are_read(
    redis_url: str, stream_prefix: str, sqlite_database: Database, redis_client: aioredis.Redis
) -> None:
    settings = settings_for(redis_url, stream_prefix, sqlite_database, recent_catalog_entries=2)
    stream = settings.streams.catalog_changed
    await announce(redis_client, stream, snapshot(HOODIE, available=1, version=1))
    await announce(redis_client, stream, snapshot(MUG, available=2, version=1))
    await announce(redis_client, stream, snapshot(CAP, available=3, version=1))

    async for storefront in running_storefront(settings):
        shown = await eventually(partial(available, storefront), until=lambda a: a[CAP.sku] == 3)

    assert shown == {HOODIE.sku: None, MUG.sku: 2, CAP.sku: 3}


async def test_a_storefront_started_while_redis_is_down_follows_the_catalog_once_it_is_up(
    stream_prefix: str, sqlite_database: Database, tmp_path: Path
) -> None:
    server = RedisServer(tmp_path / "redis", port=free_port(), appendonly=False)
    settings = settings_for(server.url, stream_prefix, sqlite_database)
    async for storefront in running_storefront(settings):
        down = await storefront.client.get("/ready")
        server.start()
        client: aioredis.Redis = aioredis.Redis.from_url(server.url)
        try:
            await announce(
                client, settings.streams.catalog_changed, snapshot(MUG, available=6, version=1)
            )
            shown = await eventually(
                partial(available, storefront), until=lambda a: a[MUG.sku] == 6, timeout=30
            )
            up = await eventually(
                partial(storefront.client.get, "/ready"), until=lambda r: r.status_code == 200
            )
        finally:
            await client.aclose()
            server.stop()

    assert down.status_code == 503
    assert shown[MUG.sku] == 6
    assert up.json()["checks"] == {"redis": True, "database": True}
