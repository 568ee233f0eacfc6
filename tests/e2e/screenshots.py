"""`make screenshots`: start the demo stack (as the end-to-end tests do), open the demo
room at phone and desktop size and the seller's live control at desktop size in a real
headless Chromium, and save the PNGs the README shows (docs/screenshots/).

Waits for what a visitor would see, never for a fixed time: the video playing, the
product images loaded, the live stream connected. Other parts of the page (chat,
payment) are shown as they are; nothing is hidden or staged.
"""

import asyncio
import sys
import tempfile
import uuid
from pathlib import Path

from playwright.async_api import Browser, Page, ViewportSize

from tests.support.browser import chromium, sign_in_seller
from tests.support.demo import DEMO_ROOM_ID, DEMO_SELLER_EMAIL
from tests.support.services import redis_for_tests
from tests.support.stack import ROOT, demo_seller_password, running_stack, service_env

OUT = ROOT / "docs" / "screenshots"
PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
TIMEOUT_MS = 20_000

PLAYING = "() => { const v = document.querySelector('video'); return !v || v.readyState >= 2 }"
# Every image on screen (a lazy one further along a row of cards may never load).
IMAGES_LOADED = """() => [...document.querySelectorAll("img")].every((img) => {
  const r = img.getBoundingClientRect();
  const onScreen = r.width > 0 && r.right > 0 && r.bottom > 0
    && r.left < innerWidth && r.top < innerHeight;
  return !onScreen || (img.complete && img.naturalWidth > 0);
})"""


async def settle_room(page: Page) -> None:
    """The room as a buyer sees it once it has loaded: connected, playing, images in."""
    await page.locator("[data-testid=room][data-room-stream=live]").wait_for(timeout=TIMEOUT_MS)
    await page.wait_for_function(PLAYING, timeout=TIMEOUT_MS)
    await page.wait_for_function(IMAGES_LOADED, timeout=TIMEOUT_MS)
    await page.locator("[data-testid=viewer-count]:not([data-count=''])").wait_for(
        timeout=TIMEOUT_MS
    )
    # The next painted frame has the video's current picture.
    await page.evaluate("() => new Promise(r => requestAnimationFrame(() => r(null)))")


async def room_shot(browser: Browser, room_url: str, viewport: ViewportSize, name: str) -> None:
    context = await browser.new_context(
        viewport=viewport, locale="en-US", reduced_motion="reduce", device_scale_factor=1
    )
    try:
        page = await context.new_page()
        await page.goto(room_url)
        await settle_room(page)
        await page.screenshot(path=OUT / name)
    finally:
        await context.close()


async def live_control_shot(browser: Browser, store: str, password: str) -> None:
    context = await browser.new_context(viewport=DESKTOP, locale="en-US", device_scale_factor=1)
    try:
        page = await context.new_page()
        await sign_in_seller(page, store, DEMO_SELLER_EMAIL, password)
        await page.goto(f"{store}/seller/rooms/{DEMO_ROOM_ID}")
        await page.wait_for_function(IMAGES_LOADED, timeout=TIMEOUT_MS)
        await page.screenshot(path=OUT / "live-control-desktop.png")
    finally:
        await context.close()


async def take_all(store: str, password: str) -> None:
    room_url = f"{store}/rooms/{DEMO_ROOM_ID}"
    async with chromium() as browser:
        await room_shot(browser, room_url, PHONE, "room-phone.png")
        await room_shot(browser, room_url, DESKTOP, "room-desktop.png")
        await live_control_shot(browser, store, password)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with redis_for_tests() as redis_url, tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        env = service_env(
            redis_url=redis_url, stream_prefix=f"lc-shots-{uuid.uuid4().hex[:12]}", workdir=workdir
        )
        with running_stack(env, workdir) as services:
            store = services["storefront"].base_url
            asyncio.run(take_all(store, demo_seller_password(services)))
    for png in sorted(OUT.glob("*.png")):
        print(f"{png.relative_to(ROOT)}: {png.stat().st_size} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()
