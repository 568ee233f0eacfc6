"""A seller uploads a product image in the console, with the real orders app, Redis and a
real database (SQLite and PostgreSQL): stored once by its SHA-256, served back by the
marketplace with strict headers, set as the product's image through the ordinary update
(so `catalog.changed` carries it), and every odd upload refused with a clear 4xx."""

import hashlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, cast

import httpx
import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, select

from contracts import CatalogChangedEvent, decode_entry
from services.orders.adapters.tables import ProductImageRow
from tests.conftest import Database
from tests.integration.test_orders_console_support import Bench, running_bench
from tests.support.flow import eventually
from tests.support.images import png
from tests.support.orders import orders_settings

Redis = aioredis.Redis
Fields = dict[bytes, bytes]
PUBLIC_URL = "https://market.example"
MAX_BYTES = 2 * 1024 * 1024


@pytest.fixture
async def bench(database: Database, redis_url: str, stream_prefix: str) -> AsyncIterator[Bench]:
    settings = orders_settings(database, redis_url, stream_prefix, public_url=PUBLIC_URL)
    async with running_bench(settings) as running:
        yield running


def upload(data: bytes, name: str = "photo.png", kind: str = "image/png") -> dict[str, Any]:
    return {"files": {"file": (name, data, kind)}}


async def image_urls(redis: Redis, stream: str, sku: str) -> list[str | None]:
    found: list[str | None] = []
    for _, fields in await redis.xrange(stream) or []:
        event = decode_entry(cast(Fields, fields), CatalogChangedEvent)
        found += [p.image_url for p in event.data.products if p.sku == sku]
    return found


async def stored_images(bench: Bench, sha256: str) -> int:
    async with bench.runtime.engine.connect() as conn:
        count = await conn.scalar(
            select(func.count()).where(ProductImageRow.sha256 == sha256)  # type: ignore[arg-type]
        )
    return int(count or 0)


async def test_an_uploaded_png_becomes_the_products_image_and_is_served_back(
    bench: Bench, redis_client: Redis
) -> None:
    seller = await bench.seller()
    sku = await bench.product(seller)
    image = png(3, 2)
    sha256 = hashlib.sha256(image).hexdigest()
    url = f"{PUBLIC_URL}/media/products/{sha256}.png"

    # The client says text/plain: the bytes decide.
    answer = await seller.client.post(
        f"/api/seller/products/{sku}/image",
        headers=seller.writes,
        **upload(image, "whatever.bin", "text/plain"),
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["image_url"] == url
    [product] = (await seller.client.get("/api/seller/products")).json()
    assert product["image_url"] == url

    anyone = await bench.client()
    served = await anyone.get(f"/media/products/{sha256}.png")
    assert served.status_code == 200
    assert served.content == image
    assert served.headers["content-type"] == "image/png"
    assert served.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert served.headers["content-security-policy"] == "default-src 'none'"

    stream = bench.settings.streams.catalog_changed
    await eventually(
        lambda: image_urls(redis_client, stream, sku), until=lambda u: url in u, timeout=10
    )

    # The same image again (for a second product) is still one row.
    other_sku = await bench.product(seller)
    again = await seller.client.post(
        f"/api/seller/products/{other_sku}/image", headers=seller.writes, **upload(image)
    )
    assert (again.status_code, again.json()["image_url"]) == (200, url)
    assert await stored_images(bench, sha256) == 1

    # The address the marketplace made is accepted back by the ordinary update.
    patched = await seller.client.patch(
        f"/api/seller/products/{sku}", json={"image_url": url}, headers=seller.writes
    )
    assert patched.status_code == 200, patched.text
    # ...but another origin's look-alike over http is not.
    foreign = f"http://evil.example/media/products/{sha256}.png"
    refused = await seller.client.patch(
        f"/api/seller/products/{sku}", json={"image_url": foreign}, headers=seller.writes
    )
    assert refused.status_code == 422, refused.text


async def test_the_console_page_uploads_with_its_form_and_comes_back(bench: Bench) -> None:
    seller = await bench.seller()
    sku = await bench.product(seller)
    page = await seller.client.get("/seller")
    assert f'action="/seller/products/{sku}/image"' in page.text
    assert 'enctype="multipart/form-data"' in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    image = png(1, 1)

    posted = await seller.client.post(
        f"/seller/products/{sku}/image",
        data={"csrf_token": token.group(1)},
        files={"file": ("one.png", image, "image/png")},
    )
    assert posted.status_code == 303, posted.text
    assert posted.headers["location"] == "/seller"
    sha256 = hashlib.sha256(image).hexdigest()
    shown = await seller.client.get("/seller")
    assert f'src="{PUBLIC_URL}/media/products/{sha256}.png"' in shown.text
    # The console may be reached at another origin than ORDERS_PUBLIC_URL's: its CSP
    # lets the uploaded images in from there (the media path only, besides https:).
    assert (
        f"img-src 'self' https: data: {PUBLIC_URL}/media/products/;"
        in (shown.headers["content-security-policy"])
    )
    assert "New image for" in shown.text

    stale = await seller.client.post(
        f"/seller/products/{sku}/image",
        data={"csrf_token": "wrong"},
        files={"file": ("one.png", image, "image/png")},
    )
    assert stale.status_code == 403
    text = await seller.client.post(
        f"/seller/products/{sku}/image",
        data={"csrf_token": token.group(1)},
        files={"file": ("notes.png", b"just some text", "image/png")},
    )
    assert text.status_code == 303  # back to the page, with the refusal as its flash
    assert "PNG, JPEG, WebP and GIF" in (await seller.client.get("/seller")).text


async def test_every_odd_upload_is_refused_with_a_clear_4xx(bench: Bench) -> None:
    owner, intruder = await bench.seller(), await bench.seller()
    sku = await bench.product(owner)
    path = f"/api/seller/products/{sku}/image"
    image = png()

    stranger = await bench.client()
    too_large = image + b"\0" * (MAX_BYTES + 1 - len(image))
    writes = owner.writes
    cases: list[tuple[str, Callable[[], Awaitable[httpx.Response]], int]] = [
        ("another seller",
         lambda: intruder.client.post(path, headers=intruder.writes, **upload(image)), 403),
        ("unknown sku", lambda: owner.client.post(
            "/api/seller/products/NO-SUCH-SKU/image", headers=writes, **upload(image)), 404),
        ("no session", lambda: stranger.post(path, headers=writes, **upload(image)), 401),
        ("no CSRF token", lambda: owner.client.post(path, **upload(image)), 403),
        ("too large", lambda: owner.client.post(path, headers=writes, **upload(too_large)), 413),
        ("text named .png", lambda: owner.client.post(
            path, headers=writes, **upload(b"hello, not an image\n", "a.png")), 415),
        ("empty", lambda: owner.client.post(path, headers=writes, **upload(b"")), 422),
        ("no file", lambda: owner.client.post(path, headers=writes, data={"other": "x"}), 422),
        ("not multipart", lambda: owner.client.post(path, headers=writes, json={"f": "x"}), 422),
    ]  # fmt: skip
    for name, call, status in cases:
        answer = await call()
        assert answer.status_code == status, (name, answer.text)
        assert "detail" in answer.json(), name

    [product] = (await owner.client.get("/api/seller/products")).json()
    assert product["image_url"] is None


async def test_exactly_the_limit_is_accepted_and_the_limit_is_a_setting(
    database: Database, redis_url: str, stream_prefix: str
) -> None:
    settings = orders_settings(
        database, redis_url, stream_prefix, public_url=PUBLIC_URL, max_image_bytes=4096
    )
    async with running_bench(settings) as bench:
        seller = await bench.seller()
        sku = await bench.product(seller)
        path = f"/api/seller/products/{sku}/image"
        image = png()
        at_limit = image + b"\0" * (4096 - len(image))
        fits = await seller.client.post(path, headers=seller.writes, **upload(at_limit))
        assert fits.status_code == 200, fits.text
        over = await seller.client.post(path, headers=seller.writes, **upload(at_limit + b"\0"))
        assert over.status_code == 413, over.text


async def test_bad_media_names_are_404(bench: Bench) -> None:
    seller = await bench.seller()
    sku = await bench.product(seller)
    image = png()
    sha256 = hashlib.sha256(image).hexdigest()
    stored = await seller.client.post(
        f"/api/seller/products/{sku}/image", headers=seller.writes, **upload(image)
    )
    assert stored.status_code == 200, stored.text
    client = await bench.client()
    assert (await client.get(f"/media/products/{sha256}.png")).status_code == 200
    for name in [
        f"{sha256}.jpg",  # stored as a PNG
        f"{sha256.upper()}.png",
        f"{sha256}.PNG",
        f"{sha256}.png.html",
        f"{sha256}",
        f"{sha256[:-1]}.png",
        f"{'0' * 64}.png",  # well formed, never stored
        "..%2F..%2Fetc%2Fpasswd",
        "%00.png",
        "x" * 300 + ".png",
    ]:
        answer = await client.get(f"/media/products/{name}")
        assert answer.status_code == 404, name
        assert not answer.headers["content-type"].startswith("image/"), name
