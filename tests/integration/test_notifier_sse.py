"""The notifier against real Redis: `order.status` entries in, Server-Sent Events out."""

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest
import redis.asyncio as aioredis
import uvicorn
from fastapi import FastAPI
from httpx_sse import ServerSentEvent, aconnect_sse

from contracts import OrderStatus, OrderStatusChanged, OrderStatusChangedEvent, encode_entry
from services.notifier.config import NotifierSettings
from services.notifier.entrypoints.app import create_app
from services.notifier.hub import StatusHub

DEADLINE = 10.0
POLL_SECONDS = 0.02
HAPPY_PATH = (OrderStatus.RECEIVED, OrderStatus.RESERVED, OrderStatus.PAID, OrderStatus.CONFIRMED)
Redis = aioredis.Redis


def new_checkout_id() -> str:
    return f"co-{uuid.uuid4().hex[:12]}"


def status_event(checkout_id: str, step: int, state: OrderStatus) -> OrderStatusChangedEvent:
    previous = HAPPY_PATH[step - 1] if step > 0 else None
    data = OrderStatusChanged(
        checkout_id=checkout_id,
        order_id=f"order-{checkout_id}",
        buyer_id="buyer-1",
        room_id="room-1",
        status=state,
        previous_status=previous,
        sequence=step + 1,
        total_minor=2599,
        currency="EUR",
    )
    return OrderStatusChangedEvent.new(correlation_id=checkout_id, producer="orders", data=data)


async def xadd(redis: Redis, stream: str, fields: dict[str, str]) -> str:
    entry_id = await redis.xadd(stream, fields)  # type: ignore[arg-type]
    return entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)


async def publish_happy_path(redis: Redis, stream: str, checkout_id: str) -> list[str]:
    return [
        await xadd(redis, stream, encode_entry(status_event(checkout_id, i, state)))
        for i, state in enumerate(HAPPY_PATH)
    ]


async def wait_until(condition: Callable[[], bool], what: str) -> None:
    for _ in range(int(DEADLINE / POLL_SECONDS)):
        if condition():
            return
        await asyncio.sleep(POLL_SECONDS)
    pytest.fail(f"not within {DEADLINE}s: {what}")


def hub_of(app: FastAPI) -> StatusHub:
    hub: StatusHub = app.state.hub
    return hub


async def read_statuses(
    client: httpx.AsyncClient, checkout_id: str, *, last_event_id: str | None = None
) -> list[ServerSentEvent]:
    """Every event of a stream that is expected to end (after a final status)."""
    headers = {"Last-Event-ID": last_event_id} if last_event_id else {}
    url = f"/events/checkouts/{checkout_id}"
    async with (
        asyncio.timeout(DEADLINE),
        aconnect_sse(client, "GET", url, headers=headers) as source,
    ):
        return [sse async for sse in source.aiter_sse()]


@pytest.fixture
def settings(redis_url: str, stream_prefix: str) -> NotifierSettings:
    return NotifierSettings(redis_url=redis_url, stream_prefix=stream_prefix, heartbeat_seconds=0.1)


@pytest.fixture
def stream(settings: NotifierSettings) -> str:
    return settings.streams.order_status


@pytest.fixture
async def app(settings: NotifierSettings) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://notifier") as client:
        yield client


ServeApp = Callable[[FastAPI], Awaitable[httpx.AsyncClient]]


@pytest.fixture
async def serve() -> AsyncIterator[ServeApp]:
    """Runs an app under a real uvicorn on a free port; gives a client for it."""
    servers: list[tuple[uvicorn.Server, asyncio.Task[None], httpx.AsyncClient]] = []

    async def start(app: FastAPI) -> httpx.AsyncClient:
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        await wait_until(lambda: server.started or task.done(), "uvicorn started")
        port = server.servers[0].sockets[0].getsockname()[1]
        client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")
        servers.append((server, task, client))
        return client

    yield start
    for server, task, client in servers:
        await client.aclose()
        server.should_exit = True
        async with asyncio.timeout(DEADLINE):
            await task


async def test_statuses_arrive_live_in_order_with_entry_ids_as_event_ids_and_the_stream_ends(
    settings: NotifierSettings, stream: str, redis_client: Redis, serve: ServeApp
) -> None:
    client = await serve(create_app(settings))
    checkout_id = new_checkout_id()
    url = f"/events/checkouts/{checkout_id}"
    received: list[ServerSentEvent] = []
    entry_ids: list[str] = []
    async with asyncio.timeout(DEADLINE), aconnect_sse(client, "GET", url) as source:
        events = source.aiter_sse()
        for step, state in enumerate(HAPPY_PATH):
            event = status_event(checkout_id, step, state)
            entry_ids.append(await xadd(redis_client, stream, encode_entry(event)))
            received.append(await anext(events))  # one at a time: this is live, not buffered
        assert [sse async for sse in events] == []  # ended after `confirmed`
    assert [sse.id for sse in received] == entry_ids
    assert {sse.event for sse in received} == {"status"}
    payloads = [json.loads(sse.data) for sse in received]
    assert [p["status"] for p in payloads] == ["received", "reserved", "paid", "confirmed"]
    assert payloads[-1] | {"reason": None} == {
        **payloads[-1],
        "checkout_id": checkout_id,
        "previous_status": "paid",
        "detail": None,
        "sequence": 4,
        "total_minor": 2599,
        "currency": "EUR",
    }


async def test_an_idle_stream_stays_open_with_heartbeats_until_a_status_arrives(
    settings: NotifierSettings, stream: str, redis_client: Redis, serve: ServeApp
) -> None:
    client = await serve(create_app(settings))
    checkout_id = new_checkout_id()
    async with (
        asyncio.timeout(DEADLINE),
        client.stream("GET", f"/events/checkouts/{checkout_id}") as response,
    ):
        lines = response.aiter_lines()
        while not (await anext(lines)).startswith(": ping"):
            pass
        final = status_event(checkout_id, 3, OrderStatus.CONFIRMED)
        entry_id = await xadd(redis_client, stream, encode_entry(final))
        rest = [line async for line in lines]
    assert f"id: {entry_id}" in rest
    assert "event: status" in rest


async def test_a_browser_that_goes_away_leaves_no_subscription_behind(
    settings: NotifierSettings, serve: ServeApp
) -> None:
    app = create_app(settings)
    client = await serve(app)
    async with (
        asyncio.timeout(DEADLINE),
        client.stream("GET", f"/events/checkouts/{new_checkout_id()}") as response,
    ):
        await anext(response.aiter_lines())
        assert len(hub_of(app)) == 1
    await wait_until(lambda: len(hub_of(app)) == 0, "the subscription was removed")


async def test_statuses_published_before_the_client_connected_are_replayed(
    app: FastAPI, client: httpx.AsyncClient, stream: str, redis_client: Redis
) -> None:
    checkout_id = new_checkout_id()
    entry_ids = await publish_happy_path(redis_client, stream, checkout_id)
    await wait_until(lambda: len(hub_of(app).history(checkout_id)) == 4, "hub read 4 statuses")
    assert [sse.id for sse in await read_statuses(client, checkout_id)] == entry_ids


async def test_a_reconnect_with_last_event_id_gets_exactly_the_missed_statuses(
    app: FastAPI, client: httpx.AsyncClient, stream: str, redis_client: Redis
) -> None:
    checkout_id = new_checkout_id()
    entry_ids = await publish_happy_path(redis_client, stream, checkout_id)
    await wait_until(lambda: len(hub_of(app).history(checkout_id)) == 4, "hub read 4 statuses")
    replayed = await read_statuses(client, checkout_id, last_event_id=entry_ids[1])
    assert [sse.id for sse in replayed] == entry_ids[2:]


async def test_a_client_that_already_saw_the_final_status_is_told_not_to_reconnect(
    app: FastAPI, client: httpx.AsyncClient, stream: str, redis_client: Redis
) -> None:
    checkout_id = new_checkout_id()
    entry_ids = await publish_happy_path(redis_client, stream, checkout_id)
    await wait_until(lambda: len(hub_of(app).history(checkout_id)) == 4, "hub read 4 statuses")
    response = await client.get(
        f"/events/checkouts/{checkout_id}", headers={"Last-Event-ID": entry_ids[-1]}
    )
    assert response.status_code == 204


async def test_an_event_the_relay_sent_twice_is_delivered_once(
    client: httpx.AsyncClient, stream: str, redis_client: Redis
) -> None:
    checkout_id = new_checkout_id()
    received = status_event(checkout_id, 0, OrderStatus.RECEIVED)
    first = await xadd(redis_client, stream, encode_entry(received))
    await xadd(redis_client, stream, encode_entry(received))
    last = await xadd(
        redis_client, stream, encode_entry(status_event(checkout_id, 3, OrderStatus.CONFIRMED))
    )
    assert [sse.id for sse in await read_statuses(client, checkout_id)] == [first, last]


async def test_malformed_entries_are_skipped_and_later_statuses_still_arrive(
    client: httpx.AsyncClient, stream: str, redis_client: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="services.notifier")
    checkout_id = new_checkout_id()
    await xadd(redis_client, stream, {"__data__": "not json"})
    await xadd(redis_client, stream, {"something": "else"})
    await xadd(redis_client, stream, {"__data__": json.dumps({"type": "order.status_changed"})})
    entry_ids = await publish_happy_path(redis_client, stream, checkout_id)
    assert [sse.id for sse in await read_statuses(client, checkout_id)] == entry_ids
    skipped = [r for r in caplog.records if "skipped malformed" in r.getMessage()]
    assert len(skipped) == 3
    assert {r.levelno for r in skipped} == {logging.WARNING}


async def test_a_notifier_started_after_the_statuses_were_written_still_serves_them(
    settings: NotifierSettings, stream: str, redis_client: Redis
) -> None:
    checkout_id = new_checkout_id()
    entry_ids = await publish_happy_path(redis_client, stream, checkout_id)
    late = create_app(settings)
    async with (
        late.router.lifespan_context(late),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=late), base_url="http://n") as client,
    ):
        assert [sse.id for sse in await read_statuses(client, checkout_id)] == entry_ids


@pytest.mark.parametrize("checkout_id", ["-starts-with-a-dash", "x" * 65, "has%20space"])
async def test_an_invalid_checkout_id_is_refused_with_422(
    client: httpx.AsyncClient, checkout_id: str
) -> None:
    response = await client.get(f"/events/checkouts/{checkout_id}")
    assert response.status_code == 422


async def test_the_storefront_origin_may_read_and_the_service_reports_ready(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/ready", headers={"Origin": "http://localhost:8000"})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
    assert response.json()["checks"] == {"redis": True}
