"""The buyer's pages when their live streams drop, in a real headless Chromium against the whole
stack as real processes, the browser reaching the notifier through a link the test cuts: a
"Reconnecting…" banner and stale stock while it is down, buying still possible, and on the
way back the stock, the room and the buyer's statuses missed meanwhile, without a reload."""

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from playwright.async_api import Browser, Page, ViewportSize, expect

from contracts import Streams
from infra.local.redis_server import free_port
from tests.support.browser import FlakyLink, artifact
from tests.support.demo import DEMO_PRODUCTS, DEMO_ROOM_ID, DEMO_SELLER_EMAIL
from tests.support.flow import final_statuses
from tests.support.stack import ServiceProcess, demo_seller_password, running_stack, service_env

pytestmark = pytest.mark.slow

PHONE: ViewportSize = {"width": 390, "height": 844}
HOODIE, MUG, CAP = DEMO_PRODUCTS
Stack = tuple[dict[str, ServiceProcess], FlakyLink]


@pytest.fixture
async def flaky_notifier(
    redis_url: str, stream_prefix: str, tmp_path: Path
) -> AsyncIterator[Stack]:
    """The stack, with browsers reaching the notifier through a link the test can cut."""
    link = FlakyLink(target_port=0, port=free_port())
    env = service_env(redis_url=redis_url, stream_prefix=stream_prefix, workdir=tmp_path)
    with running_stack(env, tmp_path, notifier_public_url=link.url) as services:
        link.target_port = services["notifier"].port
        await link.restore()
        try:
            yield services, link
        finally:
            await link.cut()


@pytest.fixture
async def console(flaky_notifier: Stack) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """The demo seller signed in to the marketplace console's API: (client, CSRF token)."""
    stack, _ = flaky_notifier
    async with httpx.AsyncClient(base_url=stack["orders"].base_url) as client:
        signed_in = await client.post(
            "/api/seller/session",
            json={"email": DEMO_SELLER_EMAIL, "password": demo_seller_password(stack)},
        )
        assert signed_in.status_code == 200, signed_in.text
        yield client, signed_in.json()["csrf_token"]


async def open_page(browser: Browser, url: str) -> Page:
    context = await browser.new_context(viewport=PHONE, reduced_motion="reduce")
    page = await context.new_page()
    await page.goto(url)
    await page.evaluate("window.sameDocument = true")  # gone if the page ever reloads
    return page


async def buy(page: Page, sku: str, quantity: int = 1) -> str:
    """Taps buy in the room; the checkout id of the 202."""
    await page.locator(f'[data-testid=cart-button][data-sku="{sku}"]').click()
    await page.get_by_test_id("quantity").fill(str(quantity))
    async with page.expect_response("**/api/checkouts") as accepted:
        await page.get_by_test_id("buy-button").click()
    answer = await accepted.value
    assert answer.status == 202
    checkout_id: str = (await answer.json())["checkout_id"]
    return checkout_id


async def another_buyer_buys(storefront: str, sku: str, quantity: int) -> str:
    async with httpx.AsyncClient(base_url=storefront) as client:
        token = (await client.post("/api/sessions")).json()["token"]
        answer = await client.post(
            "/api/checkouts",
            json={"room_id": DEMO_ROOM_ID, "items": [{"sku": sku, "quantity": quantity}]},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 202, answer.text
    checkout_id: str = answer.json()["checkout_id"]
    return checkout_id


def stock_of(page: Page, sku: str) -> Any:
    return page.locator(f'[data-testid=stock][data-sku="{sku}"]')


async def test_a_room_whose_streams_drop_says_reconnecting_and_catches_up_on_stock_and_orders(
    flaky_notifier: Stack,
    console: tuple[httpx.AsyncClient, str],
    browser: Browser,
    redis_client: aioredis.Redis,
    stream_prefix: str,
) -> None:
    stack, link = flaky_notifier
    storefront = stack["storefront"].base_url
    page = await open_page(browser, f"{storefront}/rooms/{DEMO_ROOM_ID}")
    room = page.get_by_test_id("room")
    await expect(room).to_have_attribute("data-room-stream", "live", timeout=10_000)
    await expect(room).to_have_attribute("data-order-updates", "live", timeout=10_000)
    # A first order, so the buyer's stream has an event id to resume from.
    first = await buy(page, HOODIE.sku)
    status = page.get_by_test_id("order-status")
    await expect(status).to_have_attribute("data-status", "confirmed", timeout=20_000)
    await expect(stock_of(page, HOODIE.sku)).to_have_attribute(
        "data-available", str(HOODIE.stock - 1)
    )
    banner = page.get_by_test_id("reconnecting")
    await expect(banner).to_have_count(0)

    # The network drops: the banner says so, the stock is marked stale.
    await link.cut()
    await expect(banner).to_be_visible(timeout=10_000)
    await expect(banner).to_contain_text("Reconnecting…")
    await expect(page.get_by_test_id("connection")).to_have_attribute("role", "status")
    await expect(room).to_have_attribute("data-stock", "stale")
    await expect(room).to_have_attribute("data-connection", "reconnecting")

    # Meanwhile another buyer takes two mugs, the seller restocks the cap...
    order_status = Streams(stream_prefix).order_status
    other = await another_buyer_buys(storefront, MUG.sku, 2)
    client, csrf_token = console
    restocked = await client.post(
        f"/api/seller/products/{CAP.sku}/stock",
        json={"add": 5},
        headers={"X-CSRF-Token": csrf_token},
    )
    assert restocked.status_code == 200, restocked.text
    # ...and this buyer buys on the stale page: the drawer warns, the shop decides.
    await page.locator(f'[data-testid=cart-button][data-sku="{HOODIE.sku}"]').click()
    await expect(page.get_by_test_id("drawer-stale")).to_be_visible()
    await page.locator("#drawer-close").click()
    missed = await buy(page, HOODIE.sku, 2)
    await final_statuses(redis_client, order_status, [other, missed], timeout=20)
    # Nothing of it reached the page while it was cut off.
    await expect(status).to_have_attribute("data-status", "accepted")
    await expect(stock_of(page, MUG.sku)).to_have_attribute("data-available", str(MUG.stock))
    await expect(banner).to_be_visible()
    await page.screenshot(path=artifact("room-reconnecting.png"), full_page=True)

    # Back: the banner goes, the stock and the missed statuses follow, without a reload.
    await link.restore()
    await expect(banner).to_have_count(0, timeout=20_000)
    await expect(status).to_have_attribute("data-status", "confirmed", timeout=20_000)
    await expect(page.get_by_test_id("order-reference")).to_have_text(
        re.compile(r"^LC-[0-9A-Z]{4}-[0-9A-Z]{4}$")
    )
    missed_row = page.locator(f'[data-testid=order][data-checkout-id="{missed}"]')
    await expect(missed_row).to_have_attribute("data-status", "confirmed")
    await expect(stock_of(page, MUG.sku)).to_have_attribute("data-available", str(MUG.stock - 2))
    await expect(stock_of(page, CAP.sku)).to_have_attribute("data-available", str(CAP.stock + 5))
    await expect(stock_of(page, HOODIE.sku)).to_have_attribute(
        "data-available", str(HOODIE.stock - 3)
    )
    await expect(room).not_to_have_attribute("data-stock", "stale")
    await expect(room).to_have_attribute("data-connection", "live")
    assert await page.locator(f'[data-testid=order][data-checkout-id="{first}"]').count() == 1
    assert await page.evaluate("window.sameDocument") is True
    resumed = [r for r in link.requests if r.startswith("GET /events/buyers/me")][1:]
    assert resumed, "the buyer stream never reconnected"
    assert all("\r\nLast-Event-ID: " in request for request in resumed)
    await page.screenshot(path=artifact("room-resynced.png"), full_page=True)


async def test_the_orders_page_says_reconnecting_and_shows_the_status_it_missed(
    flaky_notifier: Stack, console: tuple[httpx.AsyncClient, str], browser: Browser
) -> None:
    stack, link = flaky_notifier
    storefront = stack["storefront"].base_url
    room = await open_page(browser, f"{storefront}/rooms/{DEMO_ROOM_ID}")
    checkout_id = await buy(room, MUG.sku)
    await expect(room.get_by_test_id("order-status")).to_have_attribute(
        "data-status", "confirmed", timeout=20_000
    )
    page = room
    await page.goto(f"{storefront}/orders")
    await page.evaluate("window.sameDocument = true")
    card = page.locator(f'[data-testid=order][data-checkout-id="{checkout_id}"]')
    await expect(card).to_have_attribute("data-status", "confirmed", timeout=10_000)
    root = page.get_by_test_id("my-orders")
    await expect(root).to_have_attribute("data-order-updates", "live")

    await link.cut()
    banner = page.get_by_test_id("reconnecting")
    await expect(banner).to_be_visible(timeout=10_000)
    # The seller ships it while the page is cut off.
    client, csrf_token = console
    order_id = next(
        o["order_id"]
        for o in (await client.get("/api/seller/orders")).json()
        if o["checkout_id"] == checkout_id
    )
    shipped = await client.post(
        f"/api/seller/orders/{order_id}/ship",
        json={"tracking_ref": "TRACK-9"},
        headers={"X-CSRF-Token": csrf_token},
    )
    assert shipped.status_code == 200, shipped.text
    await expect(card).to_have_attribute("data-status", "confirmed")
    await page.screenshot(path=artifact("my-orders-reconnecting.png"), full_page=True)

    await link.restore()
    await expect(banner).to_have_count(0, timeout=20_000)
    await expect(card).to_have_attribute("data-status", "shipped", timeout=20_000)
    assert await card.get_by_test_id("order-history").locator("li").evaluate_all(
        "items => items.map(i => i.dataset.status)"
    ) == ["received", "reserved", "paid", "confirmed", "shipped"]
    assert await page.get_by_test_id("order").count() == 1
    assert await page.evaluate("window.sameDocument") is True
