"""The notifier's FastStream readers: `order.status`, `catalog.changed`, `room.sales`,
`room.changed`, and the rooms' `chat` and `room.reactions`.

Plain XREAD, no consumer group: every replica must see every entry, and nothing is
acknowledged because nothing durable is done with it. Each starts at the newest few
hundred entries (see adapters/reader_start.py), not at the start of the stream; the
`room.changed` reader at the newest entry. Every version still in the streams is read:
`order.status_changed` and `catalog.changed` v1 and v2, `room.sales_changed` v1 and v2.
"""

from faststream.redis import RedisBroker, StreamSub

from contracts import (
    CatalogChangedEvent,
    ChatEvent,
    ChatPostedEvent,
    EntryId,
    OrderStatus,
    OrderStatusChangedEvent,
    RoomChangedEvent,
    RoomReactedEvent,
    RoomSalesChangedEvent,
    utc_now,
)
from services.common.streams.broker import build_broker as build_service_broker
from services.common.streams.broker import skip_malformed_entries
from services.common.streams.faststream_internals import first_entry_id
from services.notifier.adapters.reader_start import ReaderStart
from services.notifier.config import NotifierSettings
from services.notifier.hub import StatusHub
from services.notifier.known_rooms import KnownRooms
from services.notifier.metrics import TAP_TO_FINAL
from services.notifier.rooms import RoomHub

MAX_RECORDS = 100

BROKER_DESCRIPTION = "livecart notifier: order statuses, stock and sales to live rooms over SSE"
_SKIPPED = "Malformed entries are logged and skipped; they never stop the reader."
ORDER_STATUS_DESCRIPTION = (
    "Every order status change (v1 and v2), read by each notifier replica on its own (XREAD, "
    "no group), deduplicated on `event_id`. It is a doorbell: a status of buyer B makes B's "
    "open connections read B's own stream (`order.status.buyer:<B>`) after the last entry "
    "they sent; after-sale statuses (cancelled, refunded, shipped) ring it like any other. "
    "Confirmed orders feed the room's purchase ticker, without the buyer. " + _SKIPPED
)
CATALOG_DESCRIPTION = (
    "Coalesced product snapshots (v1 and v2: with seller, image and flash deal), read by each "
    "notifier replica (XREAD, no group); the highest `version` per sku is kept and pushed, "
    "whole, to live rooms a few times a second. " + _SKIPPED
)
ROOM_SALES_DESCRIPTION = (
    "Coalesced per-room sales snapshots (correlation id = room id), read by each notifier "
    "replica (XREAD, no group); the latest per room is pushed to the room's streams. " + _SKIPPED
)

ROOM_CHANGED_DESCRIPTION = (
    "The storefront's rooms: each announced when created and at every storefront start, "
    "and again whenever its pins or live state change (correlation id = room id). Read by "
    "each notifier replica (XREAD, no group): from the beginning at start, to learn which "
    "rooms exist (a stream of a room never announced is a 404), then live; a change that "
    "is news is pushed to the room's streams as a `room` event, and the pages reload the "
    "room. " + _SKIPPED
)

CHAT_DESCRIPTION = (
    "The live rooms' chat (`chat.posted`, `chat.moderated`), read by each notifier replica "
    "(XREAD, no group) from its newest `recent_chat` entries at start: the last messages of "
    "each room are kept for newcomers' snapshots, and each message (`chat`) or deletion "
    "(`chat_deleted`) is pushed to the room's streams without the buyer. " + _SKIPPED
)
REACTIONS_DESCRIPTION = (
    "The live rooms' reactions (`room.reacted`), read by each notifier replica (XREAD, no "
    "group) from the newest entry at start; counted per room and pushed as one `reaction` "
    "event per room push interval. " + _SKIPPED
)

DESCRIPTIONS = {
    "order.status": ORDER_STATUS_DESCRIPTION,
    "catalog.changed": CATALOG_DESCRIPTION,
    "room.sales": ROOM_SALES_DESCRIPTION,
    "room.changed": ROOM_CHANGED_DESCRIPTION,
    "chat": CHAT_DESCRIPTION,
    "room.reactions": REACTIONS_DESCRIPTION,
}


def build_broker(
    settings: NotifierSettings,
    *,
    statuses: StatusHub,
    rooms: RoomHub,
    start: ReaderStart,
    known: KnownRooms | None = None,
) -> RedisBroker:
    """A broker with the four readers feeding `statuses`, `rooms` and the rooms `known` to
    exist; it connects on start."""
    known = known if known is not None else KnownRooms()
    broker = build_service_broker(settings, description=BROKER_DESCRIPTION)
    skip_malformed_entries(broker)
    streams = settings.streams
    newest_at_start = EntryId.parse(start.newest_status)

    async def on_order_status(event: OrderStatusChangedEvent) -> None:
        """Ring the buyer's connections; a confirmed order goes onto its room's ticker.
        What was already there at start is only remembered: it is not news."""
        # From the context, not a `message: RedisStreamMessage` parameter: FastDepends
        # resolves such a parameter in a worker thread, a thread hop per status.
        message = broker.context.get_local("message")
        news = EntryId.parse(first_entry_id(message)) > newest_at_start
        fresh = statuses.publish(event_id=event.event_id, status=event.data, ring=news)
        if fresh and news and event.data.is_final and event.data.requested_at is not None:
            seconds = (utc_now() - event.data.requested_at).total_seconds()
            TAP_TO_FINAL.labels(event.data.status.value).observe(max(seconds, 0.0))
        if fresh and news and event.data.status is OrderStatus.CONFIRMED:
            rooms.purchase(event.data)

    async def on_catalog_changed(event: CatalogChangedEvent) -> None:
        """Keep the newest version of each product and push it to the rooms showing it."""
        rooms.update_stock(event.data.products)

    async def on_room_sales(event: RoomSalesChangedEvent) -> None:
        """Keep the room's latest sales and push them to its connections."""
        known.heard_of(event.data.room_id)
        rooms.update_sales(event.data)

    async def on_room_changed(event: RoomChangedEvent) -> None:
        """Learn the room; tell its connections when its pins or live state changed (a
        re-announcement of the same is no news)."""
        if known.changed(event.data):
            rooms.room_changed(event.data)

    async def on_chat(event: ChatEvent) -> None:
        """Keep a room's new message, or forget a deleted one; either goes to the room."""
        envelope = event.root
        if isinstance(envelope, ChatPostedEvent):
            rooms.chat.posted(envelope.data, at=envelope.occurred_at)
        elif envelope.data.action == "deleted":
            rooms.chat.deleted(envelope.data.room_id, envelope.data.message_id)

    async def on_reaction(event: RoomReactedEvent) -> None:
        """Count the reaction; the room hears the counts at its next push."""
        rooms.chat.reacted(event.data.room_id, event.data.kind)

    readers = (
        ("order.status", streams.order_status, start.order_status, on_order_status),
        ("catalog.changed", streams.catalog_changed, start.catalog_changed, on_catalog_changed),
        ("room.sales", streams.room_sales, start.room_sales, on_room_sales),
        ("room.changed", streams.room_changed, start.room_changed, on_room_changed),
        ("chat", streams.chat, start.chat, on_chat),
        ("room.reactions", streams.reactions, start.reactions, on_reaction),
    )
    for name, stream, last_id, handler in readers:
        subscriber = broker.subscriber(
            stream=StreamSub(stream, last_id=last_id, max_records=MAX_RECORDS),
            title=f"notifier:{name}",
            description=DESCRIPTIONS[name],
        )
        subscriber(handler)
    return broker


def specification_broker() -> RedisBroker:
    """The broker as the AsyncAPI generator should see it; connects to nothing."""
    # Field defaults only, not the environment: the document describes the
    # contract, not whichever deployment happens to generate it.
    settings = NotifierSettings.model_construct()
    return build_broker(settings, statuses=StatusHub(), rooms=RoomHub(), start=ReaderStart())
