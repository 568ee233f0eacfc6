"""The notifier's buyer streams against real Redis: tokens, history then live, resume, gaps."""

import asyncio
import json
from datetime import timedelta
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse

from contracts import OrderStatus, OrderStatusChangedEvent, encode_entry
from services.common.tokens import BuyerTokens
from services.notifier.config import NotifierSettings
from services.notifier.hub import StatusHub
from tests.integration.notifier.support import (
    SECRET,
    TOKENS,
    Notifier,
    Notifiers,
    Redis,
    Relay,
    bearer,
    browser_events,
    new_id,
    order_status,
    take,
    wait_until,
)

ANN, BOB = "ann", "bob"
ME = "/events/buyers/me"


def statuses_of(notifier: Notifier) -> StatusHub:
    hub: StatusHub = notifier.app.state.statuses
    return hub


FORGED = BuyerTokens("someone-elses-secret-0123456789-abcdef").issue(ANN)
EXPIRED = BuyerTokens(SECRET, ttl=timedelta(seconds=-5)).issue(ANN)


@pytest.mark.parametrize("route", [ME, "/events/checkouts/co-1"])
@pytest.mark.parametrize(
    ("credentials", "reason"),
    [
        ({}, "missing"),
        ({"headers": {"Authorization": f"Bearer {FORGED}"}}, "invalid"),
        ({"headers": {"Cookie": f"livecart_buyer={FORGED}"}}, "invalid"),
        ({"headers": {"Authorization": "Basic YW5uOnB3"}}, "invalid"),
        ({"headers": {"Authorization": f"Bearer {EXPIRED}"}}, "expired"),
        ({"headers": {"Cookie": f"livecart_buyer={EXPIRED}"}}, "expired"),
        ({"params": {"token": TOKENS.issue(ANN)}}, "missing"),  # a URL is no place for it
    ],
)
async def test_every_buyer_route_refuses_a_missing_forged_or_expired_token_with_401(
    client: httpx.AsyncClient, route: str, credentials: dict[str, dict[str, str]], reason: str
) -> None:
    response = await client.get(route, **credentials)  # type: ignore[arg-type]
    assert response.status_code == 401
    assert response.json()["reason"] == reason
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_token_in_the_url_is_refused_while_the_cookie_and_the_bearer_header_open_it(
    client: httpx.AsyncClient, relay: Relay
) -> None:
    token = TOKENS.issue(ANN)
    entry = await relay.publish(order_status(new_id("co"), OrderStatus.RECEIVED, buyer_id=ANN))

    in_url = await client.get(ME, params={"token": token})

    assert in_url.status_code == 401
    assert in_url.json()["reason"] == "missing"
    assert "`livecart_buyer` cookie" in in_url.json()["detail"]
    assert "`Authorization: Bearer` header" in in_url.json()["detail"]
    for headers in ({"Cookie": f"livecart_buyer={token}"}, {"Authorization": f"Bearer {token}"}):
        async with aconnect_sse(client, "GET", ME, headers=headers) as source:
            assert source.response.status_code == 200
            assert [e.id for e in await take(browser_events(source), 1)] == [entry]


async def test_a_bearer_header_wins_over_the_cookie(
    client: httpx.AsyncClient, relay: Relay
) -> None:
    bobs = await relay.publish(order_status(new_id("co"), OrderStatus.RECEIVED, buyer_id=BOB))
    headers = {**bearer(BOB), "Cookie": f"livecart_buyer={TOKENS.issue(ANN)}"}
    async with aconnect_sse(client, "GET", ME, headers=headers) as source:
        assert [e.id for e in await take(browser_events(source), 1)] == [bobs]


async def test_the_buyer_stream_sends_history_then_live_statuses_and_nothing_of_other_buyers(
    client: httpx.AsyncClient, relay: Relay
) -> None:
    mine, theirs = new_id("co"), new_id("co")
    history = [
        await relay.publish(order_status(mine, OrderStatus.RECEIVED, buyer_id=ANN)),
        await relay.publish(order_status(mine, OrderStatus.RESERVED, buyer_id=ANN)),
    ]
    await relay.publish(order_status(theirs, OrderStatus.RECEIVED, buyer_id=BOB))
    cookie = {"Cookie": f"livecart_buyer={TOKENS.issue(ANN)}"}  # as a page's EventSource sends it
    async with aconnect_sse(client, "GET", ME, headers=cookie) as source:
        events = browser_events(source)
        assert [e.id for e in await take(events, 2)] == history
        live = []
        for state in (OrderStatus.PAID, OrderStatus.CONFIRMED):
            await relay.publish(order_status(theirs, state, buyer_id=BOB))
            live.append(await relay.publish(order_status(mine, state, buyer_id=ANN)))
            (event,) = await take(events, 1)  # one at a time: this is live, not buffered
            assert event.id == live[-1]
    assert event.event == "status"
    payload = json.loads(event.data)
    assert payload | {"reason": None} == {
        **payload, "checkout_id": mine, "buyer_id": ANN, "status": "confirmed",
        "previous_status": "paid", "sequence": 4, "total_minor": 2599, "currency": "EUR",
        "items": [{"sku": "mug", "quantity": 1}],
    }  # fmt: skip


async def test_a_reconnect_with_last_event_id_gets_exactly_the_missed_statuses_then_live(
    client: httpx.AsyncClient, relay: Relay
) -> None:
    checkouts = [new_id("co") for _ in range(3)]
    ids = [await relay.happy_path(checkout, ANN) for checkout in checkouts]
    flat = [entry for path in ids for entry in path]
    headers = {**bearer(ANN), "Last-Event-ID": flat[4]}
    async with aconnect_sse(client, "GET", ME, headers=headers) as source:
        events = browser_events(source)
        assert [e.id for e in await take(events, len(flat) - 5)] == flat[5:]
        later = await relay.publish(order_status(new_id("co"), OrderStatus.RECEIVED, buyer_id=ANN))
        assert [e.id for e in await take(events, 1)] == [later]


async def test_a_freshly_started_notifier_resumes_from_last_event_id(
    notifiers: Notifiers, settings: NotifierSettings, relay: Relay
) -> None:
    checkout = new_id("co")
    first = await notifiers.start(settings)
    async with aconnect_sse(first.client, "GET", ME, headers=bearer(ANN)) as source:
        events = browser_events(source)
        seen = await relay.publish(order_status(checkout, OrderStatus.RECEIVED, buyer_id=ANN))
        assert [e.id for e in await take(events, 1)] == [seen]
    await notifiers.stop(first)
    missed = [
        await relay.publish(order_status(checkout, state, buyer_id=ANN))
        for state in (OrderStatus.RESERVED, OrderStatus.PAID, OrderStatus.CONFIRMED)
    ]
    second = await notifiers.start(settings)  # a restart, or another replica
    headers = {**bearer(ANN), "Last-Event-ID": seen}
    async with aconnect_sse(second.client, "GET", ME, headers=headers) as source:
        assert [e.id for e in await take(browser_events(source), 3)] == missed


@pytest.mark.parametrize("loss", ["trimmed", "expired"])
async def test_a_resume_from_before_the_retained_history_starts_with_a_reset(
    client: httpx.AsyncClient,
    relay: Relay,
    redis_client: Redis,
    settings: NotifierSettings,
    loss: str,
) -> None:
    ids = await relay.happy_path(new_id("co"), ANN)
    key = settings.streams.buyer_status(ANN)
    if loss == "trimmed":
        await redis_client.xtrim(key, maxlen=2, approximate=False)
    else:
        await redis_client.delete(key)
    retained = ids[2:] if loss == "trimmed" else []
    headers = {**bearer(ANN), "Last-Event-ID": ids[0]}
    async with aconnect_sse(client, "GET", ME, headers=headers) as source:
        events = browser_events(source)
        reset, *rest = await take(events, 1 + len(retained))
        later = await relay.publish(order_status(new_id("co"), OrderStatus.RECEIVED, buyer_id=ANN))
        (live,) = await take(events, 1)
    assert (reset.event, json.loads(reset.data), reset.id) == (
        "reset", {"reason": "history_expired"}, "",
    )  # fmt: skip
    assert [e.id for e in rest] == retained
    assert live.id == later


async def test_a_malformed_last_event_id_is_refused_with_400(client: httpx.AsyncClient) -> None:
    for route in (ME, "/events/checkouts/co-1"):
        headers = {**bearer(ANN), "Last-Event-ID": "not-an-id"}
        response = await client.get(route, headers=headers)
        assert response.status_code == 400
        assert response.json()["reason"] == "malformed_last_event_id"


async def test_an_event_the_relay_sent_twice_is_delivered_once(
    client: httpx.AsyncClient, relay: Relay
) -> None:
    checkout = new_id("co")
    async with aconnect_sse(client, "GET", ME, headers=bearer(ANN)) as source:
        events = browser_events(source)
        first = order_status(checkout, OrderStatus.RECEIVED, buyer_id=ANN)
        envelope = OrderStatusChangedEvent.new(correlation_id=checkout, producer="o", data=first)
        once = await relay.publish(first, event=envelope)
        await relay.publish(first, event=envelope)  # again, as after a relay crash
        then = await relay.publish(order_status(checkout, OrderStatus.RESERVED, buyer_id=ANN))
        assert [e.id for e in await take(events, 2)] == [once, then]


async def test_a_doorbell_that_rings_before_the_buyer_stream_has_the_status_still_delivers_it(
    notifier: Notifier, redis_client: Redis, settings: NotifierSettings
) -> None:
    status = order_status(new_id("co"), OrderStatus.RECEIVED, buyer_id=ANN)
    event = OrderStatusChangedEvent.new(correlation_id="c", producer="o", data=status)
    hub = statuses_of(notifier)
    async with aconnect_sse(notifier.client, "GET", ME, headers=bearer(ANN)) as source:
        events = browser_events(source)
        await wait_until(lambda: hub.connections() == 1, "the browser is connected")
        fields: dict[Any, Any] = encode_entry(event)
        await redis_client.xadd(settings.streams.order_status, fields)
        await wait_until(lambda: hub.statuses_seen == 1, "the doorbell rang")
        late = await redis_client.xadd(settings.streams.buyer_status(ANN), fields)
        assert [e.id for e in await take(events, 1)] == [late.decode()]  # type: ignore[union-attr]


async def test_metrics_count_open_connections_and_time_tap_to_final(
    client: httpx.AsyncClient, relay: Relay
) -> None:
    from prometheus_client import REGISTRY

    def sample(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    finals_before = sample("livecart_tap_to_final_seconds_count", status="confirmed")
    checkout_id = new_id("co")
    async with aconnect_sse(client, "GET", ME, headers=bearer(ANN)) as source:
        events = browser_events(source)
        await wait_until(lambda: sample("livecart_sse_connections", kind="buyer") >= 1, "open")
        status = order_status(checkout_id, OrderStatus.CONFIRMED, buyer_id=ANN)
        await relay.publish(status)
        await take(events, 1)
    await wait_until(
        lambda: (
            sample("livecart_tap_to_final_seconds_count", status="confirmed") == finals_before + 1
        ),
        "tap to final observed",
    )
    await wait_until(lambda: sample("livecart_sse_connections", kind="buyer") == 0, "closed")


async def test_a_burst_of_resumes_waits_for_redis_connections_instead_of_failing(
    notifiers: Notifiers, settings: NotifierSettings, relay: Relay
) -> None:
    """Twenty buyers reconnect at once to a notifier allowed two Redis connections: each
    resume waits its turn for one, and every buyer gets exactly what was missed."""
    narrow = await notifiers.start(settings.model_copy(update={"redis_max_connections": 2}))
    buyers = [new_id("buyer") for _ in range(20)]
    paths = {buyer: await relay.happy_path(new_id("co"), buyer) for buyer in buyers}

    async def resume(buyer: str) -> list[str | None]:
        headers = {**bearer(buyer), "Last-Event-ID": paths[buyer][0]}
        async with aconnect_sse(narrow.client, "GET", ME, headers=headers) as source:
            assert source.response.status_code == 200
            return [e.id for e in await take(browser_events(source), 3)]

    resumed = await asyncio.gather(*(resume(buyer) for buyer in buyers))

    assert resumed == [paths[buyer][1:] for buyer in buyers]
