"""A seller uploads a product image in the marketplace console, in a real headless
Chromium against the whole stack as real processes: the console's file input and Upload
button (a plain form post), the image stored and served by the marketplace, and an open
room showing it without reload (the storefront accepts the marketplace's /media/products/
address in its page, script and Content-Security-Policy)."""

import hashlib
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, ViewportSize, expect

from tests.support.browser import artifact, sign_in_seller
from tests.support.demo import DEMO_PRODUCTS, DEMO_ROOM_ID, DEMO_SELLER_EMAIL
from tests.support.images import png
from tests.support.stack import ServiceProcess, demo_seller_password

pytestmark = pytest.mark.slow

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
HOODIE = DEMO_PRODUCTS[0]
TIMEOUT_MS = 20_000

# The card's image is the uploaded one, loaded and drawn (not a broken image).
SHOWN = """([sku, url]) => {
  const img = document.querySelector(`[data-testid=product][data-sku="${sku}"] img.thumb`);
  return img !== null && img.getAttribute("src") === url && img.complete && img.naturalWidth === 12;
}"""


async def test_a_seller_uploads_an_image_and_an_open_room_shows_it_without_reload(
    stack: dict[str, ServiceProcess], browser: Browser, tmp_path: Path
) -> None:
    shop, store = stack["orders"].base_url, stack["storefront"].base_url
    image = png(12, 12, (20, 160, 220))
    media = f"{shop}/media/products/{hashlib.sha256(image).hexdigest()}.png"
    upload = tmp_path / "hoodie.png"
    upload.write_bytes(image)

    room_context = await browser.new_context(viewport=PHONE, reduced_motion="reduce")
    room = await room_context.new_page()
    await room.goto(f"{store}/rooms/{DEMO_ROOM_ID}")
    card = room.locator(f'[data-testid=product][data-sku="{HOODIE.sku}"]')
    await card.wait_for()
    await room.evaluate("window.sameDocument = true")  # gone if the page ever reloads
    assert await card.get_attribute("data-image-url") != media

    console_context = await browser.new_context(viewport=DESKTOP)
    console = await console_context.new_page()
    await sign_in_seller(console, shop, DEMO_SELLER_EMAIL, demo_seller_password(stack))
    row = console.locator(f'[data-testid=product][data-sku="{HOODIE.sku}"]')
    await row.get_by_test_id("image-file").set_input_files(upload)
    await row.get_by_test_id("image-upload").click()
    await console.wait_for_url(f"{shop}/seller")
    flash = console.get_by_test_id("flash")
    await expect(flash).to_have_attribute("data-kind", "ok")
    await expect(flash).to_contain_text(f"New image for {HOODIE.sku}")
    await expect(row.get_by_test_id("product-image")).to_have_attribute("src", media)

    # The marketplace serves it to anyone, as uploaded.
    async with httpx.AsyncClient() as client:
        served = await client.get(media)
    assert (served.status_code, served.content) == (200, image)
    assert served.headers["content-type"] == "image/png"

    # The open room redraws the card with it, loaded: no reload, no CSP refusal.
    await room.wait_for_function(SHOWN, arg=[HOODIE.sku, media], timeout=TIMEOUT_MS)
    await expect(card).to_have_attribute("data-image-url", media)
    assert await room.evaluate("window.sameDocument === true")
    await room.screenshot(path=artifact("room-uploaded-image.png"))

    # A room opened now draws it from the server's first paint too.
    fresh = await room_context.new_page()
    await fresh.goto(f"{store}/rooms/{DEMO_ROOM_ID}")
    await fresh.wait_for_function(SHOWN, arg=[HOODIE.sku, media], timeout=TIMEOUT_MS)
    await room_context.close()
    await console_context.close()
