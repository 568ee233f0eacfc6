"""What the storefront learns from the marketplace for its sellers: `catalog.changed` v2
fills each seller's catalog (never stock) and the pinned copies, the room API shows a
product's image and the room's flash deal, and `room.sales` v1/v2 plus the viewers of the
live room fill the post-live report. Real Redis and a real SQLite database."""

from datetime import timedelta
from functools import partial
from typing import Any

import redis.asyncio as aioredis

from contracts import (
    CatalogChanged,
    CatalogChangedEvent,
    DealSnapshot,
    ProductSnapshot,
    RoomSales,
    RoomSalesChangedEvent,
    encode_entry,
    utc_now,
)
from services.storefront.entrypoints.sessions import BUYER_COOKIE
from tests.integration.test_storefront_seller_auth import SellerStorefront, SignedIn, sellers
from tests.support import demo
from tests.support.flow import eventually

__all__ = ["sellers"]  # the fixture, shared with the sign-in tests

HOODIE, MUG, CAP = demo.DEMO_PRODUCTS
TEE = "LC-TEE-NEW"


def snapshot(
    sku: str, *, version: int, seller_id: str | None = demo.DEMO_SELLER_ID, **extra: Any
) -> ProductSnapshot:
    values: dict[str, Any] = {
        "sku": sku, "title": "Live Tee", "price_minor": 1990, "currency": "EUR",
        "available": 9, "sold": 1, "version": version, "seller_id": seller_id,
    }  # fmt: skip
    return ProductSnapshot.model_validate(values | extra)


async def announce(
    redis: aioredis.Redis, sellers: SellerStorefront, *products: ProductSnapshot
) -> None:
    event = CatalogChangedEvent.new(
        correlation_id="catalog", producer="test", data=CatalogChanged(products=list(products))
    )
    await redis.xadd(sellers.settings.streams.catalog_changed, encode_entry(event))  # type: ignore[arg-type]


async def catalog_of(sellers: SellerStorefront, seller: SignedIn) -> dict[str, dict[str, Any]]:
    answer = await sellers.client.get("/api/seller/catalog", headers=seller.cookie)
    assert answer.status_code == 200
    return {p["sku"]: p for p in answer.json()}


async def room_products(
    sellers: SellerStorefront, room_id: str = demo.DEMO_ROOM_ID
) -> dict[str, Any]:
    answer = await sellers.client.get(f"/api/rooms/{room_id}")
    return {p["sku"]: p for p in answer.json()["products"]}


async def test_catalog_changes_fill_the_sellers_catalog_and_the_pins_but_never_stock(
    sellers: SellerStorefront, redis_client: aioredis.Redis
) -> None:
    seller, rival = await sellers.sign_in(), await sellers.rival()
    image = "https://img.test/tee.jpg"
    await announce(redis_client, sellers, snapshot(TEE, version=3, image_url=image))

    mine = await eventually(partial(catalog_of, sellers, seller), until=lambda c: TEE in c)
    assert mine[TEE] == {
        "sku": TEE, "title": "Live Tee", "price": "19.90", "price_minor": 1990,
        "currency": "EUR", "image_url": image,
    }  # fmt: skip
    assert set(mine) >= {p.sku for p in demo.DEMO_PRODUCTS}
    assert TEE not in await catalog_of(sellers, rival)
    pinned = await sellers.client.post(
        "/api/seller/rooms/demo/pins",
        json={"sku": TEE, "max_per_checkout": 2},
        headers=seller.headers,
    )
    assert pinned.status_code == 200, pinned.text
    assert (await room_products(sellers))[TEE]["image_url"] == image
    refused = await sellers.client.post(
        "/api/seller/rooms/demo/pins", json={"sku": TEE}, headers=rival.headers
    )
    assert refused.status_code == 403

    newer = snapshot(TEE, version=5, title="Live Tee v2", price_minor=2490, image_url=image + "?2")
    await announce(redis_client, sellers, newer, snapshot(TEE, version=4, title="stale"))
    shown = await eventually(
        partial(room_products, sellers), until=lambda p: p[TEE]["title"] == "Live Tee v2"
    )
    assert (shown[TEE]["price"], shown[TEE]["image_url"], shown[TEE]["available"]) == (
        "24.90",
        image + "?2",
        9,
    )
    assert (await catalog_of(sellers, seller))[TEE]["title"] == "Live Tee v2"
    assert "available" not in (await catalog_of(sellers, seller))[TEE]


async def test_the_room_api_shows_the_rooms_own_running_deal_only(
    sellers: SellerStorefront, redis_client: aioredis.Redis
) -> None:
    now = utc_now()
    deal = DealSnapshot(
        deal_id="deal-1", room_id=demo.DEMO_ROOM_ID, price_minor=990, units_cap=10, units_taken=3,
        per_buyer_limit=2, starts_at=now + timedelta(seconds=20),
    )  # fmt: skip
    elsewhere = deal.model_copy(update={"deal_id": "deal-2", "room_id": "another-room"})
    over = deal.model_copy(update={"deal_id": "deal-3", "ends_at": now - timedelta(seconds=1)})
    await announce(
        redis_client, sellers,
        snapshot(MUG.sku, version=2, title=MUG.title, price_minor=MUG.price_minor, deal=deal),
        snapshot(HOODIE.sku, version=2, title=HOODIE.title, deal=elsewhere),
        snapshot(CAP.sku, version=2, title=CAP.title, deal=over),
    )  # fmt: skip

    shown = await eventually(partial(room_products, sellers), until=lambda p: p[MUG.sku]["deal"])
    assert shown[MUG.sku]["deal"] == deal.model_dump(mode="json")
    assert shown[HOODIE.sku]["deal"] is None
    assert shown[CAP.sku]["deal"] is None


def sales_event(room_id: str, **counts: Any) -> RoomSalesChangedEvent:
    values: dict[str, Any] = {"room_id": room_id, "checkouts": 0, "confirmed": 0, "expired": 0}
    return RoomSalesChangedEvent.new(
        correlation_id=room_id, producer="test", data=RoomSales.model_validate(values | counts)
    )


async def report(sellers: SellerStorefront, seller: SignedIn) -> dict[str, Any]:
    answer = await sellers.client.get("/api/seller/rooms/demo/report", headers=seller.cookie)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


async def test_room_sales_and_the_live_rooms_viewers_fill_the_report(
    sellers: SellerStorefront, redis_client: aioredis.Redis
) -> None:
    seller, stream = await sellers.sign_in(), sellers.settings.streams.room_sales
    for _ in range(2):  # two buyers, the second one twice
        _buyer, auth = await sellers.buyer()
        token = auth["Authorization"].removeprefix("Bearer ")
        await sellers.client.get("/rooms/demo", headers={"Cookie": f"{BUYER_COOKIE}={token}"})
    await sellers.client.get("/rooms/demo", headers={"Cookie": f"{BUYER_COOKIE}={token}"})
    empty = await report(sellers, seller)
    assert (empty["viewers"], empty["taps"], empty["confirmed_per_tap"]) == (2, 0, None)

    old = sales_event("demo", checkouts=1, confirmed=1)
    latest = sales_event(
        "demo", checkouts=5, confirmed=3, expired=0, cancelled=1,
        rejected={"out_of_stock": 1, "limit_exceeded": 1},
        units_sold={MUG.sku: 4}, revenue_minor={"EUR": 4470},
        revenue_minor_by_sku={MUG.sku: 3960, "LC-GONE": 510},
    )  # fmt: skip
    v1 = latest.model_dump(mode="json") | {"version": 1, "event_id": "v1-entry"}
    v1["data"] = {
        k: v for k, v in v1["data"].items() if k not in ("cancelled", "revenue_minor_by_sku")
    }
    v1["data"]["room_id"] = "other-room"
    for event in (latest, old):  # the older one arrives last and must not win
        await redis_client.xadd(stream, encode_entry(event))  # type: ignore[arg-type]
    await redis_client.xadd(
        stream, {"__data__": RoomSalesChangedEvent.model_validate(v1).model_dump_json()}
    )

    figures = await eventually(partial(report, sellers, seller), until=lambda r: r["taps"] == 5)
    funnel = ("viewers", "taps", "confirmed", "cancelled", "expired", "rejected")
    assert {k: figures[k] for k in funnel} == {
        "viewers": 2, "taps": 5, "confirmed": 3, "cancelled": 1, "expired": 0,
        "rejected": {"out_of_stock": 1, "limit_exceeded": 1},
    }  # fmt: skip
    ratios = ("taps_per_viewer", "confirmed_per_tap", "confirmed_per_viewer")
    assert [figures[k] for k in ratios] == [2.5, 0.6, 1.5]
    products = {p["sku"]: p for p in figures["products"]}
    assert products[MUG.sku] == {
        "sku": MUG.sku, "title": MUG.title, "currency": "EUR",
        "units_sold": 4, "revenue_minor": 3960,
    }  # fmt: skip
    assert products["LC-GONE"]["title"] == "LC-GONE"  # never pinned: named by its sku
    page = await sellers.client.get("/seller/rooms/demo/report", headers=seller.cookie)
    assert 'data-testid="report-viewers" data-value="2"' in page.text
    assert 'data-testid="report-taps" data-value="5"' in page.text
    assert 'data-testid="report-revenue" data-sku="LC-MUG-LIVE" data-value="3960"' in page.text
    assert 'data-reason="limit_exceeded">1<' in page.text


async def test_a_room_that_is_not_live_counts_no_viewers(
    sellers: SellerStorefront,
) -> None:
    seller = await sellers.sign_in()
    made = await sellers.client.post(
        "/api/seller/rooms", json={"title": "Later"}, headers=seller.headers
    )
    room_id = made.json()["room_id"]
    _buyer, auth = await sellers.buyer()
    token = auth["Authorization"].removeprefix("Bearer ")

    page = await sellers.client.get(
        f"/rooms/{room_id}", headers={"Cookie": f"{BUYER_COOKIE}={token}"}
    )
    figures = await sellers.client.get(f"/api/seller/rooms/{room_id}/report", headers=seller.cookie)

    assert page.status_code == 200
    assert figures.json()["viewers"] == 0
