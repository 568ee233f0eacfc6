"""The seller's dashboard in a real headless Chromium, counting sales made in the live room."""

import httpx
import pytest
from playwright.async_api import Browser, Page

from tests.support.browser import artifact, sign_in_seller
from tests.support.demo import DEMO_PRODUCTS, DEMO_SELLER_EMAIL
from tests.support.stack import ServiceProcess, demo_seller_password

pytestmark = pytest.mark.slow

HOODIE, _MUG, CAP = DEMO_PRODUCTS


@pytest.fixture
def stack(last_unit_stack: dict[str, ServiceProcess]) -> dict[str, ServiceProcess]:
    """The demo, with a single Streamer Cap left (so an order of two is rejected)."""
    return last_unit_stack


async def figure(page: Page, testid: str, text: str, **attributes: str) -> None:
    """Waits until the figure reads `text`."""
    selector = f'[data-testid="{testid}"]' + "".join(
        f'[data-{name.replace("_", "-")}="{value}"]' for name, value in attributes.items()
    )
    await page.locator(selector).get_by_text(text, exact=True).wait_for(timeout=20_000)


def order_two_caps_over_the_api(storefront: ServiceProcess) -> None:
    with httpx.Client(base_url=storefront.base_url, timeout=10) as client:
        token = client.post("/api/sessions").json()["token"]
        accepted = client.post(
            "/api/checkouts",
            json={"room_id": "demo", "items": [{"sku": CAP.sku, "quantity": 2}]},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert accepted.status_code == 202, accepted.text


async def test_the_dashboard_counts_the_sales_made_in_the_room_live(
    stack: dict[str, ServiceProcess], browser: Browser
) -> None:
    base = stack["storefront"].base_url
    seller = await (
        await browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    ).new_page()
    await sign_in_seller(seller, base, DEMO_SELLER_EMAIL, demo_seller_password(stack))
    await seller.goto(f"{base}/rooms/demo/dashboard")
    await seller.locator("[data-testid=connection][data-state=live]").wait_for()
    await figure(seller, "checkouts", "0")

    buyer = await (
        await browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    ).new_page()
    await buyer.goto(f"{base}/rooms/demo")
    await buyer.locator(f'[data-testid=cart-button][data-sku="{HOODIE.sku}"]').click()
    await buyer.get_by_test_id("quantity").fill("2")
    await buyer.get_by_test_id("buy-button").click()
    order_two_caps_over_the_api(stack["storefront"])  # one unit left: rejected

    await figure(seller, "units-sold", "2", sku=HOODIE.sku)
    await figure(seller, "revenue", "€99.80")
    await figure(seller, "product-revenue", "€99.80", sku=HOODIE.sku)
    await figure(seller, "remaining", f"{HOODIE.stock - 2} left", sku=HOODIE.sku)
    await figure(seller, "rejections", "1", reason="out_of_stock")
    await figure(seller, "checkouts", "2")
    await figure(seller, "confirmed", "1")
    await figure(seller, "units-sold", "0", sku=CAP.sku)
    await figure(seller, "remaining", "Only 1 left", sku=CAP.sku)
    await seller.wait_for_function(
        "Number(document.querySelector('[data-testid=checkouts-per-second]').dataset.value) > 0"
    )
    # Both pages watch the room: the seller and the buyer.
    await figure(seller, "viewer-count", "2")
    await seller.screenshot(path=artifact("dashboard.png"), full_page=True)
    await seller.set_viewport_size({"width": 390, "height": 844})
    await seller.screenshot(path=artifact("dashboard-phone.png"), full_page=True)
