"""The buyer's "My orders" page in a real headless Chromium against the whole stack as real
processes: every order of the buyer, newest first, with the short reference the seller's
console shows too, the final statuses replayed from the notifier, and a status that happens
while the page is open drawn live."""

from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, Locator, Page, ViewportSize, expect

from contracts import order_reference
from tests.support.browser import artifact
from tests.support.demo import DEMO_PRODUCTS, DEMO_ROOM_ID, DEMO_ROOM_TITLE, DEMO_SELLER_EMAIL
from tests.support.stack import ServiceProcess, demo_seller_password

pytestmark = pytest.mark.slow

PHONE: ViewportSize = {"width": 390, "height": 844}
HOODIE, MUG, _CAP = DEMO_PRODUCTS
FINAL = ":is([data-status=confirmed], [data-status=rejected], [data-status=expired])"


class Console:
    """The demo seller signed in to the marketplace console's JSON API."""

    def __init__(self, client: httpx.AsyncClient, csrf_token: str) -> None:
        self.client, self.csrf_token = client, csrf_token

    async def orders(self, **params: str) -> list[dict[str, object]]:
        answer = await self.client.get("/api/seller/orders", params=params)
        assert answer.status_code == 200, answer.text
        found: list[dict[str, object]] = answer.json()
        return found


@pytest.fixture
async def console(stack: dict[str, ServiceProcess]) -> AsyncIterator[Console]:
    async with httpx.AsyncClient(base_url=stack["orders"].base_url) as client:
        signed_in = await client.post(
            "/api/seller/session",
            json={"email": DEMO_SELLER_EMAIL, "password": demo_seller_password(stack)},
        )
        assert signed_in.status_code == 200, signed_in.text
        yield Console(client, signed_in.json()["csrf_token"])


async def buy(page: Page, sku: str, quantity: int) -> str:
    """Buys in the room; the checkout id, once its final status shows."""
    await page.locator(f'[data-testid=cart-button][data-sku="{sku}"]').click()
    await page.get_by_test_id("quantity").fill(str(quantity))
    async with page.expect_response("**/api/checkouts") as accepted:
        await page.get_by_test_id("buy-button").click()
    checkout_id: str = (await (await accepted.value).json())["checkout_id"]
    row = page.locator(f'[data-testid=order][data-checkout-id="{checkout_id}"]{FINAL}')
    await row.wait_for(timeout=20_000)
    return checkout_id


def order_card(page: Page, checkout_id: str) -> Locator:
    return page.locator(f'[data-testid=order][data-checkout-id="{checkout_id}"]')


async def test_a_buyer_sees_every_order_with_its_reference_and_a_new_status_arrives_live(
    stack: dict[str, ServiceProcess], browser: Browser, console: Console
) -> None:
    storefront = stack["storefront"].base_url
    context = await browser.new_context(viewport=PHONE, reduced_motion="reduce")
    page = await context.new_page()

    # No session yet: no orders to show, an invitation to the live instead.
    await page.goto(f"{storefront}/orders")
    await expect(page.get_by_test_id("no-session")).to_be_visible()
    malformed = await page.request.get(f"{storefront}/orders", params={"from": "<script>"})
    assert malformed.status == 422
    await expect(page.get_by_test_id("open-room")).to_have_attribute(
        "href", f"/rooms/{DEMO_ROOM_ID}"
    )
    # A session without orders: the empty state, once the stream's history is over.
    await page.goto(f"{storefront}/rooms/{DEMO_ROOM_ID}")
    await page.goto(f"{storefront}/orders")
    await expect(page.get_by_test_id("orders-empty")).to_be_visible(timeout=10_000)
    await expect(page.get_by_test_id("history-bound")).to_contain_text("last 24 hours")

    await page.goto(f"{storefront}/rooms/{DEMO_ROOM_ID}")
    hoodie_id = await buy(page, HOODIE.sku, 1)
    mug_id = await buy(page, MUG.sku, 2)
    # The room names the latest order by its short reference.
    await expect(page.get_by_test_id("order-reference")).to_have_text(order_reference(mug_id))
    await expect(order_card(page, hoodie_id).get_by_test_id("order-ref")).to_have_text(
        order_reference(hoodie_id)
    )

    await page.get_by_test_id("my-orders-link").click()
    await page.wait_for_url(f"{storefront}/orders?from={DEMO_ROOM_ID}")
    await page.evaluate("window.sameDocument = true")  # gone if the page ever reloads
    cards = page.get_by_test_id("order")
    await expect(cards).to_have_count(2, timeout=10_000)
    assert await cards.evaluate_all("cards => cards.map(c => c.dataset.checkoutId)") == [
        mug_id,
        hoodie_id,
    ]  # newest first
    for checkout_id, product, quantity in [(mug_id, MUG, 2), (hoodie_id, HOODIE, 1)]:
        card = order_card(page, checkout_id)
        await expect(card).to_have_attribute("data-status", "confirmed")
        await expect(card.get_by_test_id("order-ref")).to_have_text(order_reference(checkout_id))
        await expect(card.get_by_test_id("order-badge")).to_have_text("Confirmed")
        await expect(card.locator(".order-what")).to_have_text(
            f"{quantity} \N{MULTIPLICATION SIGN} {product.title}"
        )
        await expect(card.locator(".order-room")).to_contain_text(DEMO_ROOM_TITLE)
        total = await card.get_by_test_id("order-total").inner_text()
        assert f"{quantity * product.price_minor // 100}" in total.replace(",", ""), total
        history = card.get_by_test_id("order-history").locator("li")
        assert await history.evaluate_all("items => items.map(i => i.dataset.status)") == [
            "received", "reserved", "paid", "confirmed",
        ]  # fmt: skip
    await expect(page.get_by_test_id("back-to-room")).to_have_attribute(
        "href", f"/rooms/{DEMO_ROOM_ID}"
    )
    await page.screenshot(path=artifact("my-orders.png"), full_page=True)

    # The seller's console names each order by the same reference, and finds it by it,
    # typed as a buyer would read it out (lower case, no dashes).
    by_checkout = {str(o["checkout_id"]): o for o in await console.orders()}
    for checkout_id in (mug_id, hoodie_id):
        shown = await order_card(page, checkout_id).get_by_test_id("order-ref").inner_text()
        assert by_checkout[checkout_id]["reference"] == shown
    typed = order_reference(hoodie_id).lower().replace("-", "")
    found = await console.orders(ref=typed)
    assert [o["checkout_id"] for o in found] == [hoodie_id]
    console_page = await console.client.get("/seller/orders", params={"ref": typed})
    assert console_page.status_code == 200
    assert order_reference(hoodie_id) in console_page.text
    assert order_reference(mug_id) not in console_page.text
    refused = await console.client.get("/api/seller/orders", params={"ref": "LC-NOPE"})
    assert refused.status_code == 422, refused.text
    assert "LC-7K3M-9QX2" in refused.text  # says what a reference looks like
    sent_back = await console.client.get("/seller/orders", params={"ref": "x" * 33})
    assert sent_back.status_code in (302, 303), sent_back.status_code  # with "Check the form"

    # The seller ships the hoodie while the buyer's page is open: it shows at once.
    order_id = by_checkout[hoodie_id]["order_id"]
    shipped = await console.client.post(
        f"/api/seller/orders/{order_id}/ship",
        json={"tracking_ref": "TRACK-123"},
        headers={"X-CSRF-Token": console.csrf_token},
    )
    assert shipped.status_code == 200, shipped.text
    hoodie = order_card(page, hoodie_id)
    await expect(hoodie).to_have_attribute("data-status", "shipped", timeout=15_000)
    await expect(hoodie.get_by_test_id("order-badge")).to_have_text("Shipped")
    await expect(hoodie.get_by_test_id("order-sentence")).to_contain_text("TRACK-123")
    assert await hoodie.get_by_test_id("order-history").locator("li").evaluate_all(
        "items => items.map(i => i.dataset.status)"
    ) == ["received", "reserved", "paid", "confirmed", "shipped"]
    assert await page.evaluate("window.sameDocument") is True
    await expect(page.get_by_test_id("reconnecting")).to_have_count(0)
    await page.screenshot(path=artifact("my-orders-shipped.png"), full_page=True)
    await context.close()
