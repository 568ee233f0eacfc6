"""The storefront's broker: publishers to `checkout.requested`, `room.changed`,
`flash_deal.requested`, `order.cancellation_requested`, the rooms' `chat` and
`room.reactions`, and fan-out readers of
`catalog.changed`, `room.sales` and `room.changed` (plain XREAD, no consumer group:
every replica keeps its own copy)."""

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from faststream.redis import RedisBroker, StreamSub

from contracts import (
    CancellationRequestedEvent,
    CatalogChangedEvent,
    ChatEvent,
    CheckoutRequestedEvent,
    Envelope,
    FlashDealRequestedEvent,
    ProductSnapshot,
    RoomChangedEvent,
    RoomReactedEvent,
    RoomSalesChangedEvent,
)
from services.common.streams.broker import build_broker as build_common_broker
from services.common.streams.broker import skip_malformed_entries
from services.storefront.adapters.catalog_start import ReaderStarts
from services.storefront.config import StorefrontSettings

CatalogHandler = Callable[[Sequence[ProductSnapshot]], Awaitable[None]]
SalesHandler = Callable[[RoomSalesChangedEvent], Awaitable[None]]
RoomHandler = Callable[[RoomChangedEvent], Awaitable[None]]

MAX_RECORDS = 100
BROKER_DESCRIPTION = (
    "livecart storefront: the live-stream side. It only offers and promotes; every "
    "checkout a buyer taps is handed to the marketplace as a `checkout.requested` event."
)
CHECKOUT_REQUESTED_DESCRIPTION = (
    "A buyer tapped buy in a live room and the storefront accepted it (HTTP 202). "
    "Written once per accepted checkout; `data.checkout_id` is the marketplace's "
    "idempotency key and the envelope's correlation id. Consumed by the `orders` group."
)
CATALOG_DESCRIPTION = (
    "Coalesced product snapshots from the marketplace, read by each storefront replica on "
    "its own (XREAD, no group), starting at the newest few hundred entries. The highest "
    "`version` per sku is kept in memory to show live stock (never stored); a changed "
    "title or price is copied onto the pinned products. Malformed entries are logged and "
    "skipped; they never stop the reader."
)
ROOM_CHANGED_DESCRIPTION = (
    "The seller changed what a live room shows: a product pinned or unpinned, the room "
    "gone live or ended. Written after the change is in the storefront's database, before "
    "the seller gets their answer; `data` holds the state and the pinned skus, the "
    "correlation id is the room id. The notifier pushes it to the room's viewers, whose "
    "page reloads the room from `GET /api/rooms/{room_id}`. Also written, as the room is, "
    "when a room is created and for every room not ended (or ended within a day) at each "
    "storefront start: the notifier streams announced rooms only."
)
FLASH_DEAL_DESCRIPTION = (
    "A seller started a flash deal on a product pinned in their room, or ended one (the "
    "same `deal_id` again, `ends_at` now). The marketplace (group `orders`) keeps it when "
    "the product is the seller's and the price at most the list price, and prices the "
    "room's checkouts by it; the correlation id is the deal id."
)
CANCELLATION_DESCRIPTION = (
    "A buyer asked, from the live room, to cancel their order (their checkout id, the buyer "
    "from their token). The marketplace (group `orders`) grants it within its cancel "
    "window; the correlation id is the checkout id."
)
CHAT_DESCRIPTION = (
    "A live room's chat: a buyer's message (`chat.posted`, the buyer from their token, the "
    "text checked) or the room's seller's moderation (`chat.moderated`: a message deleted, "
    "its author muted). Capped (MAXLEN ~10,000); read by the notifier only, which pushes it "
    "to the room's stream without the buyer. The marketplace never reads it; the "
    "correlation id is the room id."
)
REACTIONS_DESCRIPTION = (
    "A viewer's reaction in a live room (a heart, fire, clap or laugh; nobody's id). Capped "
    "(MAXLEN ~1,000); the notifier counts them per room; the correlation id is the room id."
)
ROOM_SALES_DESCRIPTION = (
    "The marketplace's figures per live room (v1 and v2), read by each storefront replica "
    "on its own (XREAD, no group) from the newest few hundred entries; the latest per room "
    "is kept in the storefront's database for the seller's post-live report. Malformed "
    "entries are logged and skipped."
)
ROOM_CHANGED_READER_DESCRIPTION = (
    "The storefront's own `room.changed`, read by each replica (XREAD, no group, news only) "
    "to drop its in-memory copy of the room, so the room API and checkouts see a pin or a "
    "go-live at once on every replica."
)


def build_broker(
    settings: StorefrontSettings,
    *,
    on_catalog_changed: CatalogHandler,
    on_room_sales: SalesHandler,
    on_room_changed: RoomHandler,
    starts: ReaderStarts | None = None,
) -> RedisBroker:
    """The storefront's broker with its readers registered; nothing connects yet.

    The readers XREAD after `starts` and hand each event on: a `catalog.changed` event's
    products to `on_catalog_changed`, a room's figures to `on_room_sales`, a room change
    to `on_room_changed`. The publishers are declared for the AsyncAPI document;
    adapters/publisher.py writes their streams.
    """
    starts = starts or ReaderStarts()
    streams = settings.streams
    broker = build_common_broker(settings, description=BROKER_DESCRIPTION)
    skip_malformed_entries(broker)
    published: list[tuple[str, str, type[Envelope[Any]]]] = [
        (stream, CHECKOUT_REQUESTED_DESCRIPTION, CheckoutRequestedEvent)
        for stream in streams.checkout_streams
    ]
    published += [
        (streams.room_changed, ROOM_CHANGED_DESCRIPTION, RoomChangedEvent),
        (streams.flash_deals, FLASH_DEAL_DESCRIPTION, FlashDealRequestedEvent),
        (streams.cancellations, CANCELLATION_DESCRIPTION, CancellationRequestedEvent),
        (streams.chat, CHAT_DESCRIPTION, ChatEvent),  # type: ignore[list-item]
        (streams.reactions, REACTIONS_DESCRIPTION, RoomReactedEvent),
    ]
    for stream, description, schema in published:
        broker.publisher(
            stream=stream,
            title=f"storefront:{streams.short_name(stream)}",
            description=description,
            schema=schema,
        )

    async def on_catalog(event: CatalogChangedEvent) -> None:
        await on_catalog_changed(event.data.products)

    async def on_sales(event: RoomSalesChangedEvent) -> None:
        await on_room_sales(event)

    async def on_room(event: RoomChangedEvent) -> None:
        await on_room_changed(event)

    # The room.changed reader needs a title of its own: the publisher has the plain one.
    readers: list[tuple[str, str, str, str, Callable[..., Awaitable[None]]]] = [
        (streams.catalog_changed, starts.catalog_changed, "", CATALOG_DESCRIPTION, on_catalog),
        (streams.room_sales, starts.room_sales, "", ROOM_SALES_DESCRIPTION, on_sales),
        (streams.room_changed, starts.room_changed, ":cache", ROOM_CHANGED_READER_DESCRIPTION,
         on_room),
    ]  # fmt: skip
    for stream, last_id, suffix, description, handler in readers:
        subscriber = broker.subscriber(
            stream=StreamSub(stream, last_id=last_id, max_records=MAX_RECORDS),
            title=f"storefront:{streams.short_name(stream)}{suffix}",
            description=description,
        )
        subscriber(handler)
    return broker


def specification_broker() -> RedisBroker:
    """A broker built from the default settings (no environment read, so the generated
    AsyncAPI document never carries a local URL or password) with everything registered."""

    async def ignore(_event: object) -> None:
        return None

    return build_broker(
        StorefrontSettings.model_construct(),
        on_catalog_changed=ignore,
        on_room_sales=ignore,
        on_room_changed=ignore,
    )
