"""The orders service's FastStream wiring: the checkout consumer groups, the groups on the
storefront's live requests (flash deals, buyers' cancellations) and the status channel."""

from collections.abc import Awaitable, Callable, Sequence

from faststream.redis import RedisBroker

from contracts import (
    GROUP_ORDERS,
    CancellationRequestedEvent,
    CatalogChangedEvent,
    CheckoutRequestedEvent,
    FlashDealRequestedEvent,
    OrderStatusChangedEvent,
    RoomSalesChangedEvent,
)
from services.common.streams.broker import build_broker, unique_consumer_name
from services.common.streams.consumer import GroupConsumer
from services.common.streams.delivery import DeliveryPolicy
from services.orders.config import OrdersSettings

CheckoutHandler = Callable[[CheckoutRequestedEvent], Awaitable[None]]
CheckoutBatchHandler = Callable[[Sequence[CheckoutRequestedEvent]], Awaitable[None]]
FlashDealHandler = Callable[[FlashDealRequestedEvent], Awaitable[None]]
CancellationHandler = Callable[[CancellationRequestedEvent], Awaitable[None]]

LIVE_REQUESTS_MAX_RECORDS = 10
"""A seller's deals and buyers' cancels are few: small reads, handled one at a time."""


def checkout_consumers(settings: OrdersSettings, *, consumer: str = "") -> list[GroupConsumer]:
    """The `orders` group on each `checkout.requested` partition, in partition order;
    `consumer` defaults to a unique name (the same on every partition)."""
    consumer = consumer or unique_consumer_name("orders")
    return [
        checkout_consumer(settings, stream, consumer=consumer)
        for stream in settings.streams.checkout_streams
    ]


def checkout_consumer(settings: OrdersSettings, stream: str, *, consumer: str) -> GroupConsumer:
    """The `orders` group on one checkout partition."""
    return _group(settings, stream, consumer, max_records=settings.consumer_max_records)


def live_request_consumers(
    settings: OrdersSettings, *, consumer: str = ""
) -> tuple[GroupConsumer, GroupConsumer]:
    """The `orders` group on `flash_deal.requested` and on `order.cancellation_requested`."""
    consumer = consumer or unique_consumer_name("orders")
    streams = settings.streams
    return (
        _group(settings, streams.flash_deals, consumer, max_records=LIVE_REQUESTS_MAX_RECORDS),
        _group(settings, streams.cancellations, consumer, max_records=LIVE_REQUESTS_MAX_RECORDS),
    )


def _group(
    settings: OrdersSettings, stream: str, consumer: str, *, max_records: int
) -> GroupConsumer:
    return GroupConsumer(
        stream=stream,
        group=GROUP_ORDERS,
        service="orders",
        policy=DeliveryPolicy(
            max_deliveries=settings.max_deliveries, max_entry_bytes=settings.max_entry_bytes
        ),
        claim_idle_ms=settings.claim_idle_ms,
        max_records=max_records,
        block_ms=settings.consumer_block_ms,
        consumer_gone_ms=settings.consumer_gone_ms,
        upkeep_seconds=settings.upkeep_seconds,
        consumer=consumer,
    )


def build_orders_broker(
    settings: OrdersSettings,
    groups: Sequence[GroupConsumer],
    on_checkout: CheckoutHandler,
    on_checkouts: CheckoutBatchHandler | None = None,
) -> RedisBroker:
    """A broker whose `orders` groups (one per checkout partition) hand checkouts to
    `on_checkouts` in batches (each to `on_checkout` when claimed, or when its batch
    failed), or one by one without it."""
    broker = build_broker(settings, description="livecart marketplace (orders)")

    async def on_checkout_requested(event: CheckoutRequestedEvent) -> None:
        await on_checkout(event)

    for group in groups:
        _register_checkouts(settings, group, broker, on_checkout_requested, on_checkouts)
    _declare_publishers(settings, broker)
    return broker


def _register_checkouts(
    settings: OrdersSettings,
    group: GroupConsumer,
    broker: RedisBroker,
    on_checkout: CheckoutHandler,
    on_checkouts: CheckoutBatchHandler | None,
) -> None:
    group.register(
        broker,
        on_checkout,
        batch_handler=on_checkouts,
        event_type=CheckoutRequestedEvent,
        title=f"orders:{settings.streams.short_name(group.stream)}",
        description=(
            "The marketplace consumes every accepted checkout in the `orders` group, in "
            "batches (replicas share it; entries idle on a dead replica are claimed by a "
            "live one), "
            "creates at most one order per checkout id, reserves stock, charges the buyer "
            "and stages each status in its outbox. Entries that cannot be read, or fail "
            f"{settings.max_deliveries} deliveries, go to `<stream>.dlq` with the reason."
        ),
    )


def register_live_requests(
    settings: OrdersSettings,
    broker: RedisBroker,
    groups: tuple[GroupConsumer, GroupConsumer],
    on_flash_deal: FlashDealHandler,
    on_cancellation: CancellationHandler,
) -> None:
    """Subscribe the handlers of sellers' flash deals and buyers' cancels to their groups
    (`groups` as `live_request_consumers` makes them)."""
    deals, cancellations = groups

    async def on_flash_deal_requested(event: FlashDealRequestedEvent) -> None:
        await on_flash_deal(event)

    async def on_cancellation_requested(event: CancellationRequestedEvent) -> None:
        await on_cancellation(event)

    deals.register(
        broker,
        on_flash_deal_requested,
        title=f"orders:{settings.streams.short_name(deals.stream)}",
        description=(
            "Flash deals sellers start, change or end in their live rooms. The marketplace "
            "keeps a deal (replacing an earlier one with its `deal_id`) only when the "
            "product is that seller's and the deal price is at most the list price; "
            "otherwise the entry goes to `<stream>.dlq` at once with the reason "
            "(`unknown_sku`, `not_sellers_product`, `price_above_list`)."
        ),
    )
    cancellations.register(
        broker,
        on_cancellation_requested,
        title=f"orders:{settings.streams.short_name(cancellations.stream)}",
        description=(
            "Buyers asking, from the live room, to cancel their order. Granted only for "
            "the buyer's own confirmed order within `buyer_cancel_window_seconds` of its "
            "confirmation (then cancelled, stock back, refunded); a refused request is "
            "logged and acknowledged, and changes nothing."
        ),
    )


def _declare_publishers(settings: OrdersSettings, broker: RedisBroker) -> None:
    # Declared for the AsyncAPI document: the outbox relay writes this channel with
    # pipelined XADDs of exactly this envelope (see adapters/outbox.py).
    broker.publisher(
        stream=settings.streams.order_status,
        title="orders:order.status",
        description=(
            "Every transition of an order's state machine, published from the "
            "transactional outbox in commit order; may repeat an event (same event_id)."
        ),
        schema=OrderStatusChangedEvent,
    )
    broker.publisher(
        stream=settings.streams.catalog_changed,
        title="orders:catalog.changed",
        description=(
            "Coalesced snapshots of products whose stock changed (at most one per "
            "`snapshot_interval_seconds`); readers keep the highest `version` per sku."
        ),
        schema=CatalogChangedEvent,
    )
    broker.publisher(
        stream=settings.streams.room_sales,
        title="orders:room.sales",
        description="Coalesced sales counts per live room, for the seller dashboard.",
        schema=RoomSalesChangedEvent,
    )


def specification_broker() -> RedisBroker:
    """The broker with every subscriber and publisher registered, for the AsyncAPI document."""
    settings = OrdersSettings.model_construct()

    async def unused(_: CheckoutRequestedEvent) -> None:
        raise NotImplementedError

    async def unused_batch(_: Sequence[CheckoutRequestedEvent]) -> None:
        raise NotImplementedError

    async def unused_deal(_: FlashDealRequestedEvent) -> None:
        raise NotImplementedError

    async def unused_cancellation(_: CancellationRequestedEvent) -> None:
        raise NotImplementedError

    consumer = "orders-<host>-<pid>-<random>"
    groups = checkout_consumers(settings, consumer=consumer)
    broker = build_orders_broker(settings, groups, unused, unused_batch)
    live = live_request_consumers(settings, consumer=consumer)
    register_live_requests(settings, broker, live, unused_deal, unused_cancellation)
    return broker
