"""The order tracker's wording for every outcome, and its rebuild after `reset`, in a real
Chromium: the room page comes from the real storefront, its notifier is a scripted SSE
server (the real one would need each outcome staged in the marketplace)."""

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import Page
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.routing import Route

from infra.local.redis_server import free_port
from tests.support.browser import artifact, chromium
from tests.support.demo import DEMO_PRODUCTS
from tests.support.flow import eventually
from tests.support.stack import ServiceProcess, seed_demo, service_env

pytestmark = pytest.mark.slow

HOODIE, MUG, CAP = DEMO_PRODUCTS
# (checkout id, status, reason, detail) -> the badge and the start of the sentence.
OUTCOMES = [
    (("co-ok", "confirmed", None, None), "Confirmed", "Confirmed! Your order is placed."),
    (("co-gone", "rejected", "out_of_stock", None), "Sold out", "Sold out: the last units"),
    (("co-card", "rejected", "payment_failed", "declined"), "Payment declined",
     "Payment declined by your wallet"),
    (("co-poor", "rejected", "payment_failed", "insufficient_funds"), "Payment declined",
     "Payment declined: not enough funds"),
    (("co-slow", "rejected", "payment_failed", "timeout"), "Payment timed out",
     "The payment provider did not answer in time"),
    (("co-bad", "rejected", "invalid", None), "Not accepted",
     "The shop could not accept this order"),
    (("co-late", "expired", None, None), "Expired", "Expired: the payment was not completed"),
]  # fmt: skip


def status(checkout_id: str, status: str, sequence: int, **extra: Any) -> dict[str, Any]:
    return {
        "checkout_id": checkout_id, "order_id": f"o-{checkout_id}", "buyer_id": "b-1",
        "room_id": "demo", "status": status, "previous_status": None, "sequence": sequence,
        "reason": None, "detail": None, "total_minor": MUG.price_minor, "currency": "EUR",
        "items": [{"sku": MUG.sku, "quantity": 1}],
    } | extra  # fmt: skip


def history_of(checkout_id: str, final: str, reason: str | None, detail: str | None) -> list[Any]:
    steps = ["received", "reserved"] + (["paid"] if final == "confirmed" else [])
    statuses = [status(checkout_id, s, n) for n, s in enumerate(steps, start=1)]
    last = status(
        checkout_id, final, len(steps) + 1, reason=reason, detail=detail, previous_status=steps[-1]
    )
    # The second `received` is a replay (as after a reconnect): it must change nothing.
    return [*statuses, statuses[0], last]


@dataclass
class ScriptedNotifier:
    """Plays a notifier: a fixed buyer stream, an empty room stream, and the buyer cookies
    (and query strings) its buyer streams were opened with."""

    buyer_events: list[tuple[str, Any]]
    port: int = field(default_factory=free_port)
    tokens: list[str] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _buyer(self, request: Request) -> EventSourceResponse:
        self.tokens.append(request.cookies.get("livecart_buyer", ""))
        self.queries.append(request.url.query)

        async def events() -> AsyncIterator[ServerSentEvent]:
            for number, (name, data) in enumerate(self.buyer_events, start=1):
                event_id = f"{number}-0" if name == "status" else None
                yield ServerSentEvent(data=json.dumps(data), event=name, id=event_id)
            await asyncio.Event().wait()  # then quiet, like a live stream

        return EventSourceResponse(events())

    async def _room(self, _request: Request) -> EventSourceResponse:
        async def events() -> AsyncIterator[ServerSentEvent]:
            yield ServerSentEvent(
                data=json.dumps({"stock": [], "sales": None, "viewers": 1}), event="snapshot"
            )
            await asyncio.Event().wait()

        return EventSourceResponse(events())

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator["ScriptedNotifier"]:
        app = Starlette(
            routes=[
                Route("/events/buyers/me", self._buyer),
                Route("/events/rooms/{room_id}", self._room),
            ],
            # As the real notifier: the page's origin, with credentials (the buyer cookie).
            middleware=[Middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True)],
        )
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off",
            timeout_graceful_shutdown=1,
        )  # fmt: skip
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())

        async def started() -> bool:
            return server.started

        await eventually(started, until=bool, timeout=10)
        try:
            yield self
        finally:
            server.should_exit = True
            await serving


@pytest.fixture
def notifier_port() -> int:
    return free_port()


@pytest.fixture
def storefront(
    redis_url: str, stream_prefix: str, tmp_path: Path, notifier_port: int
) -> Iterator[ServiceProcess]:
    """The real storefront, sending browsers to the scripted notifier."""
    env = service_env(redis_url=redis_url, stream_prefix=stream_prefix, workdir=tmp_path)
    env.update(
        STOREFRONT_PORT=str(free_port()), NOTIFIER_PUBLIC_URL=f"http://127.0.0.1:{notifier_port}"
    )
    seed_demo(env)
    service = ServiceProcess("storefront", int(env["STOREFRONT_PORT"]), env, tmp_path / "sf.log")
    try:
        service.start().wait_ready()
        yield service
    finally:
        service.terminate()


async def tracked_orders(page: Page) -> dict[str, tuple[str, str]]:
    """Each tracked order: checkout id -> (badge, why it failed)."""
    rows = await page.locator("[data-testid=order]").evaluate_all(
        "rows => rows.map(r => [r.dataset.checkoutId, r.querySelector('.badge').textContent,"
        " r.querySelector('.order-why').textContent])"
    )
    return {checkout_id: (badge, why) for checkout_id, badge, why in rows}


async def test_every_outcome_is_worded_clearly_in_the_tracker(
    storefront: ServiceProcess, notifier_port: int
) -> None:
    events = [("status", s) for (args, _badge, _sentence) in OUTCOMES for s in history_of(*args)]
    async with (
        ScriptedNotifier(events, port=notifier_port).running() as notifier,
        chromium() as browser,
    ):
        page = await browser.new_page(viewport={"width": 390, "height": 844})
        await page.goto(f"{storefront.base_url}/rooms/demo")
        last_id = OUTCOMES[-1][0][0]
        await page.locator(f"[data-testid=order][data-checkout-id={last_id}]").wait_for()
        await page.locator("[data-testid=order-status][data-status=expired]").wait_for()

        tracked = await tracked_orders(page)
        latest_sentence = await page.get_by_test_id("order-status").inner_text()
        cookie = next(c for c in await page.context.cookies() if c["name"] == "livecart_buyer")
        readable = await page.evaluate("document.cookie")
        await page.screenshot(path=artifact("tracker-outcomes.png"), full_page=True)

    assert list(tracked) == [args[0] for args, _, _ in reversed(OUTCOMES)]  # newest first
    for (checkout_id, final, _reason, _detail), badge, sentence in OUTCOMES:
        shown_badge, why = tracked[checkout_id]
        assert shown_badge == badge, checkout_id
        if final == "confirmed":
            assert why == ""
        else:
            assert why.startswith(sentence), (checkout_id, why)
            assert why.endswith("You have not been charged.")
    assert latest_sentence.startswith(OUTCOMES[-1][2])
    # One EventSource, carrying the page's cookie, with no token in its URL; the cookie is
    # HttpOnly, so the page's scripts cannot read it.
    assert notifier.tokens == [cookie["value"]]
    assert notifier.queries == [""]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["value"] not in readable
    assert "livecart_buyer" not in readable


async def test_a_reset_rebuilds_the_tracker_from_what_follows(
    storefront: ServiceProcess, notifier_port: int
) -> None:
    events = [
        *[("status", s) for s in history_of("co-forgotten", "confirmed", None, None)],
        ("reset", {"reason": "history_expired"}),
        *[("status", s) for s in history_of("co-kept", "confirmed", None, None)],
    ]
    async with (
        ScriptedNotifier(events, port=notifier_port).running(),
        chromium() as browser,
    ):
        page = await browser.new_page()
        await page.goto(f"{storefront.base_url}/rooms/demo")
        kept = page.locator("[data-testid=order][data-checkout-id=co-kept][data-status=confirmed]")
        await kept.wait_for()
        tracked = await tracked_orders(page)

    assert list(tracked) == ["co-kept"]
