"""The live room's chat and reactions in real headless Chromium against the whole stack as
real processes: two buyers in their own browsers see each other's messages and reactions
live, a message with markup stays text, the seller deletes one (gone in both rooms) and
mutes a buyer (whose next message is refused with a clear "muted"); moderation without the
room's seller signed in is refused."""

import httpx
import pytest
from playwright.async_api import Browser, BrowserContext, Locator, Page, ViewportSize, expect

from tests.e2e.test_browser_seller import _add_seller, _api_sign_in
from tests.support.browser import artifact, sign_in_seller
from tests.support.demo import DEMO_ROOM_ID, DEMO_SELLER_EMAIL
from tests.support.stack import ServiceProcess, demo_seller_password

pytestmark = pytest.mark.slow

PHONE: ViewportSize = {"width": 390, "height": 844}
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
MARKUP = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'
LIVE = 10_000  # ms: a message or reaction crosses storefront, Redis and notifier well within


async def buyer(browser: Browser, base_url: str, **options: object) -> Page:
    context: BrowserContext = await browser.new_context(**options)  # type: ignore[arg-type]
    page = await context.new_page()
    await page.goto(f"{base_url}/rooms/{DEMO_ROOM_ID}")
    # The room's stream is open (and its snapshot in): what is said now reaches this page.
    await expect(page.locator("main[data-room-stream=live]")).to_have_count(1, timeout=LIVE)
    return page


def messages(page: Page, text: str) -> Locator:
    return page.get_by_test_id("chat-messages").get_by_test_id("chat-text").filter(has_text=text)


async def send(page: Page, text: str) -> None:
    await page.get_by_test_id("chat-input").fill(text)
    await page.get_by_test_id("chat-send").click()


async def test_two_buyers_chat_and_react_live_and_the_seller_deletes_and_mutes(
    stack: dict[str, ServiceProcess], browser: Browser
) -> None:
    store = stack["storefront"].base_url
    ana = await buyer(browser, store, viewport=PHONE, reduced_motion="reduce")
    ben = await buyer(browser, store, viewport=DESKTOP)

    # Each sees the other's message, under a name that is not their buyer id.
    await send(ana, "Hi from Ana! Does the mug come in blue?")
    await expect(messages(ben, "Does the mug come in blue?")).to_have_count(1, timeout=LIVE)
    await expect(ana.get_by_test_id("chat-input")).to_have_value("")
    await send(ben, "Ben here, watching the drop")
    await expect(messages(ana, "Ben here")).to_have_count(1, timeout=LIVE)
    await expect(messages(ben, "Ben here")).to_have_count(1)  # once: its own, not echoed twice
    name = await ben.locator("[data-testid=chat-message] .chat-name").first.inner_text()
    assert name
    assert "buyer" not in name.lower()

    # Markup is only text: shown as typed, nothing runs, no element made from it.
    await send(ben, MARKUP)
    for page in (ana, ben):
        await expect(messages(page, "window.pwned")).to_have_text(MARKUP, timeout=LIVE)
        assert await page.evaluate("window.pwned") is None
        assert (
            await page.locator(
                "[data-testid=chat-messages] img, [data-testid=chat-messages] script"
            ).count()
            == 0
        )

    # A reaction floats up in the other buyer's room.
    await ana.locator("[data-testid=reaction][data-kind=fire]").click()
    await ben.locator("[data-testid=reaction-float] [data-kind=fire]").first.wait_for(
        state="attached", timeout=LIVE
    )
    await ana.screenshot(path=artifact("chat-phone.png"))
    await ben.screenshot(path=artifact("chat-desktop.png"))

    # The seller's live control lists the chat; Delete takes a message out of both rooms.
    seller: BrowserContext = await browser.new_context(viewport=DESKTOP)
    control = await seller.new_page()
    await sign_in_seller(control, store, DEMO_SELLER_EMAIL, demo_seller_password(stack))
    await control.goto(f"{store}/seller/rooms/{DEMO_ROOM_ID}")
    lines = control.get_by_test_id("seller-chat-message")
    markup_line = lines.filter(has_text="window.pwned")
    await expect(markup_line).to_have_count(1, timeout=LIVE)
    await control.screenshot(path=artifact("chat-seller.png"), full_page=True)
    await markup_line.get_by_test_id("delete-message").click()
    for page in (ana, ben):
        await expect(messages(page, "window.pwned")).to_have_count(0, timeout=LIVE)
    await expect(markup_line).to_have_count(0, timeout=LIVE)

    # Mute Ana: her next message is refused, and she is told so; Ben still writes.
    await lines.filter(has_text="Hi from Ana").get_by_test_id("mute-author").click()
    await expect(control.get_by_test_id("seller-chat-notice")).to_contain_text(
        "Muted", timeout=LIVE
    )
    await send(ana, "Why was I muted?")
    notice = ana.get_by_test_id("chat-notice")
    await expect(notice).to_have_attribute("data-reason", "muted", timeout=LIVE)
    await expect(notice).to_contain_text("muted you")
    await expect(ana.get_by_test_id("chat-input")).to_have_value("Why was I muted?")
    await send(ben, "Still here")
    await expect(messages(ana, "Still here")).to_have_count(1, timeout=LIVE)
    await expect(messages(ben, "Why was I muted?")).to_have_count(0)
    await ana.screenshot(path=artifact("chat-muted-phone.png"))

    # A newcomer gets the recent chat in the snapshot, without the deleted message.
    late = await buyer(browser, store, viewport=PHONE)
    await expect(messages(late, "Still here")).to_have_count(1, timeout=LIVE)
    await expect(messages(late, "window.pwned")).to_have_count(0)

    message_id = await lines.filter(has_text="Still here").get_attribute("data-id")
    await _refusals(stack, message_id or "")


async def _refusals(stack: dict[str, ServiceProcess], message_id: str) -> None:
    """Without a seller session, with a buyer's, or as another seller: refused."""
    store = stack["storefront"]
    url = f"/api/seller/rooms/{DEMO_ROOM_ID}/chat/{message_id}"
    async with httpx.AsyncClient(base_url=store.base_url) as anonymous:
        assert (await anonymous.delete(url)).status_code == 401
        assert (await anonymous.post(f"{url}/mute", json={"minutes": 5})).status_code == 401
        await anonymous.post("/api/sessions")  # now a buyer (cookie): still no seller
        assert (await anonymous.delete(url)).status_code == 401
    other_password = "other-seller-password-1"
    _add_seller(store, other_password)
    async with httpx.AsyncClient(base_url=store.base_url) as other:
        csrf = await _api_sign_in(other, other_password)
        delete = await other.delete(url, headers={"X-CSRF-Token": csrf})
        assert (delete.status_code, delete.json()["reason"]) == (403, "not_your_room")
        mute = await other.post(f"{url}/mute", json={"minutes": 5}, headers={"X-CSRF-Token": csrf})
        assert mute.status_code == 403
        assert (await other.delete(url)).status_code == 403  # no CSRF token either


async def test_the_chat_opens_when_the_room_goes_live_and_closes_when_it_ends(
    stack: dict[str, ServiceProcess], browser: Browser
) -> None:
    store = stack["storefront"].base_url
    async with httpx.AsyncClient(base_url=store) as seller:
        answer = await seller.post(
            "/api/seller/session",
            json={"email": DEMO_SELLER_EMAIL, "password": demo_seller_password(stack)},
        )
        assert answer.status_code == 200, answer.text
        csrf = {"X-CSRF-Token": answer.json()["csrf_token"]}
        room = await seller.post("/api/seller/rooms", json={"title": "Chat later"}, headers=csrf)
        assert room.status_code == 201, room.text
        room_id = room.json()["room_id"]

        context = await browser.new_context(viewport=PHONE)
        page = await context.new_page()
        await page.goto(f"{store}/rooms/{room_id}")
        await expect(page.locator("main[data-room-stream=live]")).to_have_count(1, timeout=LIVE)
        await expect(page.get_by_test_id("chat-form")).to_be_hidden()
        await expect(page.get_by_test_id("reaction")).to_have_count(4)
        await expect(page.get_by_test_id("reaction").first).to_be_hidden()

        live = await seller.post(f"/api/seller/rooms/{room_id}/go-live", headers=csrf)
        assert live.status_code == 200, live.text
        await expect(page.get_by_test_id("chat-form")).to_be_visible(timeout=LIVE)
        await send(page, "First!")
        await expect(messages(page, "First!")).to_have_count(1, timeout=LIVE)

        ended = await seller.post(f"/api/seller/rooms/{room_id}/end", headers=csrf)
        assert ended.status_code == 200, ended.text
        await expect(page.get_by_test_id("chat-form")).to_be_hidden(timeout=LIVE)
        await expect(messages(page, "First!")).to_have_count(1)  # the last words stay
        closed = await page.evaluate(
            """async (roomId) => (await fetch(`/api/rooms/${roomId}/chat`, {
                 method: "POST", headers: {"Content-Type": "application/json"},
                 body: JSON.stringify({text: "too late"})})).json()""",
            room_id,
        )
        assert (closed["reason"], closed["state"]) == ("room_not_live", "ended")
