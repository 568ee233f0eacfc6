"""What keeps a room of thousands cheap: one encoding per event, O(1) joins, one upkeep
pass for heartbeats and stuck clients. The hub parts need no I/O; the last tests go
through a real uvicorn."""

import asyncio
import json

import httpx
import pytest

from contracts import CheckoutItem, OrderStatus, OrderStatusChanged, RoomSales
from services.notifier.config import NotifierSettings
from services.notifier.room_events import RoomEvent
from services.notifier.rooms import RoomHub
from tests.integration.notifier.support import DEADLINE, Notifiers, notifier_settings, wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def confirmed(room_id: str) -> OrderStatusChanged:
    return OrderStatusChanged(
        checkout_id="co-1", order_id="order-1", buyer_id="buyer-1", room_id=room_id,
        status=OrderStatus.CONFIRMED, sequence=4, total_minor=1000, currency="EUR",
        items=[CheckoutItem(sku="mug", quantity=2)],
    )  # fmt: skip


def test_every_connection_of_a_room_sends_the_same_encoded_purchase_and_sales() -> None:
    hub = RoomHub()
    with hub.watch("r1") as (first, _), hub.watch("r1") as (second, _):
        hub.purchase(confirmed("r1"))
        hub.update_sales(RoomSales(room_id="r1", checkouts=1, confirmed=1, expired=0))
        mine, theirs = first.take(1e9)[0], second.take(1e9)[0]
    assert [e.name for e in mine] == ["purchase", "sales", "viewers"]  # the second joined
    assert [e.name for e in theirs] == ["purchase", "sales"]
    assert mine[0] is theirs[0]
    assert mine[1] is theirs[1]


def test_an_sse_frame_carries_the_event_its_data_and_the_connections_own_id() -> None:
    event = RoomEvent.viewers(3)
    assert event.frame_with_id(7) == b'id: 7\r\nevent: viewers\r\ndata: {"count":3}\r\n\r\n'


async def test_joins_to_a_big_room_are_announced_together_not_one_by_one() -> None:
    # 10 viewer pushes a second for the room: with 5 viewers, one count every 0.5 s.
    hub = RoomHub(interval=0.01, viewer_pushes_per_second=10)
    with hub.watch("r1") as (first, _), hub.watch("r1"), hub.watch("r1") as (third, _):
        # The second join was announced at once (the first since the room opened);
        # the third waits for the room's next announcement.
        (joined,) = await asyncio.wait_for(first.next_events(), DEADLINE)
        assert json.loads(joined.data) == {"count": 2}
        with hub.watch("r1"), hub.watch("r1"):
            assert first.take(1e12)[0] == []
            (later,) = await asyncio.wait_for(first.next_events(), DEADLINE)
            assert json.loads(later.data) == {"count": 5}
            (news,) = await asyncio.wait_for(third.next_events(), DEADLINE)
            assert json.loads(news.data) == {"count": 5}


async def test_a_silent_connection_gets_a_heartbeat_and_a_stuck_one_is_aborted() -> None:
    clock = Clock()
    hub = RoomHub(clock=clock)
    with hub.watch("r1") as (quiet, _), hub.watch("r1") as (stuck, _):
        writing = asyncio.create_task(asyncio.Event().wait())  # a write that never ends
        stuck.bind(writing)  # type: ignore[arg-type]
        stuck.sending(clock.now)
        quiet.take(clock.now)  # the count of 2, announced when the second joined
        quiet.sent(clock.now)
        clock.now += 9
        hub.upkeep(clock.now, heartbeat=15, send_timeout=10)
        assert not stuck.closed
        clock.now += 6
        hub.upkeep(clock.now, heartbeat=15, send_timeout=10)
        assert await asyncio.wait_for(quiet.next_events(), DEADLINE) == []
        assert not quiet.closed  # [] while open: a heartbeat is due
        assert stuck.closed
        with pytest.raises(asyncio.CancelledError):
            await writing


@pytest.fixture
def settings(redis_url: str, stream_prefix: str) -> NotifierSettings:
    return notifier_settings(redis_url, stream_prefix, heartbeat_seconds=0.1)


async def test_a_room_stream_sends_heartbeats_and_its_end_is_noticed(
    notifiers: Notifiers, settings: NotifierSettings
) -> None:
    notifier = await notifiers.start(settings)
    rooms: RoomHub = notifier.app.state.rooms
    lines: list[str] = []
    async with notifier.client.stream("GET", "/events/rooms/r1") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "content-length" not in response.headers
        async with asyncio.timeout(DEADLINE):
            async for line in response.aiter_lines():
                lines.append(line)
                if line.startswith(": ping"):
                    break
        assert rooms.viewers("r1") == 1
    assert lines[:3] == [
        "id: 1",
        "event: snapshot",
        'data: {"stock":[],"sales":null,"viewers":1,"chat":[]}',
    ]
    await wait_until(lambda: rooms.viewers("r1") == 0, "the closed stream was noticed")


async def test_stopping_the_notifier_ends_open_room_streams(
    notifiers: Notifiers, settings: NotifierSettings
) -> None:
    notifier = await notifiers.start(settings)
    client = httpx.AsyncClient(base_url=notifier.client.base_url, timeout=DEADLINE)
    async with client, client.stream("GET", "/events/rooms/r1") as response:
        lines = response.aiter_lines()
        assert await anext(lines) == "id: 1"
        await notifiers.stop(notifier)
        async with asyncio.timeout(DEADLINE):
            async for _ in lines:
                pass
