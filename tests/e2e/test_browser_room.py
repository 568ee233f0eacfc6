"""The live room in a real headless Chromium against the whole stack as real processes."""

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis
from playwright.async_api import Browser, Page, Route, ViewportSize

from contracts import Streams
from infra.local.redis_server import free_port
from tests.support.browser import FlakyLink, artifact
from tests.support.demo import DEMO_PRODUCTS
from tests.support.flow import final_statuses
from tests.support.stack import ServiceProcess, running_stack, service_env

pytestmark = pytest.mark.slow

PHONE: ViewportSize = {"width": 390, "height": 844}
HOODIE, _MUG, CAP = DEMO_PRODUCTS
FINAL = ":is([data-status=confirmed], [data-status=rejected], [data-status=expired])"


async def open_room(browser: Browser, stack: dict[str, ServiceProcess]) -> Page:
    # Reduced motion: the drawer opens without sliding in, so a tap lands at once (a
    # race for the last unit must not be decided by an animation).
    context = await browser.new_context(viewport=PHONE, reduced_motion="reduce")
    page = await context.new_page()
    await page.goto(f"{stack['storefront'].base_url}/rooms/demo")
    return page


async def buy(page: Page, sku: str, quantity: int = 1) -> None:
    await page.locator(f'[data-testid=cart-button][data-sku="{sku}"]').click()
    await page.get_by_test_id("quantity").fill(str(quantity))
    await page.get_by_test_id("buy-button").click()


async def final_status_of(page: Page) -> tuple[str, str, str]:
    """Waits for the latest order's final status: (status, reason, sentence)."""
    status = page.locator(f"[data-testid=order-status]{FINAL}")
    await status.wait_for(timeout=20_000)
    return (
        await status.get_attribute("data-status") or "",
        await status.get_attribute("data-reason") or "",
        await status.inner_text(),
    )


async def test_a_buyer_taps_the_cart_buys_and_sees_confirmed_without_leaving_the_room(
    stack: dict[str, ServiceProcess], browser: Browser
) -> None:
    page = await open_room(browser, stack)
    room_url = page.url

    await page.get_by_test_id("cart-button").first.click()
    await page.get_by_test_id("quantity").fill("1")
    await page.get_by_test_id("buy-button").click()

    status = page.get_by_test_id("order-status")
    await status.and_(page.locator('[data-status="confirmed"]')).wait_for(timeout=20_000)
    order = page.locator('[data-testid=order][data-status="confirmed"]')
    assert (
        await order.get_attribute("data-checkout-id")
        == await page.get_by_test_id("checkout-id").inner_text()
    )
    # The room's own stream: stock went down, the ticker shows the purchase, one viewer.
    stock = page.locator(f'[data-testid=stock][data-sku="{HOODIE.sku}"]')
    await stock.and_(page.locator(f'[data-available="{HOODIE.stock - 1}"]')).wait_for()
    await (
        page.get_by_test_id("ticker")
        .get_by_text(f"bought 1 \N{MULTIPLICATION SIGN} {HOODIE.title}")
        .wait_for()
    )
    assert await page.get_by_test_id("viewer-count").inner_text() == "1"
    await page.screenshot(path=artifact("room-confirmed.png"), full_page=True)
    await page.screenshot(path=artifact("room.png"), full_page=True)
    await page.set_viewport_size({"width": 1280, "height": 800})
    await page.screenshot(path=artifact("room-desktop.png"), full_page=True)

    assert page.url == room_url  # never left the stream
    # The buyer cookie is HttpOnly: the page's scripts cannot read the token.
    assert "livecart_buyer" not in await page.evaluate("document.cookie")


async def test_two_buyers_race_for_the_last_unit_one_is_confirmed_the_other_told_sold_out(
    last_unit_stack: dict[str, ServiceProcess], browser: Browser
) -> None:
    pages = [await open_room(browser, last_unit_stack) for _ in range(2)]
    for page in pages:
        await page.locator(
            f'[data-testid=stock][data-sku="{CAP.sku}"][data-available="1"]'
        ).wait_for()
        await page.locator(f'[data-testid=cart-button][data-sku="{CAP.sku}"]').click()
        await page.get_by_test_id("quantity").fill("1")

    # Both taps reach the storefront together, however the two clicks are scheduled.
    both_tapped = asyncio.Barrier(len(pages))

    async def hold_until_both_tapped(route: Route) -> None:
        await both_tapped.wait()
        await route.continue_()

    for page in pages:
        await page.route("**/api/checkouts", hold_until_both_tapped)
    await asyncio.gather(*(page.get_by_test_id("buy-button").click() for page in pages))
    outcomes = [await final_status_of(page) for page in pages]

    assert sorted((status, reason) for status, reason, _ in outcomes) == [
        ("confirmed", ""),
        ("rejected", "out_of_stock"),
    ]
    for page, (status, _reason, sentence) in zip(pages, outcomes, strict=True):
        if status == "rejected":
            assert sentence.startswith("Sold out")
            assert "not been charged" in sentence
            badge = page.locator("[data-testid=order][data-status=rejected] .badge")
            assert await badge.inner_text() == "Sold out"
        # Both rooms learn the cap is gone, and its cart can no longer be tapped.
        sold_out = page.locator(f'[data-testid=stock][data-sku="{CAP.sku}"][data-available="0"]')
        await sold_out.wait_for()
        assert await sold_out.inner_text() == "Sold out"
        assert await page.locator(f'[data-testid=cart-button][data-sku="{CAP.sku}"]').is_disabled()
        await page.screenshot(path=artifact(f"race-{status}.png"), full_page=True)


@pytest.fixture
async def flaky_notifier(
    redis_url: str, stream_prefix: str, tmp_path: Path
) -> AsyncIterator[tuple[dict[str, ServiceProcess], FlakyLink]]:
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


async def test_a_buyer_whose_network_drops_mid_order_catches_up_to_the_final_status(
    flaky_notifier: tuple[dict[str, ServiceProcess], FlakyLink],
    browser: Browser,
    redis_client: aioredis.Redis,
    stream_prefix: str,
) -> None:
    stack, link = flaky_notifier
    page = await open_room(browser, stack)
    # A first order, so the stream has an event id to resume from.
    await buy(page, HOODIE.sku)
    assert (await final_status_of(page))[0] == "confirmed"

    context = page.context

    async def drop_network_when_accepted(route: Route) -> None:
        # The buyer's stream is cut before the checkout reaches the storefront, so no
        # status of it can slip through first; the page sees its 202, then no network.
        await link.cut()
        answer = await route.fetch()
        await context.set_offline(True)
        await route.fulfill(response=answer)

    await page.route("**/api/checkouts", drop_network_when_accepted)
    async with page.expect_response("**/api/checkouts") as accepted:
        await buy(page, HOODIE.sku, quantity=2)
    checkout_id = (await (await accepted.value).json())["checkout_id"]

    # The marketplace finishes the order while the buyer is offline...
    order_status = Streams(stream_prefix).order_status
    await final_statuses(redis_client, order_status, [checkout_id], timeout=20)
    await page.locator("[data-testid=room][data-order-updates=reconnecting]").wait_for()
    assert await page.get_by_test_id("order-status").get_attribute("data-status") == "accepted"
    await page.screenshot(path=artifact("room-offline.png"), full_page=True)

    # ...and once back, the tracker catches up from where its stream left off.
    await context.set_offline(False)
    await link.restore()
    latest = page.locator(f'[data-testid=order][data-checkout-id="{checkout_id}"]')
    await latest.and_(page.locator("[data-status=confirmed]")).wait_for(timeout=20_000)
    assert await page.get_by_test_id("checkout-id").inner_text() == checkout_id
    assert await page.locator("[data-testid=order][data-status=confirmed]").count() == 2
    opened = [r for r in link.requests if r.startswith("GET /events/buyers/me")]
    resumed = opened[1:]
    assert resumed, "the buyer stream never reconnected"
    assert all("\r\nLast-Event-ID: " in request for request in resumed)
    # Every connection carried the buyer cookie, and no token in its URL.
    assert all(r.startswith("GET /events/buyers/me HTTP/1.1\r\n") for r in opened)
    assert all(re.search(r"\r\ncookie: [^\r]*livecart_buyer=", r, re.I) for r in opened)
    await page.screenshot(path=artifact("room-reconnected.png"), full_page=True)


@pytest.fixture
def stingy_notifier(
    redis_url: str, stream_prefix: str, tmp_path: Path
) -> Iterator[dict[str, ServiceProcess]]:
    """The stack with a notifier that lets one stream connect per address every 2 s: the
    room page opens two at once (the room's and the buyer's), so one is refused with 429."""
    env = service_env(
        redis_url=redis_url, stream_prefix=stream_prefix, workdir=tmp_path,
        NOTIFIER_RATE_LIMIT_CONNECTS_PER_ADDRESS="1/2 seconds",
    )  # fmt: skip
    with running_stack(env, tmp_path) as services:
        yield services


async def test_a_room_whose_streams_the_notifier_refused_opens_them_again_and_buys(
    stingy_notifier: dict[str, ServiceProcess], browser: Browser
) -> None:
    """An EventSource gives up for good on an HTTP error; the page opens a new one later.
    The confirmed status comes only on the buyer's stream, the ticker only on the room's."""
    page = await open_room(browser, stingy_notifier)
    # Both streams open before the tap: a purchase is pushed only to rooms connected then.
    live = page.locator("[data-testid=room][data-order-updates=live][data-room-stream=live]")
    await live.wait_for(timeout=30_000)
    await buy(page, HOODIE.sku)
    assert (await final_status_of(page))[0] == "confirmed"
    ticker = page.get_by_test_id("ticker")
    bought = f"bought 1 \N{MULTIPLICATION SIGN} {HOODIE.title}"
    await ticker.get_by_text(bought).wait_for(timeout=30_000)

    async with httpx.AsyncClient(base_url=stingy_notifier["notifier"].base_url) as notifier:
        metrics = (await notifier.get("/metrics")).text
    refused = [
        line for line in metrics.splitlines()
        if line.startswith("livecart_rate_limited_total{") and not line.endswith(" 0.0")
    ]  # fmt: skip
    assert refused, "the notifier never refused a stream: the test proves nothing"
