"""Paying inside the live room, in a real headless Chromium against the whole stack as real
processes in hosted payment mode: a buyer's order waits at `reserved`, the marketplace's
own payment page opens in the room's dialog (a frame of the marketplace's origin), and
the buyer approves (confirmed), declines (rejected, stock back) or lets it run out
(expired, stock back). The storefront only embeds the page's URL."""

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, FrameLocator, Locator, Page, ViewportSize, expect

from tests.support.browser import artifact
from tests.support.demo import DEMO_PRODUCTS, DEMO_ROOM_ID
from tests.support.stack import ServiceProcess, running_stack, service_env

pytestmark = pytest.mark.slow

PHONE: ViewportSize = {"width": 390, "height": 844}
HOODIE, MUG, CAP = DEMO_PRODUCTS
# Long enough for a buyer to answer on a busy machine, short enough to wait for expiry.
HOLD_SECONDS = 15


@pytest.fixture
def hosted_stack(
    redis_url: str, stream_prefix: str, tmp_path: Path
) -> Iterator[dict[str, ServiceProcess]]:
    """The demo with the marketplace's hosted payment page and a short payment deadline."""
    env = service_env(
        redis_url=redis_url, stream_prefix=stream_prefix, workdir=tmp_path,
        ORDERS_PAYMENT_MODE="hosted", ORDERS_HOLD_SECONDS=str(HOLD_SECONDS),
        ORDERS_EXPIRY_SCAN_SECONDS="0.5",
        ORDERS_PAYMENT_TICKET_SECRET="e2e-payment-ticket-secret-0123456789abcdef",
    )  # fmt: skip
    with running_stack(env, tmp_path) as services:
        yield services


async def open_room(browser: Browser, stack: dict[str, ServiceProcess]) -> Page:
    """A new buyer (own context, own cookie) in the demo room, both streams live."""
    context = await browser.new_context(viewport=PHONE, reduced_motion="reduce")
    page = await context.new_page()
    await page.goto(f"{stack['storefront'].base_url}/rooms/{DEMO_ROOM_ID}")
    live = page.locator("[data-testid=room][data-order-updates=live][data-room-stream=live]")
    await expect(live).to_have_count(1, timeout=15_000)
    return page


def card(page: Page, sku: str) -> Locator:
    return page.locator(f'[data-testid=product][data-sku="{sku}"]')


async def available(page: Page, sku: str) -> int:
    value = await card(page, sku).get_attribute("data-available")
    assert value is not None
    assert value.isdigit(), value
    return int(value)


async def buy_one(page: Page, sku: str) -> FrameLocator:
    """Tap the cart, buy one; the marketplace's page, once it shows in the dialog."""
    await card(page, sku).get_by_test_id("cart-button").click()
    await page.get_by_test_id("quantity").fill("1")
    await page.get_by_test_id("buy-button").click()
    dialog = page.get_by_test_id("payment-dialog")
    await expect(dialog).to_be_visible(timeout=15_000)
    frame = page.frame_locator("[data-testid=payment-frame]")
    await expect(frame.get_by_test_id("pay-approve")).to_be_visible(timeout=10_000)
    return frame


async def test_buyers_approve_decline_or_let_the_marketplaces_payment_page_run_out_in_the_room(
    hosted_stack: dict[str, ServiceProcess], browser: Browser
) -> None:
    stack = hosted_stack
    orders = stack["orders"].base_url
    status = "[data-testid=order-status]"

    # A buyer taps buy: the marketplace's page opens over the live, from its own origin.
    first = await open_room(browser, stack)
    frame = await buy_one(first, MUG.sku)
    src = await first.get_by_test_id("payment-frame").get_attribute("src")
    assert src is not None
    assert src.startswith(f"{orders}/pay/")
    await expect(first.locator(status)).to_have_attribute("data-status", "reserved")
    await expect(frame.get_by_test_id("pay-total")).to_have_text(re.compile(r"\d"))
    await expect(frame.locator("[data-testid=pay-countdown] .clock")).to_have_text(
        re.compile(r"^0:(0\d|1[0-5])$")
    )
    await expect(frame.get_by_test_id("pay-method")).to_be_checked()
    await first.screenshot(path=artifact("room-payment-dialog.png"))

    # ...approves: the dialog closes and the room says confirmed.
    await frame.get_by_test_id("pay-approve").click()
    await expect(first.get_by_test_id("payment-dialog")).to_be_hidden(timeout=15_000)
    await expect(first.locator(status)).to_have_attribute("data-status", "confirmed")
    await expect(first.get_by_test_id("payment-resume")).to_be_hidden()

    # A second buyer declines: rejected, and the held unit is back on the card.
    second = await open_room(browser, stack)
    before = await available(second, MUG.sku)
    frame = await buy_one(second, MUG.sku)
    await expect(card(second, MUG.sku)).to_have_attribute("data-available", str(before - 1))
    await frame.get_by_test_id("pay-decline").click()
    await expect(second.get_by_test_id("payment-dialog")).to_be_hidden(timeout=15_000)
    latest = second.locator(status)
    await expect(latest).to_have_attribute("data-status", "rejected")
    await expect(latest).to_have_attribute("data-reason", "payment_failed")
    await expect(latest).to_contain_text("You declined the payment")
    await expect(card(second, MUG.sku)).to_have_attribute("data-available", str(before))

    # A third buyer does not answer: at the deadline the order expires, the unit is back.
    third = await open_room(browser, stack)
    before = await available(third, CAP.sku)
    await buy_one(third, CAP.sku)
    await expect(third.get_by_test_id("payment-dialog")).to_be_hidden(
        timeout=(HOLD_SECONDS + 15) * 1000
    )
    await expect(third.locator(status)).to_have_attribute("data-status", "expired")
    await expect(card(third, CAP.sku)).to_have_attribute("data-available", str(before))


async def test_the_payment_page_refuses_bad_tickets_and_is_framed_by_the_storefront_only(
    hosted_stack: dict[str, ServiceProcess],
) -> None:
    orders = hosted_stack["orders"].base_url
    storefront = hosted_stack["storefront"].base_url
    async with httpx.AsyncClient(base_url=orders) as client:
        forged = await client.get("/pay/co-1?ticket=not.a.ticket")
        none = await client.get("/pay/co-1")
        bad_id = await client.get("/pay/%2e%2e?ticket=x")
        post = await client.post("/pay/co-1/approve", data={"ticket": "x", "method": "card"})
    assert [forged.status_code, none.status_code, post.status_code] == [403, 403, 403]
    assert bad_id.status_code in (403, 404)
    policy = forged.headers["content-security-policy"]
    assert f"frame-ancestors {storefront}" in policy
    async with httpx.AsyncClient(base_url=storefront) as client:
        room = await client.get(f"/rooms/{DEMO_ROOM_ID}")
    frame_src = room.headers["content-security-policy"].split("frame-src", 1)[1].split(";")[0]
    assert orders in frame_src
