"""Abuse resistance of the SSE side against a real uvicorn and real Redis: a cap on open
streams per process, and a client that stops reading dropped without holding up the rest."""

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse
from prometheus_client.parser import text_string_to_metric_families

from contracts import (
    CatalogChanged,
    CatalogChangedEvent,
    OrderStatus,
    ProductSnapshot,
    encode_entry,
)
from services.notifier.capacity import ConnectionSlots
from services.notifier.config import NotifierSettings
from tests.integration.notifier.support import (
    DEADLINE,
    Notifiers,
    Redis,
    Relay,
    browser_events,
    new_id,
    notifier_settings,
    order_status,
    take,
    wait_until,
)

PRODUCTS = 100
"""Skus in each stock push to the slow client: ~20 KB a push fills its buffers quickly."""


async def metric(client: httpx.AsyncClient, name: str, **labels: str) -> float:
    """A sample of the notifier's /metrics (0 when absent)."""
    text = (await client.get("/metrics/")).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return sample.value
    return 0.0


async def first_line(lines: AsyncIterator[str]) -> str:
    async with asyncio.timeout(DEADLINE):
        return await anext(lines)


async def test_past_the_cap_a_new_stream_gets_503_with_retry_after_until_one_closes(
    notifiers: Notifiers, redis_url: str, stream_prefix: str
) -> None:
    settings = notifier_settings(redis_url, stream_prefix, max_connections=2)
    notifier = await notifiers.start(settings)
    slots: ConnectionSlots = notifier.app.state.connections
    client = notifier.client
    refused_before = await metric(
        client, "livecart_sse_refused_total", reason="too_many_connections"
    )
    # The line iterators are kept: one dropped would close its stream when collected.
    async with client.stream("GET", "/events/rooms/r1") as first:
        first_lines = first.aiter_lines()
        assert await first_line(first_lines) == "id: 1"
        async with client.stream("GET", "/events/rooms/r2") as second:
            second_lines = second.aiter_lines()
            assert await first_line(second_lines) == "id: 1"
            # Any stream route, whoever asks: refused before routing, auth or any stream.
            for path in ("/events/rooms/r3", "/events/buyers/me"):
                refused = await client.get(path)
                assert refused.status_code == 503
                assert refused.headers["retry-after"] == str(settings.busy_retry_seconds)
                assert refused.json()["reason"] == "too_many_connections"
            assert (await client.get("/health")).status_code == 200  # not a stream
            refused_after = await metric(
                client, "livecart_sse_refused_total", reason="too_many_connections"
            )
            assert refused_after - refused_before == 2
        await wait_until(lambda: slots.open == 1, "the closed stream freed its slot")
        async with client.stream("GET", "/events/rooms/r3") as third:
            assert third.status_code == 200
            third_lines = third.aiter_lines()
            assert await first_line(third_lines) == "id: 1"


def catalog_entry(version: int) -> dict[Any, Any]:
    title = "A product with a long title " + "x" * 100
    products = [
        ProductSnapshot(
            sku=f"p{n}",
            title=title,
            price_minor=1250,
            currency="EUR",
            available=1,
            sold=0,
            version=version,
        )
        for n in range(PRODUCTS)
    ]
    event = CatalogChangedEvent.new(
        correlation_id="catalog", producer="orders", data=CatalogChanged(products=products)
    )
    return dict(encode_entry(event))


@pytest.fixture
async def slow_socket(notifiers: Notifiers) -> AsyncIterator[socket.socket]:
    """A raw TCP socket with a tiny receive buffer, for a client that stops reading."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
    sock.setblocking(False)
    yield sock
    sock.close()


async def read_to_the_end(sock: socket.socket) -> None:
    """Read what the server sent until it closed the connection (EOF or reset)."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(DEADLINE):
        try:
            while await loop.sock_recv(sock, 65536):
                pass
        except ConnectionResetError:
            pass


async def test_a_client_that_stops_reading_is_dropped_and_a_reader_of_the_room_keeps_up(
    notifiers: Notifiers,
    redis_url: str,
    stream_prefix: str,
    redis_client: Redis,
    slow_socket: socket.socket,
) -> None:
    settings: NotifierSettings = notifier_settings(
        redis_url, stream_prefix, room_push_seconds=0.01, send_timeout_seconds=1.0,
        max_pending_purchases=16,
    )  # fmt: skip
    notifier = await notifiers.start(settings)
    client = notifier.client
    relay = Relay(redis_client, settings.streams)
    port = notifier.server.servers[0].sockets[0].getsockname()[1]
    loop = asyncio.get_running_loop()

    async def dropped() -> float:
        return sum(
            [
                await metric(client, "livecart_sse_dropped_total", kind="room", reason=reason)
                for reason in ("queue_full", "send_timeout")
            ]
        )

    dropped_before = await dropped()
    async with aconnect_sse(client, "GET", "/events/rooms/r1?skus=p0") as source:
        events = browser_events(source)
        assert (await take(events, 1))[0].event == "snapshot"
        await loop.sock_connect(slow_socket, ("127.0.0.1", port))
        await loop.sock_sendall(slow_socket, b"GET /events/rooms/r1 HTTP/1.1\r\nHost: t\r\n\r\n")
        await wait_until(lambda: notifier.app.state.rooms.viewers("r1") == 2, "both in the room")
        # Stock of 100 skus for the slow client (all skus), one sku for the reader; the
        # slow client's buffers fill, its write waits, and it is dropped.
        version = 0
        async with asyncio.timeout(DEADLINE):
            while await dropped() == dropped_before:
                version += 1
                await redis_client.xadd(settings.streams.catalog_changed, catalog_entry(version))
                await asyncio.sleep(0.02)
        assert await dropped() - dropped_before == 1
        await read_to_the_end(slow_socket)  # the connection was cut
        await wait_until(lambda: notifier.app.state.rooms.viewers("r1") == 1, "one left")
        # The reader was never dropped and still gets the room's events.
        checkout_id = new_id("co")
        await relay.publish(
            order_status(checkout_id, OrderStatus.CONFIRMED, buyer_id="ann", room_id="r1")
        )
        async with asyncio.timeout(DEADLINE):
            async for event in events:
                if event.event == "purchase":
                    assert json.loads(event.data)["total_minor"] == 2599
                    break
                assert event.event in ("stock", "viewers"), event
                if event.event == "stock":
                    assert [p["sku"] for p in json.loads(event.data)] == ["p0"]
