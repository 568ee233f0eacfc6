"""The seller's half as the notifier serves it, on real Redis: `room.changed` reaches the
room's open streams as `event: room`; statuses after the sale (v2) reach the buyer's
stream after `confirmed` while the checkout's own stream still ends there; and an
`order.status_changed` v1 entry is still read."""

import json
from typing import Any

import httpx
from httpx_sse import aconnect_sse

from contracts import (
    OrderStatus,
    OrderStatusChanged,
    OrderStatusChangedEvent,
    RoomChanged,
    RoomChangedEvent,
    Streams,
    encode_entry,
)
from services.notifier.config import NotifierSettings
from services.notifier.hub import StatusHub
from tests.integration.notifier.support import (
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

ME = "/events/buyers/me"


async def change_room(redis: Redis, streams: Streams, change: RoomChanged) -> None:
    """XADD a `room.changed` entry as the storefront does."""
    event = RoomChangedEvent.new(correlation_id=change.room_id, producer="storefront", data=change)
    fields: dict[Any, Any] = encode_entry(event)
    await redis.xadd(streams.room_changed, fields)


def after_sale(checkout_id: str, state: OrderStatus, *, buyer_id: str) -> OrderStatusChanged:
    """A v2 status after `confirmed`: cancelled (5), refunded (6) or shipped (5)."""
    previous = OrderStatus.CANCELLED if state is OrderStatus.REFUNDED else OrderStatus.CONFIRMED
    return order_status(checkout_id, OrderStatus.CONFIRMED, buyer_id=buyer_id).model_copy(
        update={
            "status": state,
            "previous_status": previous,
            "sequence": 6 if state is OrderStatus.REFUNDED else 5,
            "seller_id": "demo-seller",
            "detail": "cancelled by the seller" if state is OrderStatus.CANCELLED else None,
        }
    )


async def publish_v1(redis: Redis, streams: Streams, status: OrderStatusChanged) -> str:
    """A status as a relay older than v2 wrote it: `version` 1, no v2 fields at all."""
    event = OrderStatusChangedEvent.new(
        correlation_id=status.checkout_id, producer="orders", data=status
    )
    envelope = event.model_dump(mode="json") | {"version": 1}
    for field in ("seller_id", "tracking_ref"):
        del envelope["data"][field]
    fields: dict[Any, Any] = {"__data__": json.dumps(envelope)}
    history = streams.buyer_status(status.buyer_id)
    await redis.xadd(streams.order_status, fields)
    entry_id = await redis.xadd(history, fields, maxlen=200, approximate=True)
    return str(entry_id.decode())


async def test_a_room_change_reaches_the_rooms_open_stream_as_a_room_event(
    client: httpx.AsyncClient, redis_client: Redis, settings: NotifierSettings
) -> None:
    streams = settings.streams
    async with aconnect_sse(client, "GET", "/events/rooms/r1", params={"skus": "mug"}) as source:
        events = browser_events(source)
        (snapshot,) = await take(events, 1)
        await change_room(redis_client, streams, RoomChanged(room_id="r2", state="live"))
        await change_room(
            redis_client, streams, RoomChanged(room_id="r1", state="live", skus=["mug", "cap"])
        )
        (event,) = await take(events, 1)
    assert snapshot.event == "snapshot"
    assert "room" not in json.loads(snapshot.data), "the snapshot stays as it was"
    assert (event.event, event.id) == ("room", "2")
    assert json.loads(event.data) == {"room_id": "r1", "state": "live", "skus": ["mug", "cap"]}


async def test_a_starting_notifier_pushes_no_room_change_from_before_it_started(
    notifiers: Notifiers, settings: NotifierSettings, redis_client: Redis
) -> None:
    streams = settings.streams
    await change_room(redis_client, streams, RoomChanged(room_id="r1", state="scheduled"))
    client = (await notifiers.start(settings)).client
    async with aconnect_sse(client, "GET", "/events/rooms/r1") as source:
        events = browser_events(source)
        await take(events, 1)
        await change_room(redis_client, streams, RoomChanged(room_id="r1", state="ended"))
        (event,) = await take(events, 1)
    assert json.loads(event.data)["state"] == "ended", "the older change was no news"


async def test_a_cancellation_and_refund_reach_the_buyer_stream_after_confirmed(
    client: httpx.AsyncClient, relay: Relay
) -> None:
    checkout = new_id("co")
    flow = await relay.happy_path(checkout, "ann")
    async with aconnect_sse(client, "GET", ME, headers=bearer("ann")) as source:
        events = browser_events(source)
        assert [e.id for e in await take(events, 4)] == flow
        later = [
            await relay.publish(after_sale(checkout, state, buyer_id="ann"))
            for state in (OrderStatus.CANCELLED, OrderStatus.REFUNDED)
        ]
        received = await take(events, 2)
    assert [e.id for e in received] == later
    cancelled, refunded = (json.loads(e.data) for e in received)
    assert (cancelled["status"], cancelled["previous_status"]) == ("cancelled", "confirmed")
    assert (refunded["status"], refunded["previous_status"]) == ("refunded", "cancelled")
    assert refunded["seller_id"] == "demo-seller"


async def test_the_checkout_stream_still_ends_at_confirmed_when_the_order_was_cancelled_since(
    client: httpx.AsyncClient, relay: Relay
) -> None:
    checkout = new_id("co")
    flow = await relay.happy_path(checkout, "ann")
    cancelled = await relay.publish(after_sale(checkout, OrderStatus.CANCELLED, buyer_id="ann"))
    route = f"/events/checkouts/{checkout}"
    async with aconnect_sse(client, "GET", route, headers=bearer("ann")) as source:
        ids = [e.id async for e in browser_events(source)]
    resumed = await client.get(route, headers={**bearer("ann"), "Last-Event-ID": cancelled})

    assert ids == flow, "the stream ended after confirmed"
    assert resumed.status_code == 204, "past the cancellation: finished, do not reconnect"


async def test_a_v1_status_entry_is_still_read_by_both_readers(
    notifiers: Notifiers, settings: NotifierSettings, redis_client: Redis
) -> None:
    notifier = await notifiers.start(settings)
    statuses: StatusHub = notifier.app.state.statuses
    checkout = new_id("co")
    async with aconnect_sse(notifier.client, "GET", ME, headers=bearer("bob")) as source:
        events = browser_events(source)
        entry_id = await publish_v1(
            redis_client,
            settings.streams,
            order_status(checkout, OrderStatus.RECEIVED, buyer_id="bob"),
        )
        (event,) = await take(events, 1)
    await wait_until(lambda: statuses.owner_of(checkout) == "bob", "order.status read the v1")
    assert (event.event, event.id) == ("status", entry_id)
    data = json.loads(event.data)
    assert (data["checkout_id"], data["status"], data["seller_id"]) == (checkout, "received", None)
