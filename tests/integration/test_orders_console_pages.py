"""The seller console's HTML pages and their forms, as a browser without scripts uses
them, against the real orders app, Redis and database."""

import re
from collections.abc import AsyncIterator

import httpx
import pytest
import redis.asyncio as aioredis

from tests.conftest import Database
from tests.integration.test_orders_console_support import (
    BASE_URL,
    PASSWORD,
    Bench,
    Seller,
    running_bench,
)
from tests.support.orders import orders_settings


@pytest.fixture
async def bench(database: Database, redis_url: str, stream_prefix: str) -> AsyncIterator[Bench]:
    async with running_bench(orders_settings(database, redis_url, stream_prefix)) as running:
        yield running


async def post_form(
    seller: Seller, page: str, action: str, fields: dict[str, str]
) -> httpx.Response:
    """Open `page` and post one of its forms to `action`, as the browser would."""
    opened = await seller.client.get(page)
    assert opened.status_code == 200, opened.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', opened.text)
    assert token is not None
    headers = {"Referer": f"{BASE_URL}{page}"}
    data = {"csrf_token": token.group(1), **fields}
    return await seller.client.post(action, data=data, headers=headers)


def flash(page: httpx.Response) -> tuple[str, str] | None:
    found = re.search(r'data-testid="flash" data-kind="(\w+)">([^<]*)<', page.text)
    return None if found is None else (found.group(1), found.group(2))


def row(page: httpx.Response, testid: str, key: str, value: str) -> str:
    found = re.search(
        rf'<tr[^>]*data-testid="{testid}" {key}="{re.escape(value)}".*?</tr>', page.text, re.S
    )
    assert found is not None, f"no {testid} {value} on the page"
    return found.group(0)


async def test_a_product_is_added_edited_and_restocked_with_the_forms(bench: Bench) -> None:
    seller = await bench.seller()
    fields = {"sku": "MUG-1", "title": "On-Air Mug", "price": "14.90", "stock": "3"}
    created = await post_form(seller, "/seller", "/seller/products", fields | {"currency": "EUR"})
    assert (created.status_code, created.headers["location"]) == (303, "/seller")

    page = await seller.client.get("/seller")
    assert flash(page) == ("ok", "Added MUG-1: On-Air Mug")
    mug = row(page, "product", "data-sku", "MUG-1")
    assert "14.90 EUR" in mug
    assert 'data-testid="available" data-value="3"' in mug

    await post_form(
        seller, "/seller", "/seller/products/MUG-1/stock", {"quantity": "2", "mode": "add"}
    )
    await post_form(seller, "/seller", "/seller/products/MUG-1", {"title": "Mug", "price": "9,5"})
    [product] = (await seller.client.get("/api/seller/products")).json()
    assert (product["title"], product["price_minor"], product["available"]) == ("Mug", 950, 5)
    await post_form(
        seller, "/seller", "/seller/products/MUG-1/stock", {"quantity": "0", "mode": "set"}
    )
    assert (await seller.client.get("/api/seller/products")).json()[0]["available"] == 0


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"price": "abc"}, "price"),
        ({"price": "-1"}, "price"),
        ({"stock": "-1"}, "stock"),
        ({"title": "nul \x00 byte"}, "title"),
        ({"sku": "no spaces"}, "sku"),
        ({"image_url": "javascript:alert(1)"}, "image url"),
    ],
)
async def test_a_bad_form_comes_back_with_the_problem_and_changes_nothing(
    bench: Bench, fields: dict[str, str], problem: str
) -> None:
    seller = await bench.seller()
    good = {"sku": "CAP-1", "title": "Cap", "price": "24.90", "stock": "1"}
    answer = await post_form(seller, "/seller", "/seller/products", good | fields)

    assert (answer.status_code, answer.headers["location"]) == (303, "/seller")
    kind, text = flash(await seller.client.get("/seller")) or ("", "")
    assert kind == "error"
    assert text.startswith(f"Check the form: {problem}"), text
    assert (await seller.client.get("/api/seller/products")).json() == []


async def test_another_sellers_product_is_a_403_page_and_an_unknown_one_404(bench: Bench) -> None:
    owner, intruder = await bench.seller(), await bench.seller()
    sku = await bench.product(owner, stock=4)
    stock = {"quantity": "0", "mode": "set"}

    edit = await post_form(intruder, "/seller", f"/seller/products/{sku}", {"title": "Mine"})
    restock = await post_form(intruder, "/seller", f"/seller/products/{sku}/stock", stock)
    unknown = await post_form(intruder, "/seller", "/seller/products/NOPE/stock", stock)

    assert edit.status_code == restock.status_code == 403
    assert unknown.status_code == 404
    assert sku not in (await intruder.client.get("/seller")).text
    [product] = (await owner.client.get("/api/seller/products")).json()
    assert (product["title"], product["available"]) == (f"Product {sku}", 4)


async def test_confirmed_orders_are_cancelled_or_shipped_from_the_orders_page(
    bench: Bench, redis_client: aioredis.Redis
) -> None:
    owner, intruder = await bench.seller(), await bench.seller()
    sku = await bench.product(owner, stock=5)
    first, _ = await bench.confirmed_order(redis_client, owner, sku)
    second, _ = await bench.confirmed_order(redis_client, owner, sku)
    confirmed = "/seller/orders?status=confirmed"

    page = await owner.client.get(confirmed)
    for order_id in (first, second):
        order = row(page, "order", "data-order-id", order_id)
        assert 'data-status="confirmed"' in order
        assert 'data-testid="cancel-form"' in order
        assert 'data-testid="ship-form"' in order
    refused = await post_form(intruder, "/seller/orders", f"/seller/orders/{first}/cancel", {})
    assert refused.status_code == 403

    cancelled = await post_form(owner, confirmed, f"/seller/orders/{first}/cancel", {})
    assert (cancelled.status_code, cancelled.headers["location"]) == (303, confirmed)
    shipped = await post_form(
        owner, confirmed, f"/seller/orders/{second}/ship", {"tracking_ref": "UPS-1Z999"}
    )
    assert shipped.status_code == 303
    assert flash(await owner.client.get(confirmed)) == ("ok", f"Order {second} shipped (UPS-1Z999)")

    refunded = await owner.client.get("/seller/orders", params={"status": "refunded"})
    assert 'data-status="refunded"' in row(refunded, "order", "data-order-id", first)
    on_its_way = await owner.client.get("/seller/orders", params={"status": "shipped"})
    assert "UPS-1Z999" in row(on_its_way, "order", "data-order-id", second)
    assert first not in on_its_way.text
    again = await post_form(owner, "/seller/orders", f"/seller/orders/{first}/cancel", {})
    assert (again.status_code, again.headers["location"]) == (303, "/seller/orders")
    assert (flash(await owner.client.get("/seller/orders")) or ("",))[0] == "error"


async def test_an_unknown_status_filter_comes_back_to_all_orders(bench: Bench) -> None:
    seller = await bench.seller()
    answer = await seller.client.get("/seller/orders", params={"status": "lost"})

    assert (answer.status_code, answer.headers["location"]) == (303, "/seller/orders")
    page = await seller.client.get("/seller/orders")
    assert (flash(page) or ("",))[0] == "error"
    assert 'data-testid="no-orders"' in page.text


async def test_over_plain_http_the_cookie_is_not_secure_when_so_configured(
    sqlite_database: Database, redis_url: str, stream_prefix: str
) -> None:
    settings = orders_settings(
        sqlite_database, redis_url, stream_prefix, seller_cookie_secure=False
    )
    async with running_bench(settings) as bench:
        seller = await bench.seller(sign_in=False)
        answer = await seller.client.post(
            "/api/seller/session", json={"email": seller.email, "password": PASSWORD}
        )
    cookie = answer.headers["set-cookie"].lower()

    assert answer.status_code == 200
    assert "httponly" in cookie
    assert "samesite=strict" in cookie
    assert "secure" not in cookie.replace("samesite", "")


async def test_a_malformed_form_body_is_a_4xx_never_a_5xx(bench: Bench) -> None:
    seller = await bench.seller()
    token = seller.csrf.encode()
    bodies = [
        ("multipart/form-data; boundary=xyz", b"garbage"),
        ("multipart/form-data", b"--x\r\n"),
        ("application/x-www-form-urlencoded", b"sku=%ff%fe&title=%00&csrf_token=" + token),
        ("application/json", b'{"csrf_token": "' + token + b'"}'),
    ]
    for content_type, body in bodies:
        answer = await seller.client.post(
            "/seller/products", content=body, headers={"Content-Type": content_type}
        )
        assert answer.status_code in {303, 400, 403}, (content_type, answer.text)
    referers = [b"http://[::1", b"https://evil.example/seller", b"/\xc3\xa9\xff"]
    for referer in referers:
        answer = await seller.client.post(
            "/seller/products",
            data={"csrf_token": seller.csrf, "sku": "has space"},
            headers={b"Referer": referer},
        )
        assert (answer.status_code, answer.headers["location"]) == (303, "/seller")
    assert (await seller.client.get("/api/seller/products")).json() == []
