"""The notifier's bounds per connection and per process, without I/O: the cap on open
streams, and the drop of a client that falls behind (counted, its connection cut)."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from prometheus_client import REGISTRY
from sse_starlette import ServerSentEvent
from sse_starlette.sse import AppStatus
from starlette.types import Message

from contracts import CheckoutItem, OrderStatus, OrderStatusChanged
from services.notifier.capacity import ConnectionSlots
from services.notifier.config import NotifierSettings
from services.notifier.entrypoints.app import create_app
from services.notifier.entrypoints.connections import HANG_UP, DroppingEventSourceResponse
from services.notifier.room_events import Purchase
from services.notifier.rooms import RoomHub


@pytest.fixture(autouse=True)
def no_server_shutdown_in_sight(monkeypatch: pytest.MonkeyPatch) -> None:
    """sse-starlette ends a stream when the uvicorn server it finds through the process's
    SIGTERM handler is exiting; an in-process server an earlier test stopped must not end
    these streams, which no server serves."""
    monkeypatch.setattr(AppStatus, "enable_automatic_graceful_drain", False)


def dropped(kind: str, reason: str) -> float:
    labels = {"kind": kind, "reason": reason}
    return REGISTRY.get_sample_value("livecart_sse_dropped_total", labels) or 0.0


def purchase() -> Purchase:
    return Purchase.from_status(
        OrderStatusChanged(
            checkout_id="co-1", order_id="order-1", buyer_id="b", room_id="r1",
            status=OrderStatus.CONFIRMED, sequence=4, total_minor=1000, currency="EUR",
            items=[CheckoutItem(sku="mug", quantity=1)],
        )
    )  # fmt: skip


class HangUps:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> None:
        self.calls += 1


def test_slots_are_refused_at_the_limit_and_given_again_once_one_is_released() -> None:
    slots = ConnectionSlots(2)
    assert [slots.take(), slots.take(), slots.take()] == [True, True, False]
    assert slots.open == 2
    slots.release()
    assert slots.take()
    assert not slots.take()


def test_releasing_a_slot_never_taken_is_a_bug() -> None:
    with pytest.raises(RuntimeError):
        ConnectionSlots(1).release()
    with pytest.raises(ValueError, match="at least one"):
        ConnectionSlots(0)


def test_a_room_connection_past_its_bound_of_purchases_is_dropped_and_its_connection_cut() -> None:
    hub = RoomHub(max_pending=3)
    with hub.watch("r1") as (watch, _):
        hang_up = HangUps()
        watch.bind(None, hang_up=hang_up)
        for _ in range(3):
            watch.offer_purchase(purchase())
        assert not watch.closed
        assert watch.drop_reason is None
        watch.offer_purchase(purchase())  # the fourth: the client is this far behind
        watch.offer_purchase(purchase())
        assert watch.closed
        assert watch.drop_reason == "queue_full"
        assert hang_up.calls == 1
        assert watch.take(1e9)[0] == []  # what was pending is gone, not kept for it


def test_a_write_stuck_past_the_send_timeout_cuts_the_connection_instead_of_waiting() -> None:
    hub = RoomHub()
    with hub.watch("r1") as (stuck, _), hub.watch("r1") as (reading, _):
        hang_up = HangUps()
        stuck.bind(None, hang_up=hang_up)
        stuck.sending(100.0)
        reading.sent(100.0)
        hub.upkeep(109.0, heartbeat=15, send_timeout=10)
        assert not stuck.closed
        hub.upkeep(110.0, heartbeat=15, send_timeout=10)
        assert stuck.drop_reason == "send_timeout"
        assert hang_up.calls == 1
        assert not reading.closed
        assert reading.drop_reason is None


async def test_a_buyer_stream_whose_write_times_out_is_counted_and_cut() -> None:
    async def events() -> AsyncIterator[ServerSentEvent]:
        yield ServerSentEvent(data="{}", event="status", id="1-0")

    async def receive() -> Message:
        await asyncio.Event().wait()  # the client never says anything
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        if message["type"] == "http.response.body":
            await asyncio.Event().wait()  # the client stopped reading: the write waits

    hang_up = HangUps()
    before = dropped("buyer", "send_timeout")
    response = DroppingEventSourceResponse(events(), ping=600, send_timeout=0.01, kind="buyer")
    scope = {"type": "http", "method": "GET", HANG_UP: hang_up}
    await asyncio.wait_for(response(scope, receive, send), 10)
    assert dropped("buyer", "send_timeout") - before == 1
    assert hang_up.calls == 1


def test_every_stream_route_documents_the_503_of_a_full_process() -> None:
    paths = create_app(NotifierSettings()).openapi()["paths"]
    streams = [path for path in paths if path.startswith("/events/")]
    assert streams
    for path in streams:
        assert "503" in paths[path]["get"]["responses"], path
