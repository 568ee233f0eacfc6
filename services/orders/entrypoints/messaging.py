"""The orders service's FastStream wiring: the checkout consumer and the status channel."""

from collections.abc import Awaitable, Callable

from faststream.redis import RedisBroker, StreamSub
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from contracts import GROUP_ORDERS, CheckoutRequestedEvent, OrderStatusChangedEvent
from services.common.broker import build_broker, unique_consumer_name
from services.orders.config import OrdersSettings

CheckoutHandler = Callable[[CheckoutRequestedEvent], Awaitable[None]]


def build_orders_broker(
    settings: OrdersSettings, on_checkout: CheckoutHandler, *, consumer: str | None = None
) -> RedisBroker:
    """A broker whose `orders` group consumer hands each checkout to `on_checkout`.

    `consumer` defaults to a name unique to this process.
    """
    broker = build_broker(settings, description="livecart marketplace (orders)")
    streams = settings.streams

    @broker.subscriber(
        stream=StreamSub(
            streams.checkout_requested,
            group=GROUP_ORDERS,
            consumer=consumer or unique_consumer_name("orders"),
            max_records=settings.consumer_max_records,
            polling_interval=settings.consumer_block_ms,
        ),
        title="orders:checkout.requested",
        description=(
            "The marketplace consumes every accepted checkout in the `orders` group "
            "(replicas share it), creates at most one order per checkout id, reserves "
            "stock, charges the buyer and stages each status in its outbox."
        ),
    )
    async def on_checkout_requested(event: CheckoutRequestedEvent) -> None:
        await on_checkout(event)

    # Declared for the AsyncAPI document: the outbox relay writes this channel with
    # pipelined XADDs of exactly this envelope (see adapters/outbox.py).
    broker.publisher(
        stream=streams.order_status,
        title="orders:order.status",
        description=(
            "Every transition of an order's state machine, published from the "
            "transactional outbox in commit order; may repeat an event (same event_id)."
        ),
        schema=OrderStatusChangedEvent,
    )
    return broker


async def ensure_group(client: Redis, settings: OrdersSettings) -> None:
    """Create the `orders` group at the start of the stream if it does not exist yet.

    FastStream would create it at `$`, skipping checkouts accepted before the first
    orders process started; those must be processed too.
    """
    try:
        await client.xgroup_create(
            settings.streams.checkout_requested, GROUP_ORDERS, id="0", mkstream=True
        )
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def specification_broker() -> RedisBroker:
    """The broker with every subscriber and publisher registered, for the AsyncAPI document."""

    async def unused(_: CheckoutRequestedEvent) -> None:
        raise NotImplementedError

    return build_orders_broker(
        OrdersSettings.model_construct(), unused, consumer="orders-<host>-<pid>-<random>"
    )
