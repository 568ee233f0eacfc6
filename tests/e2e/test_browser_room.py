"""The live room in a real headless Chromium against the whole stack as real processes."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.browser import artifact, chromium
from tests.support.stack import ServiceProcess, running_stack, service_env

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(
    redis_url: str, stream_prefix: str, tmp_path: Path
) -> Iterator[dict[str, ServiceProcess]]:
    env = service_env(redis_url=redis_url, stream_prefix=stream_prefix, workdir=tmp_path)
    with running_stack(env, tmp_path) as services:
        yield services


async def test_a_buyer_taps_the_cart_buys_and_sees_confirmed_without_leaving_the_room(
    stack: dict[str, ServiceProcess],
) -> None:
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 390, "height": 844})  # a phone
        await page.goto(f"{stack['storefront'].base_url}/rooms/demo")
        room_url = page.url

        await page.get_by_test_id("cart-button").first.click()
        await page.get_by_test_id("quantity").fill("1")
        await page.get_by_test_id("buy-button").click()

        status = page.get_by_test_id("order-status")
        await status.and_(page.locator('[data-status="confirmed"]')).wait_for(timeout=20_000)
        await page.screenshot(path=artifact("room-confirmed.png"), full_page=True)

        assert page.url == room_url  # never left the stream
