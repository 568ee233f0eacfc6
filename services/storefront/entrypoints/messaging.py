"""The storefront's broker: a publisher to `checkout.requested` and a fan-out reader of
`catalog.changed` (plain XREAD, no consumer group: every replica keeps its own copy)."""

from collections.abc import Awaitable, Callable, Sequence

from faststream.redis import RedisBroker, StreamSub

from contracts import CatalogChangedEvent, CheckoutRequestedEvent, ProductSnapshot
from services.common.broker import build_broker as build_common_broker
from services.common.broker import skip_malformed_entries
from services.storefront.adapters.catalog_start import BEGINNING
from services.storefront.config import StorefrontSettings

CatalogHandler = Callable[[Sequence[ProductSnapshot]], Awaitable[None]]

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


def build_broker(
    settings: StorefrontSettings,
    *,
    on_catalog_changed: CatalogHandler,
    catalog_start: str = BEGINNING,
) -> RedisBroker:
    """The storefront's broker with its reader registered; nothing connects yet.

    The reader XREADs `catalog.changed` after `catalog_start` and hands each event's
    products to `on_catalog_changed`. The checkout partitions are declared for the
    AsyncAPI document; adapters/publisher.py writes them.
    """
    broker = build_common_broker(settings, description=BROKER_DESCRIPTION)
    skip_malformed_entries(broker)
    for stream in settings.streams.checkout_streams:
        broker.publisher(
            stream=stream,
            title=f"storefront:{settings.streams.short_name(stream)}",
            description=CHECKOUT_REQUESTED_DESCRIPTION,
            schema=CheckoutRequestedEvent,
        )

    @broker.subscriber(
        stream=StreamSub(
            settings.streams.catalog_changed, last_id=catalog_start, max_records=MAX_RECORDS
        ),
        title="storefront:catalog.changed",
        description=CATALOG_DESCRIPTION,
    )
    async def on_catalog(event: CatalogChangedEvent) -> None:
        await on_catalog_changed(event.data.products)

    return broker


def specification_broker() -> RedisBroker:
    """A broker built from the default settings (no environment read, so the generated
    AsyncAPI document never carries a local URL or password) with everything registered."""

    async def ignore(_products: Sequence[ProductSnapshot]) -> None:
        return None

    return build_broker(StorefrontSettings.model_construct(), on_catalog_changed=ignore)
