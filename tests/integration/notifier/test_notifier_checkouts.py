"""One checkout's stream against real Redis: ownership, the end, 204; and what every stream
shares: malformed entries skipped, heartbeats, freed subscriptions, readiness."""

import asyncio
import json
import logging

import httpx
import pytest
from httpx_sse import aconnect_sse

from contracts import OrderStatus
from services.notifier.config import NotifierSettings
from services.notifier.hub import StatusHub
from tests.integration.notifier.support import (
    TOKENS,
    Notifier,
    Notifiers,
    Redis,
    Relay,
    bearer,
    browser_events,
    new_id,
    notifier_settings,
    order_status,
    take,
    wait_until,
)

ANN, BOB = "ann", "bob"
ME = "/events/buyers/me"


def statuses_of(notifier: Notifier) -> StatusHub:
    hub: StatusHub = notifier.app.state.statuses
    return hub


async def test_a_checkout_stream_shows_only_that_checkout_live_and_ends_after_its_final_status(
    client: httpx.AsyncClient, relay: Relay
) -> None:
    mine, other = new_id("co"), new_id("co")
    url = f"/events/checkouts/{mine}"
    entry_ids = []
    async with aconnect_sse(client, "GET", url, headers=bearer(ANN)) as source:
        events = browser_events(source)
        for state in (OrderStatus.RECEIVED, OrderStatus.RESERVED, OrderStatus.PAID):
            await relay.publish(order_status(other, state, buyer_id=ANN))
            entry_ids.append(await relay.publish(order_status(mine, state, buyer_id=ANN)))
            assert [e.id for e in await take(events, 1)] == entry_ids[-1:]
        final = order_status(mine, OrderStatus.REJECTED, buyer_id=ANN)
        entry_ids.append(await relay.publish(final))
        async with asyncio.timeout(10):
            rest = [event async for event in events]  # ends after the final status
    assert [e.id for e in rest] == entry_ids[-1:]
    assert json.loads(rest[0].data)["status"] == "rejected"


async def test_another_buyers_known_checkout_is_refused_with_403(
    notifier: Notifier, relay: Relay
) -> None:
    theirs = new_id("co")
    await relay.publish(order_status(theirs, OrderStatus.RECEIVED, buyer_id=BOB))
    hub = statuses_of(notifier)
    await wait_until(lambda: hub.owner_of(theirs) == BOB, "the notifier saw the checkout")
    response = await notifier.client.get(f"/events/checkouts/{theirs}", headers=bearer(ANN))
    assert response.status_code == 403
    assert response.json()["reason"] == "not_your_checkout"


async def test_a_checkout_not_seen_yet_waits_and_never_shows_another_buyers_statuses(
    notifier: Notifier, relay: Relay
) -> None:
    checkout = new_id("co")
    hub = statuses_of(notifier)
    url = f"/events/checkouts/{checkout}"
    async with aconnect_sse(notifier.client, "GET", url, headers=bearer(ANN)) as source:
        events = browser_events(source)
        await wait_until(lambda: hub.connections() == 1, "the browser is connected")
        await relay.happy_path(checkout, BOB)  # the same checkout id, another buyer
        await wait_until(lambda: hub.owner_of(checkout) == BOB, "the notifier saw them")
        mine = await relay.publish(order_status(checkout, OrderStatus.CONFIRMED, buyer_id=ANN))
        # Bob's four statuses came first; the first (and only) event is Ann's own.
        assert [e.id for e in await take(events, 1)] == [mine]


async def test_a_client_that_already_saw_the_final_status_is_told_not_to_reconnect(
    client: httpx.AsyncClient, relay: Relay
) -> None:
    checkout = new_id("co")
    entry_ids = await relay.happy_path(checkout, ANN)
    later = await relay.publish(order_status(new_id("co"), OrderStatus.RECEIVED, buyer_id=ANN))
    url = f"/events/checkouts/{checkout}"
    for seen in (entry_ids[-1], later):
        response = await client.get(url, headers={**bearer(ANN), "Last-Event-ID": seen})
        assert response.status_code == 204
    headers = {**bearer(ANN), "Last-Event-ID": entry_ids[1]}
    async with aconnect_sse(client, "GET", url, headers=headers) as source:
        async with asyncio.timeout(10):
            assert [e.id async for e in browser_events(source)] == entry_ids[2:]


async def test_malformed_entries_on_order_status_and_a_buyer_stream_are_skipped(
    client: httpx.AsyncClient,
    relay: Relay,
    redis_client: Redis,
    settings: NotifierSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="services.notifier")
    streams = settings.streams
    for stream in (streams.order_status, streams.buyer_status(ANN)):
        await redis_client.xadd(stream, {"__data__": "not json"})
        await redis_client.xadd(stream, {"something": "else"})
        await redis_client.xadd(stream, {"__data__": json.dumps({"type": "order.status_changed"})})
    async with aconnect_sse(client, "GET", ME, headers=bearer(ANN)) as source:
        events = browser_events(source)
        entry_ids = await relay.happy_path(new_id("co"), ANN)
        assert [e.id for e in await take(events, 4)] == entry_ids
    skipped = [r for r in caplog.records if "skipped malformed" in r.getMessage()]
    assert len(skipped) == 6
    assert {r.levelno for r in skipped} == {logging.WARNING}


async def test_an_idle_stream_stays_open_with_heartbeats_until_a_status_arrives(
    client: httpx.AsyncClient, relay: Relay
) -> None:
    async with asyncio.timeout(10), client.stream("GET", ME, headers=bearer(ANN)) as response:
        lines = response.aiter_lines()
        for _ in range(3):
            while not (await anext(lines)).startswith(": ping"):
                pass
        entry_id = await relay.publish(order_status(new_id("co"), OrderStatus.PAID, buyer_id=ANN))
        while (line := await anext(lines)) != f"id: {entry_id}":
            assert not line.startswith("id:")


async def test_a_browser_that_goes_away_leaves_no_subscription_behind(notifier: Notifier) -> None:
    hub = statuses_of(notifier)
    for url in (ME, f"/events/checkouts/{new_id('co')}"):
        async with (
            asyncio.timeout(10),
            notifier.client.stream("GET", url, headers=bearer(ANN)) as response,
        ):
            await anext(response.aiter_lines())
            assert hub.connections() == 1
        await wait_until(lambda: hub.connections() == 0, "the subscription was removed")


@pytest.mark.parametrize("checkout_id", ["-starts-with-a-dash", "x" * 65, "has%20space"])
async def test_an_invalid_checkout_id_is_refused_with_422(
    client: httpx.AsyncClient, checkout_id: str
) -> None:
    response = await client.get(f"/events/checkouts/{checkout_id}", headers=bearer(ANN))
    assert response.status_code == 422


async def test_the_storefront_origin_may_open_streams_with_the_cookie_and_no_other_origin(
    notifiers: Notifiers, redis_url: str, stream_prefix: str
) -> None:
    storefront, elsewhere = "http://localhost:8000", "http://evil.example"
    settings = notifier_settings(redis_url, stream_prefix, cors_origins=f"{storefront}/")
    client = (await notifiers.start(settings)).client
    preflight = await client.options(
        ME,
        headers={
            "Origin": storefront,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization,last-event-id",
        },
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-credentials"] == "true"
    cookie = {"Cookie": f"livecart_buyer={TOKENS.issue(ANN)}"}
    async with aconnect_sse(client, "GET", ME, headers={"Origin": storefront, **cookie}) as source:
        assert source.response.status_code == 200
        # Browsers hand a credentialed response to the page only with its own origin named.
        assert source.response.headers["access-control-allow-origin"] == storefront
        assert source.response.headers["access-control-allow-credentials"] == "true"
    response = await client.get("/ready", headers={"Origin": elsewhere})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers
    assert response.json()["checks"] == {"redis": True}
