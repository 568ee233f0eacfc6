"""The room as a live-shopping room, in a real headless Chromium against the whole stack:
the demo room plays its HLS loop (hls.js, H.264), shows its product images and prices in
the buyer's locale (the server's first paint and the browser's live updates alike), lays
out phone and desktop as buyers know them, and a stream that fails says so."""

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize, expect

from infra.local.redis_server import free_port
from tests.support.demo import DEMO_PRODUCTS, DEMO_SELLER_EMAIL, DEMO_SELLER_NAME
from tests.support.stack import ServiceProcess, demo_seller_password

pytestmark = pytest.mark.slow

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
HOODIE, MUG, CAP = DEMO_PRODUCTS
TIMEOUT_MS = 20_000

# The video has a picture and its clock moves: playing, not just loaded.
PLAYING = """(since) => {
  const video = document.querySelector("[data-testid=video-media]");
  return video && video.readyState >= 2 && video.currentTime > since;
}"""


# Polled each frame: the furthest the video got, and whether it is back near its start.
LOOPED = """() => {
  const video = document.querySelector("[data-testid=video-media]");
  window.furthest = Math.max(window.furthest || 0, video.currentTime);
  return window.furthest >= 5.5 && video.currentTime < 2 && !video.paused && !video.ended;
}"""


async def room_page(
    browser: Browser, stack: dict[str, ServiceProcess], *, viewport: ViewportSize, locale: str,
    room_id: str = "demo",
) -> tuple[BrowserContext, Page]:  # fmt: skip
    context = await browser.new_context(viewport=viewport, locale=locale, reduced_motion="reduce")
    page = await context.new_page()
    await page.goto(f"{stack['storefront'].base_url}/rooms/{room_id}")
    return context, page


def words(text: str) -> str:
    """Intl and Babel put a no-break space between "49,90" and "€"."""
    return text.replace("\u00a0", " ")


async def box(page: Page, selector: str) -> dict[str, float]:
    found = await page.locator(selector).first.bounding_box()
    assert found is not None, f"{selector} is not shown"
    return {"left": found["x"], "top": found["y"], "right": found["x"] + found["width"],
            "bottom": found["y"] + found["height"]}  # fmt: skip


async def test_the_demo_room_plays_its_stream_muted_in_a_loop_and_the_buyer_can_unmute_and_pause(
    stack: dict[str, ServiceProcess], browser: Browser
) -> None:
    context, page = await room_page(browser, stack, viewport=DESKTOP, locale="en-US")
    video = page.get_by_test_id("video-media")

    await page.wait_for_function(PLAYING, arg=0.5, timeout=TIMEOUT_MS)
    assert await video.evaluate("v => v.muted && !v.paused")
    await expect(page.get_by_test_id("video")).to_have_attribute("data-player", "playing")
    await expect(page.get_by_test_id("stream-unavailable")).to_be_hidden()
    assert await video.evaluate("v => v.videoHeight > v.videoWidth")  # 9:16, from a phone

    unmute = page.get_by_test_id("unmute")
    await expect(unmute).to_have_text("Unmute")
    await unmute.click()
    await expect(unmute).to_have_text("Mute")
    assert await video.evaluate("v => !v.muted")

    # The loop goes round (`loop`): past its end (6 s), back at its start, still playing.
    await page.wait_for_function(LOOPED, timeout=TIMEOUT_MS)

    # Moving pictures can be stopped (WCAG 2.2.2), and started again.
    pause = page.get_by_test_id("pause")
    await pause.click()
    await expect(pause).to_have_text("Play")
    assert await video.evaluate("v => v.paused")
    await pause.click()
    await expect(pause).to_have_text("Pause")
    await page.wait_for_function(
        "(t) => document.querySelector('video').currentTime > t",
        arg=await video.evaluate("v => v.currentTime"),
        timeout=TIMEOUT_MS,
    )
    await context.close()


async def test_product_images_load_and_prices_read_in_the_buyers_locale(
    stack: dict[str, ServiceProcess], browser: Browser
) -> None:
    for locale, hoodie_price, cap_price in (
        ("en-US", "€49.90", "€24.90"),
        ("de-DE", "49,90 €", "24,90 €"),
    ):
        context, page = await room_page(browser, stack, viewport=PHONE, locale=locale)
        hoodie = page.locator(f'[data-testid=product][data-sku="{HOODIE.sku}"]')

        # The server's first paint, before any script could have changed it.
        assert words(await hoodie.get_by_test_id("price").inner_text()) == hoodie_price
        for product in DEMO_PRODUCTS:
            image = page.locator(f'[data-testid=product][data-sku="{product.sku}"] img.thumb')
            await expect(image).to_have_attribute("alt", product.title)
            await image.scroll_into_view_if_needed()
            await page.wait_for_function(
                "img => img.complete && img.naturalWidth > 0",
                arg=await image.element_handle(),
                timeout=TIMEOUT_MS,
            )
        # live.js's money(): the drawer's price and total, two caps.
        await page.locator(f'[data-testid=cart-button][data-sku="{CAP.sku}"]').click()
        await page.get_by_test_id("quantity").fill("2")
        assert words(await page.locator("#selected-price").inner_text()) == cap_price
        total = "€49.80" if locale == "en-US" else "49,80 €"
        await expect(page.get_by_test_id("total")).to_have_text(total)
        await context.close()


async def test_a_desktop_puts_the_products_beside_the_video_and_a_phone_over_its_bottom(
    stack: dict[str, ServiceProcess], browser: Browser
) -> None:
    context, page = await room_page(browser, stack, viewport=DESKTOP, locale="en-US")
    await page.wait_for_function(PLAYING, arg=0, timeout=TIMEOUT_MS)
    video, shelf = await box(page, "[data-testid=video]"), await box(page, ".shelf")
    assert shelf["left"] >= video["right"], (video, shelf)
    assert shelf["top"] < video["bottom"]
    assert video["top"] < shelf["bottom"]
    assert video["left"] > 0  # a centred pair
    assert shelf["right"] < DESKTOP["width"]
    ratio = (video["right"] - video["left"]) / (video["bottom"] - video["top"])
    assert ratio == pytest.approx(9 / 16, abs=0.02)
    assert video["bottom"] <= DESKTOP["height"]  # the whole video on screen
    await context.close()

    context, page = await room_page(browser, stack, viewport=PHONE, locale="en-US")
    await page.wait_for_function(PLAYING, arg=0, timeout=TIMEOUT_MS)
    video, product = (
        await box(page, "[data-testid=video]"),
        await box(page, "[data-testid=product]"),
    )
    assert (video["left"], video["top"]) == (0, 0)
    assert (video["right"], video["bottom"]) == (PHONE["width"], PHONE["height"])  # full screen
    assert video["bottom"] - 200 < product["top"] < product["bottom"] <= video["bottom"]
    assert 0 <= product["left"] < product["right"] <= PHONE["width"]
    # The row of cards scrolls by itself: the page never scrolls sideways.
    assert await page.evaluate("document.documentElement.scrollWidth") == PHONE["width"]
    # The card is on top: a tap on it reaches the cart button, not the video.
    cart = await box(
        page, f'[data-testid=product][data-sku="{HOODIE.sku}"] [data-testid=cart-button]'
    )
    x, y = (cart["left"] + cart["right"]) / 2, (cart["top"] + cart["bottom"]) / 2
    hit = await page.evaluate(
        "([x, y]) => document.elementFromPoint(x, y).closest('button')?.dataset.testid", [x, y]
    )
    assert hit == "cart-button"
    await context.close()


async def test_a_stream_that_fails_shows_unavailable_and_no_stream_shows_the_sellers_poster(
    stack: dict[str, ServiceProcess], browser: Browser
) -> None:
    store = stack["storefront"].base_url
    nothing_there = f"https://127.0.0.1:{free_port()}/live.m3u8"
    async with httpx.AsyncClient(base_url=store, timeout=10) as client:
        signed_in = await client.post(
            "/api/seller/session",
            json={"email": DEMO_SELLER_EMAIL, "password": demo_seller_password(stack)},
        )
        assert signed_in.status_code == 200, signed_in.text
        csrf = {"X-CSRF-Token": signed_in.json()["csrf_token"]}
        rooms = {}
        for name, body in (("broken", {"stream_url": nothing_there}), ("no stream", {})):
            created = await client.post(
                "/api/seller/rooms", json={"title": f"A {name} live"} | body, headers=csrf
            )
            assert created.status_code == 201, created.text
            rooms[name] = created.json()["room_id"]
            live = await client.post(f"/api/seller/rooms/{rooms[name]}/go-live", headers=csrf)
            assert live.status_code == 200, live.text

    context, page = await room_page(
        browser, stack, viewport=PHONE, locale="en-US", room_id=rooms["broken"]
    )
    unavailable = page.get_by_test_id("stream-unavailable")
    await expect(unavailable).to_be_visible(timeout=TIMEOUT_MS)
    await expect(unavailable).to_have_text("Stream unavailable right now")
    await expect(page.get_by_test_id("video")).to_have_attribute("data-player", "unavailable")
    await expect(page.get_by_test_id("video-media")).to_be_hidden()
    await expect(page.get_by_test_id("video-controls")).to_be_hidden()
    await expect(page.locator(".poster-name")).to_have_text(DEMO_SELLER_NAME)
    await context.close()

    context, page = await room_page(
        browser, stack, viewport=PHONE, locale="en-US", room_id=rooms["no stream"]
    )
    poster = page.get_by_role("img", name=f"{DEMO_SELLER_NAME}: no video right now")
    await expect(poster).to_be_visible()
    await expect(page.locator(".poster-name")).to_have_text(DEMO_SELLER_NAME)
    assert await page.get_by_test_id("video-media").count() == 0
    await expect(page.get_by_test_id("video")).to_have_attribute("data-player", "poster")
    await context.close()
