"""The seller console's JSON API with the real orders app, Redis and database: a seller
changes only their own products and orders, odd input is a 4xx, never a 5xx, and every
change reaches the streams (catalog.changed, order.status)."""

from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
import redis.asyncio as aioredis

from contracts import CatalogChangedEvent, OrderStatusChangedEvent, decode_entry
from tests.conftest import Database
from tests.integration.test_orders_console_support import Bench, Seller, running_bench
from tests.support.flow import eventually
from tests.support.orders import orders_settings

Redis = aioredis.Redis
Fields = dict[bytes, bytes]


@pytest.fixture
async def bench(database: Database, redis_url: str, stream_prefix: str) -> AsyncIterator[Bench]:
    async with running_bench(orders_settings(database, redis_url, stream_prefix)) as running:
        yield running


async def catalog_snapshots(redis: Redis, stream: str, sku: str) -> list[dict[str, Any]]:
    found = []
    for _, fields in await redis.xrange(stream) or []:
        event = decode_entry(cast(Fields, fields), CatalogChangedEvent)
        found += [p.model_dump() for p in event.data.products if p.sku == sku]
    return found


async def test_a_new_product_goes_out_on_catalog_changed_with_its_seller(
    bench: Bench, redis_client: Redis
) -> None:
    seller = await bench.seller()
    sku = await bench.product(seller, stock=7, price_minor=2490)
    stream = bench.settings.streams.catalog_changed

    snapshots = await eventually(
        lambda: catalog_snapshots(redis_client, stream, sku), until=bool, timeout=10
    )
    assert snapshots[-1] | {"version": 0} == {
        "sku": sku,
        "title": f"Product {sku}",
        "price_minor": 2490,
        "currency": "EUR",
        "available": 7,
        "sold": 0,
        "version": 0,
        "seller_id": seller.seller_id,
        "image_url": None,
        "deal": None,
    }
    patched = await seller.client.patch(
        f"/api/seller/products/{sku}",
        json={"title": "Renamed", "image_url": "https://img.example/a.png"},
        headers=seller.writes,
    )
    assert patched.status_code == 200, patched.text
    renamed = await eventually(
        lambda: catalog_snapshots(redis_client, stream, sku),
        until=lambda found: found[-1]["title"] == "Renamed",
        timeout=10,
    )
    assert renamed[-1]["image_url"] == "https://img.example/a.png"
    assert renamed[-1]["version"] > snapshots[-1]["version"]


async def test_stock_is_set_or_restocked_and_a_taken_sku_is_a_409(bench: Bench) -> None:
    seller, other = await bench.seller(), await bench.seller()
    sku = await bench.product(seller, stock=3)
    url = f"/api/seller/products/{sku}/stock"

    added = await seller.client.post(url, json={"add": 4}, headers=seller.writes)
    assert (added.status_code, added.json()["available"]) == (200, 7)
    set_to = await seller.client.post(url, json={"set": 0}, headers=seller.writes)
    assert (set_to.status_code, set_to.json()["available"]) == (200, 0)
    taken = await other.client.post(
        "/api/seller/products",
        json={"sku": sku, "title": "Mine now", "price_minor": 1},
        headers=other.writes,
    )
    assert taken.status_code == 409, taken.text
    assert [p["sku"] for p in (await other.client.get("/api/seller/products")).json()] == []


async def test_another_sellers_product_is_403_and_an_unknown_one_404(bench: Bench) -> None:
    owner, intruder = await bench.seller(), await bench.seller()
    sku = await bench.product(owner, stock=5)
    calls = [
        ("PATCH", f"/api/seller/products/{sku}", {"title": "Hijacked"}),
        ("POST", f"/api/seller/products/{sku}/stock", {"set": 0}),
    ]
    for method, path, body in calls:
        answer = await intruder.client.request(method, path, json=body, headers=intruder.writes)
        assert answer.status_code == 403, (path, answer.text)
        missing = path.replace(sku, "NO-SUCH-SKU")
        answer = await intruder.client.request(method, missing, json=body, headers=intruder.writes)
        assert answer.status_code == 404, (missing, answer.text)
    [product] = (await owner.client.get("/api/seller/products")).json()
    assert (product["title"], product["available"]) == (f"Product {sku}", 5)


async def test_a_cancelled_order_ends_refunded_on_the_status_stream_with_its_stock_back(
    bench: Bench, redis_client: Redis
) -> None:
    owner, intruder = await bench.seller(), await bench.seller()
    sku = await bench.product(owner, stock=5)
    order_id, checkout_id = await bench.confirmed_order(redis_client, owner, sku, quantity=2)
    url = f"/api/seller/orders/{order_id}/cancel"

    assert (await intruder.client.post(url, headers=intruder.writes)).status_code == 403
    assert (await intruder.client.get(f"/api/seller/orders/{order_id}")).status_code == 403
    unknown = await owner.client.post(
        "/api/seller/orders/no-such-order/cancel", headers=owner.writes
    )
    assert unknown.status_code == 404
    cancelled = await owner.client.post(url, headers=owner.writes)
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "refunded"

    async def statuses() -> list[str]:
        entries = await redis_client.xrange(bench.settings.streams.order_status) or []
        events = [decode_entry(cast(Fields, f), OrderStatusChangedEvent) for _, f in entries]
        return [e.data.status for e in events if e.data.checkout_id == checkout_id]

    seen = await eventually(statuses, until=lambda s: s[-1:] == ["refunded"], timeout=10)
    assert seen[-3:] == ["confirmed", "cancelled", "refunded"]
    [product] = (await owner.client.get("/api/seller/products")).json()
    assert (product["available"], product["sold"]) == (5, 0)
    again = await owner.client.post(url, headers=owner.writes)
    assert again.status_code == 409, again.text


async def test_an_order_ships_once_with_its_tracking_ref_and_only_by_its_seller(
    bench: Bench, redis_client: Redis
) -> None:
    owner, intruder = await bench.seller(), await bench.seller()
    sku = await bench.product(owner)
    order_id, _ = await bench.confirmed_order(redis_client, owner, sku)
    url = f"/api/seller/orders/{order_id}/ship"
    body = {"tracking_ref": "DHL 0034 5678"}

    assert (await intruder.client.post(url, json=body, headers=intruder.writes)).status_code == 403
    shipped = await owner.client.post(url, json=body, headers=owner.writes)
    assert shipped.status_code == 200, shipped.text
    assert shipped.json()["status"] == "shipped"
    assert shipped.json()["tracking_ref"] == "DHL 0034 5678"
    assert (await owner.client.post(url, json=body, headers=owner.writes)).status_code == 409
    listed = await owner.client.get("/api/seller/orders", params={"status": "shipped"})
    assert [o["order_id"] for o in listed.json()] == [order_id]
    assert (await intruder.client.get("/api/seller/orders")).json() == []


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/seller/products", {"sku": "S-1", "title": "T", "price_minor": 1, "colour": "red"}),
        ("/api/seller/products", {"sku": "S-1", "title": "T", "price_minor": "2"}),
        ("/api/seller/products", {"sku": "S-1", "title": "T", "price_minor": 1, "stock": -1}),
        ("/api/seller/products", {"sku": "S 1", "title": "T", "price_minor": 1}),
        ("/api/seller/products", {"sku": "S-1", "title": "x" * 201, "price_minor": 1}),
        ("/api/seller/products/{sku}", {}),
        ("/api/seller/products/{sku}", {"price_minor": None}),
        ("/api/seller/products/{sku}/stock", {"set": 1, "add": 1}),
        ("/api/seller/products/{sku}/stock", {"set": -5}),
        ("/api/seller/products/{sku}/stock", {"add": "3"}),
        ("/api/seller/products/{sku}/stock", {"add": 2.0}),
    ],
)
async def test_a_body_that_is_not_exactly_right_is_a_422(
    bench: Bench, path: str, body: dict[str, Any]
) -> None:
    seller = await bench.seller()
    sku = await bench.product(seller)
    method = "PATCH" if path.endswith("{sku}") else "POST"
    answer = await seller.client.request(
        method, path.format(sku=sku), json=body, headers=seller.writes
    )

    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"]


async def test_odd_unicode_anywhere_is_a_4xx_never_a_5xx(bench: Bench) -> None:
    seller = await bench.seller()
    sku = await bench.product(seller)
    raw: list[tuple[str, str, str | bytes]] = [  # what a client library would refuse to send
        ("POST", "/api/seller/products", '{"sku": "S-2", "title": "\\ud800", "price_minor": 1}'),
        ("PATCH", f"/api/seller/products/{sku}", '{"title": "a\\u0000b"}'),
        ("PATCH", f"/api/seller/products/{sku}", '{"\\udfff": 1}'),
        ("POST", "/api/seller/orders/o-1/ship", '{"tracking_ref": "\\ud83d"}'),
        ("POST", "/api/seller/session", '{"email": "\\ud800@x", "password": "\\ud800"}'),
        ("POST", "/api/seller/products", '{"sku": "S-3", "title": "T", "price_minor": 1e400}'),
        ("POST", "/api/seller/products", "not json"),
        ("POST", "/api/seller/products", b'{"sku": "\xff\xfe"}'),  # not UTF-8
    ]
    for method, path, body in raw:
        answer = await _send(seller, method, path, body)
        assert 400 <= answer.status_code < 500, (path, body, answer.text)
    for path in [
        "/api/seller/products/%00/stock",
        "/api/seller/products/%ED%A0%80/stock",
        "/api/seller/orders/%F0%9F%92%A9",
        "/api/seller/orders?status=lost",
        "/api/seller/orders?status=%00",
    ]:
        answer = await seller.client.get(path, headers=seller.writes)
        assert 400 <= answer.status_code < 500, (path, answer.text)
    [product] = (await seller.client.get("/api/seller/products")).json()
    assert product["title"] == f"Product {sku}"


async def _send(seller: Seller, method: str, path: str, body: str | bytes) -> Any:
    headers = {**seller.writes, "Content-Type": "application/json"}
    content = body.encode() if isinstance(body, str) else body
    return await seller.client.request(method, path, content=content, headers=headers)


async def test_the_openapi_document_describes_the_seller_api(bench: Bench) -> None:
    client = await bench.client()
    document = (await client.get("/openapi.json")).json()
    create = document["paths"]["/api/seller/products"]["post"]

    assert create["tags"] == ["seller products"]
    assert create["summary"] == "Add a product"
    assert {"201", "401", "403", "409", "422"} <= set(create["responses"])
    assert "StockChange" in document["components"]["schemas"]
    ship = document["paths"]["/api/seller/orders/{order_id}/ship"]["post"]
    assert ship["tags"] == ["seller orders"]
    assert "/seller" not in document["paths"]  # the pages are not API
