"""The buyer's live room for the seller's half, in a real headless Chromium against the whole
stack as real processes: the seller drives the storefront's seller API (deals, pins, the
live state), the marketplace decides, the notifier pushes, the page follows without reload."""

import re
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, ViewportSize, expect

from tests.support.browser import artifact
from tests.support.demo import DEMO_PRODUCTS, DEMO_ROOM_ID, DEMO_SELLER_EMAIL
from tests.support.stack import ServiceProcess, running_stack, service_env

pytestmark = pytest.mark.slow

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 800}
HOODIE, MUG, CAP = DEMO_PRODUCTS


# Records what the latest order's status and actions showed: each status it left (a
# mutation's old value), then the current one; each sentence replaced; each actions text.
RECORD_CHANGES = """() => {
  const status = document.querySelector("[data-testid=order-status]");
  const actions = document.querySelector("[data-testid=order][aria-current=true] .order-actions");
  const seen = { statuses: [], texts: [], actions: [], current: status.dataset.status };
  window.seen = seen;
  new MutationObserver((records) => {
    for (const r of records) {
      if (r.type === "attributes") seen.statuses.push(r.oldValue);
      r.removedNodes.forEach((node) => seen.texts.push(node.textContent));
    }
    seen.current = status.dataset.status;
  }).observe(status, {
    attributes: true, attributeFilter: ["data-status"], attributeOldValue: true, childList: true,
  });
  new MutationObserver(() => seen.actions.push(actions.innerText))
    .observe(actions, { subtree: true, childList: true, characterData: true });
}"""


class SellerApi:
    """The demo seller, signed in to the storefront's JSON API (cookie and CSRF token)."""

    def __init__(self, client: httpx.AsyncClient, csrf_token: str) -> None:
        self.client, self.csrf_token = client, csrf_token

    async def change(self, method: str, path: str, body: object = None) -> httpx.Response:
        response = await self.client.request(
            method, f"/api/seller/rooms/{DEMO_ROOM_ID}{path}", json=body,
            headers={"X-CSRF-Token": self.csrf_token},
        )  # fmt: skip
        assert response.status_code in (200, 201, 202), (path, response.text)
        return response


@pytest.fixture
def live_stack(
    redis_url: str, stream_prefix: str, tmp_path: Path
) -> Iterator[tuple[dict[str, ServiceProcess], str]]:
    """The demo with the demo seller's account on the storefront; the seller's password."""
    password = secrets.token_urlsafe(16)
    env = service_env(
        redis_url=redis_url, stream_prefix=stream_prefix, workdir=tmp_path,
        LIVECART_DEMO_SELLER_PASSWORD=password, LIVECART_SELLER_COOKIE_SECURE="false",
    )  # fmt: skip
    with running_stack(env, tmp_path) as services:
        yield services, password


@pytest.fixture
async def seller(live_stack: tuple[dict[str, ServiceProcess], str]) -> AsyncIterator[SellerApi]:
    services, password = live_stack
    async with httpx.AsyncClient(base_url=services["storefront"].base_url) as client:
        signed_in = await client.post(
            "/api/seller/session", json={"email": DEMO_SELLER_EMAIL, "password": password}
        )
        assert signed_in.status_code == 200, signed_in.text
        yield SellerApi(client, signed_in.json()["csrf_token"])


async def open_room(
    browser: Browser, stack: dict[str, ServiceProcess], viewport: ViewportSize = PHONE
) -> Page:
    context = await browser.new_context(viewport=viewport, reduced_motion="reduce", locale="en-US")
    page = await context.new_page()
    await page.goto(f"{stack['storefront'].base_url}/rooms/{DEMO_ROOM_ID}")
    # Set once: gone if the page ever reloads.
    await page.evaluate("window.sameDocument = true")
    return page


def card(page: Page, sku: str) -> Locator:
    return page.locator(f'[data-testid=product][data-sku="{sku}"]')


async def buy(page: Page, sku: str, quantity: int) -> None:
    await card(page, sku).get_by_test_id("cart-button").click()
    await page.get_by_test_id("quantity").fill(str(quantity))
    await page.get_by_test_id("buy-button").click()


async def test_a_flash_deal_counts_down_on_its_card_then_runs_and_the_marketplace_holds_its_limit(
    live_stack: tuple[dict[str, ServiceProcess], str], seller: SellerApi, browser: Browser
) -> None:
    stack, _ = live_stack
    page = await open_room(browser, stack)
    await seller.change("POST", "/deals", {
        "sku": HOODIE.sku, "price_minor": 3990, "units_cap": 3, "per_buyer_limit": 1,
        "starts_in_seconds": 8,
    })  # fmt: skip
    hoodie = card(page, HOODIE.sku)

    # The marketplace took the deal and announced it: the card counts down, every second.
    countdown = hoodie.get_by_test_id("deal-countdown")
    await expect(hoodie).to_have_attribute("data-deal-state", "countdown", timeout=15_000)
    await expect(countdown).to_contain_text("€39.90 (was €49.90), limit 1 per buyer")
    clock = countdown.locator(".deal-clock")
    first = await clock.inner_text()
    assert re.fullmatch(r"0:0\d", first), first
    await expect(clock).not_to_have_text(first, timeout=2_500)
    assert await hoodie.get_by_test_id("price").inner_text() == "€49.90"
    await page.screenshot(path=artifact("room-deal-countdown.png"), full_page=True)

    # Then it runs: the deal price, the list price struck through, what is left, the limit.
    await expect(hoodie).to_have_attribute("data-deal-state", "running", timeout=12_000)
    await expect(hoodie.get_by_test_id("price")).to_have_text("€39.90")
    await expect(hoodie.get_by_test_id("was-price")).to_contain_text("€49.90")
    await expect(hoodie.get_by_test_id("deal-left")).to_have_text("3 left at this price")
    await expect(hoodie.get_by_test_id("deal-limit")).to_have_text("limit 1 per buyer")

    # The stepper lets the buyer ask for 2 (the marketplace decides), saying the limit...
    await hoodie.get_by_test_id("cart-button").click()
    await page.locator("#quantity-up").click()
    await expect(page.get_by_test_id("quantity")).to_have_value("2")
    await expect(page.get_by_test_id("drawer-deal")).to_contain_text("limit 1 per buyer")
    await expect(page.get_by_test_id("total")).to_have_text("€79.80")
    await page.screenshot(path=artifact("room-deal-drawer.png"))
    await page.get_by_test_id("buy-button").click()
    # ...and the marketplace refuses it.
    status = page.get_by_test_id("order-status")
    await expect(status).to_have_attribute("data-reason", "limit_exceeded", timeout=20_000)
    await expect(status).to_have_text(
        "Limit reached: this flash deal allows 1 per buyer. You have not been charged."
    )

    # One unit is sold at the deal price, and the card counts it.
    await buy(page, HOODIE.sku, 1)
    await expect(status).to_have_attribute("data-status", "confirmed", timeout=20_000)
    latest = page.locator("[data-testid=order][aria-current=true]")
    await expect(latest.locator(".order-total")).to_have_text("€39.90")
    await expect(hoodie.get_by_test_id("deal-left")).to_have_text("2 left at this price")
    assert await page.evaluate("window.sameDocument") is True
    await page.screenshot(path=artifact("room-deal-running.png"), full_page=True)
    await page.set_viewport_size(DESKTOP)
    await page.screenshot(path=artifact("room-deal-desktop.png"), full_page=True)


async def test_what_the_seller_pins_unpins_and_ends_shows_in_the_open_room_without_a_reload(
    live_stack: tuple[dict[str, ServiceProcess], str], seller: SellerApi, browser: Browser
) -> None:
    stack, _ = live_stack
    await seller.change("DELETE", f"/pins/{CAP.sku}")
    page = await open_room(browser, stack)
    await expect(page.get_by_test_id("product")).to_have_count(2)
    await expect(page.get_by_test_id("room-state")).to_have_attribute("data-state", "live")

    await seller.change("POST", "/pins", {"sku": CAP.sku, "max_per_checkout": 2})
    cap = card(page, CAP.sku)
    await expect(cap).to_be_visible(timeout=15_000)
    # A new card is a whole card: its live stock (a stream that now names it), its cart.
    await expect(cap.get_by_test_id("stock")).to_have_attribute(
        "data-available", str(CAP.stock), timeout=10_000
    )
    await cap.get_by_test_id("cart-button").click()
    await expect(page.get_by_test_id("selected-title")).to_have_text(CAP.title)
    await expect(page.locator("#quantity-max")).to_have_text("2")
    await page.locator("#drawer-close").click()

    await seller.change("DELETE", f"/pins/{MUG.sku}")
    await expect(card(page, MUG.sku)).to_have_count(0, timeout=15_000)
    assert await page.get_by_test_id("product").evaluate_all(
        "cards => cards.map(c => c.dataset.sku)"
    ) == [HOODIE.sku, CAP.sku]

    await seller.change("POST", "/end")
    state = page.get_by_test_id("room-state")
    await expect(state).to_have_attribute("data-state", "ended", timeout=15_000)
    await expect(state).to_have_text("The live has ended")
    await expect(cap.get_by_test_id("cart-button")).to_be_disabled()
    assert await page.evaluate("window.sameDocument") is True
    await page.screenshot(path=artifact("room-live-ended.png"), full_page=True)


async def test_a_buyer_cancels_a_confirmed_order_and_sees_it_cancelled_then_refunded(
    live_stack: tuple[dict[str, ServiceProcess], str], browser: Browser
) -> None:
    stack, _ = live_stack
    page = await open_room(browser, stack)
    await buy(page, MUG.sku, 2)
    status = page.get_by_test_id("order-status")
    await expect(status).to_have_attribute("data-status", "confirmed", timeout=20_000)
    mug_stock = card(page, MUG.sku).get_by_test_id("stock")
    await expect(mug_stock).to_have_attribute("data-available", str(MUG.stock - 2))

    order = page.locator("[data-testid=order][aria-current=true]")
    cancel = order.get_by_test_id("cancel-order")
    await expect(cancel).to_have_text("Cancel order")
    await page.screenshot(path=artifact("room-cancel-offered.png"), full_page=True)
    # Every status and wording the latest order shows, however fast they follow each other.
    await page.evaluate(RECORD_CHANGES)
    async with page.expect_response("**/cancellation") as answer:
        await cancel.click()
    assert (await answer.value).status == 202

    await expect(status).to_have_attribute("data-status", "refunded", timeout=20_000)
    await expect(status).to_have_text("Refunded: the money is back in your wallet.")
    seen = await page.evaluate("window.seen")
    assert [*seen["statuses"], seen["current"]][-3:] == ["confirmed", "cancelled", "refunded"]
    assert "Cancelled — your items went back to the shop. Refund on its way." in seen["texts"]
    assert "Cancellation requested…" in seen["actions"], seen
    await expect(order.get_by_test_id("cancel-order")).to_have_count(0)
    await expect(order.locator(".badge")).to_have_text("Refunded")
    done = page.locator("#latest .steps li.done")
    assert await done.all_inner_texts() == [
        "Received", "Reserved", "Paid", "Confirmed", "Cancelled", "Refunded",
    ]  # fmt: skip
    # The units went back to the shop, and the room hears of it.
    await expect(mug_stock).to_have_attribute("data-available", str(MUG.stock), timeout=10_000)
    await page.screenshot(path=artifact("room-refunded.png"), full_page=True)
    await page.set_viewport_size(DESKTOP)
    await page.screenshot(path=artifact("room-refunded-desktop.png"), full_page=True)
