"""A seller runs their own live sale, end to end, in a real headless Chromium against the
whole stack as real processes: signs in to the marketplace and the storefront, creates a
product, pins it, starts a flash deal with a per-buyer limit; three buyers in their own
browsers buy, one asks too much; the deal sells out; the seller restocks and cancels one
order; the rooms follow without reload. Unauthenticated and cross-seller requests fail."""

import asyncio
import subprocess
import sys
import time

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, ViewportSize, expect

from tests.support.browser import artifact, sign_in_seller
from tests.support.demo import DEMO_ROOM_ID, DEMO_SELLER_EMAIL
from tests.support.stack import ROOT, ServiceProcess, demo_seller_password

pytestmark = pytest.mark.slow

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
SKU = "LC-FLASH-TEE"
OTHER_PASSWORD_ENV = "LIVECART_SELLER_PASSWORD"

# Every status the latest order showed, in order (a mutation's old value, then the new).
RECORD_STATUSES = """() => {
  const status = document.querySelector("[data-testid=order-status]");
  window.statusesSeen = [status.dataset.status];
  new MutationObserver(() => window.statusesSeen.push(status.dataset.status))
    .observe(status, { attributes: true, attributeFilter: ["data-status"] });
}"""


async def sign_in(page: Page, base_url: str, password: str) -> None:
    await sign_in_seller(page, base_url, DEMO_SELLER_EMAIL, password)


async def buyer_room(browser: Browser, stack: dict[str, ServiceProcess]) -> Page:
    context = await browser.new_context(viewport=PHONE, reduced_motion="reduce")
    page = await context.new_page()
    await page.goto(f"{stack['storefront'].base_url}/rooms/{DEMO_ROOM_ID}")
    await page.evaluate("window.sameDocument = true")  # gone if the page ever reloads
    return page


def card(page: Page, sku: str = SKU) -> Locator:
    return page.locator(f'[data-testid=product][data-sku="{sku}"]')


async def buy(page: Page, quantity: int) -> tuple[str, str, str]:
    """Buys `quantity` of the flash-deal product; (status, reason, checkout id) once final."""
    await card(page).get_by_test_id("cart-button").click()
    await page.get_by_test_id("quantity").fill(str(quantity))
    await page.get_by_test_id("buy-button").click()
    final = ":is([data-status=confirmed], [data-status=rejected], [data-status=expired])"
    status = page.locator(f"[data-testid=order-status]{final}")
    await status.wait_for(timeout=20_000)
    return (
        await status.get_attribute("data-status") or "",
        await status.get_attribute("data-reason") or "",
        await page.get_by_test_id("checkout-id").inner_text(),
    )


async def until_in_catalog(page: Page, url: str) -> None:
    """The storefront hears of the new product from `catalog.changed`: reload until it
    shows in the seller's catalog (a page the seller reloads, not a buyer's room)."""
    deadline = time.monotonic() + 20
    while True:
        await page.goto(url)
        if await page.locator(f'[data-testid=catalog-product][data-sku="{SKU}"]').count():
            return
        assert time.monotonic() < deadline, "the new product never reached the storefront"
        await asyncio.sleep(0.3)


async def test_a_seller_runs_a_flash_deal_restocks_and_cancels_while_buyers_watch(
    stack: dict[str, ServiceProcess], browser: Browser
) -> None:
    shop, store = stack["orders"].base_url, stack["storefront"].base_url
    password = demo_seller_password(stack)
    seller_context = await browser.new_context(viewport=DESKTOP)
    console = await seller_context.new_page()

    # The marketplace console: a new product with 5 units.
    await sign_in(console, shop, password)
    await console.get_by_test_id("create-sku").fill(SKU)
    await console.get_by_test_id("create-title").fill("Flash Tee")
    await console.get_by_test_id("create-price").fill("20.00")
    await console.get_by_test_id("create-stock").fill("5")
    await console.get_by_test_id("create-submit").click()
    row = console.locator(f'[data-testid=product][data-sku="{SKU}"]')
    await expect(row.get_by_test_id("available")).to_have_attribute("data-value", "5")

    buyers = [await buyer_room(browser, stack) for _ in range(3)]

    # The storefront: pin it in the live room; every open room shows it without reload.
    control = await seller_context.new_page()
    await sign_in(control, store, password)
    control_url = f"{store}/seller/rooms/{DEMO_ROOM_ID}"
    await until_in_catalog(control, control_url)
    await control.locator(f'[data-testid=pin][data-sku="{SKU}"]').click()
    await control.locator(f'[data-testid=pinned-product][data-sku="{SKU}"]').wait_for()
    for page in buyers:
        await card(page).wait_for(timeout=15_000)

    # A flash deal: 10.00 instead of 20.00, 2 units, 1 per buyer, starting in 4 s.
    deal = control.locator(f'[data-testid=deal-form][data-sku="{SKU}"]')
    await deal.get_by_test_id("deal-price").fill("10.00")
    await deal.get_by_test_id("deal-units-cap").fill("2")
    await deal.get_by_test_id("deal-per-buyer-limit").fill("1")
    await deal.get_by_test_id("deal-starts-in").fill("4")
    await deal.get_by_test_id("start-deal").click()
    await control.locator(f'[data-testid=deal][data-sku="{SKU}"]').wait_for()
    for page in buyers:
        await expect(card(page)).to_have_attribute("data-deal-state", "countdown", timeout=15_000)
    await buyers[0].screenshot(path=artifact("seller-deal-countdown.png"))
    for page in buyers:
        await expect(card(page)).to_have_attribute("data-deal-state", "running", timeout=15_000)

    first, greedy, third = buyers
    first_status, _, first_checkout = await buy(first, 1)
    assert first_status == "confirmed"
    assert await buy(greedy, 2) == ("rejected", "limit_exceeded", await _checkout_id(greedy))
    assert (await buy(third, 1))[0] == "confirmed"
    for page in buyers:
        await expect(card(page)).to_have_attribute("data-deal-state", "sold-out", timeout=15_000)
    await third.screenshot(path=artifact("seller-deal-sold-out.png"))

    # Restock in the marketplace: 5 - 2 sold + 10 shows in every room, live.
    await console.goto(f"{shop}/seller")
    await row.get_by_test_id("stock-quantity").fill("10")
    await row.get_by_test_id("stock-add").click()
    await expect(row.get_by_test_id("available")).to_have_attribute("data-value", "13")
    for page in buyers:
        stock = page.locator(f'[data-testid=stock][data-sku="{SKU}"]')
        await expect(stock).to_have_attribute("data-available", "13", timeout=15_000)

    # The seller cancels the first buyer's order; that buyer sees cancelled, then refunded.
    await first.evaluate(RECORD_STATUSES)
    await console.goto(f"{shop}/seller/orders?status=confirmed")
    order = console.locator(f'[data-testid=order][data-checkout-id="{first_checkout}"]')
    console.once("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await order.get_by_test_id("cancel").click()
    status = first.get_by_test_id("order-status")
    await expect(status).to_have_attribute("data-status", "refunded", timeout=20_000)
    seen = await first.evaluate("window.statusesSeen")
    assert seen[0] == "confirmed"
    assert "cancelled" in seen
    assert seen.index("cancelled") < seen.index("refunded")
    await first.screenshot(path=artifact("seller-cancelled-refunded.png"))
    for page in buyers:
        assert await page.evaluate("window.sameDocument === true"), "a room reloaded"
        stock = page.locator(f'[data-testid=stock][data-sku="{SKU}"]')
        await expect(stock).to_have_attribute("data-available", "14", timeout=15_000)

    # The report has the sale: 3 taps, 2 confirmed, 1 over the limit, then 1 cancelled.
    report = await seller_context.new_page()
    await report.goto(f"{store}/seller/rooms/{DEMO_ROOM_ID}/report")
    await expect(report.get_by_test_id("report-taps")).to_contain_text("3", timeout=15_000)
    await expect(report.get_by_test_id("report-confirmed")).to_contain_text("1")
    await expect(report.get_by_test_id("report-cancelled")).to_contain_text("1")
    await expect(report.get_by_test_id("report-revenue-total")).to_contain_text("10.00")
    await report.screenshot(path=artifact("seller-report.png"), full_page=True)

    await _refusals(stack, first_checkout)
    for context in [seller_context, *(page.context for page in buyers)]:
        await _close(context)


async def _checkout_id(page: Page) -> str:
    return await page.get_by_test_id("checkout-id").inner_text()


async def _close(context: BrowserContext) -> None:
    await context.close()


async def _refusals(stack: dict[str, ServiceProcess], checkout_id: str) -> None:
    """Without a session both sides refuse; another seller is refused the demo seller's
    product, order, room and dashboard."""
    shop, store = stack["orders"], stack["storefront"]
    async with (
        httpx.AsyncClient(base_url=shop.base_url) as anonymous_shop,
        httpx.AsyncClient(base_url=store.base_url) as anonymous_store,
    ):
        assert (await anonymous_shop.get("/api/seller/products")).status_code == 401
        assert (await anonymous_store.get(f"/api/seller/rooms/{DEMO_ROOM_ID}")).status_code == 401
        dashboard = await anonymous_store.get(f"/rooms/{DEMO_ROOM_ID}/dashboard")
        assert dashboard.status_code == 303
        assert dashboard.headers["location"].startswith("/seller/login")

    other_password = "other-seller-password-1"
    for service in (shop, store):
        _add_seller(service, other_password)
    async with (
        httpx.AsyncClient(base_url=shop.base_url) as other_shop,
        httpx.AsyncClient(base_url=store.base_url) as other_store,
    ):
        shop_csrf = await _api_sign_in(other_shop, other_password)
        store_csrf = await _api_sign_in(other_store, other_password)
        edit = await other_shop.patch(
            f"/api/seller/products/{SKU}", json={"title": "Mine now"},
            headers={"X-CSRF-Token": shop_csrf},
        )  # fmt: skip
        assert edit.status_code == 403, edit.text
        orders = (await other_shop.get("/api/seller/orders")).json()
        assert orders == [] or all(o["checkout_id"] != checkout_id for o in _listed(orders))
        pin = await other_store.post(
            f"/api/seller/rooms/{DEMO_ROOM_ID}/pins", json={"sku": SKU, "max_per_checkout": 1},
            headers={"X-CSRF-Token": store_csrf},
        )  # fmt: skip
        assert pin.status_code == 403, pin.text
        dashboard = await other_store.get(f"/rooms/{DEMO_ROOM_ID}/dashboard")
        assert dashboard.status_code == 403


def _listed(body: object) -> list[dict[str, object]]:
    items = body.get("orders", []) if isinstance(body, dict) else body
    assert isinstance(items, list)
    return items


def _add_seller(service: ServiceProcess, password: str) -> None:
    env = {**service.env, OTHER_PASSWORD_ENV: password}
    command = [sys.executable, "-m", f"services.{service.name}", "add-seller"]
    subprocess.run(
        [*command, "other-seller", "other@demo.livecart.test", "Other Seller"],
        cwd=ROOT, env=env, check=True, capture_output=True, timeout=60,
    )  # fmt: skip


async def _api_sign_in(client: httpx.AsyncClient, password: str) -> str:
    answer = await client.post(
        "/api/seller/session", json={"email": "other@demo.livecart.test", "password": password}
    )
    assert answer.status_code == 200, answer.text
    csrf: str = answer.json()["csrf_token"]
    return csrf
