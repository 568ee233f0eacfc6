"""The storefront's broker: one publisher, to `checkout.requested`."""

from dataclasses import dataclass

from faststream.redis import RedisBroker
from faststream.redis.publisher.usecase import StreamPublisher

from contracts import CheckoutRequestedEvent
from services.common.broker import build_broker as build_common_broker
from services.storefront.config import StorefrontSettings

BROKER_DESCRIPTION = (
    "livecart storefront: the live-stream side. It only offers and promotes; every "
    "checkout a buyer taps is handed to the marketplace as a `checkout.requested` event."
)
CHECKOUT_REQUESTED_DESCRIPTION = (
    "A buyer tapped buy in a live room and the storefront accepted it (HTTP 202). "
    "Written once per accepted checkout; `data.checkout_id` is the marketplace's "
    "idempotency key and the envelope's correlation id. Consumed by the `orders` group."
)


@dataclass(frozen=True, slots=True)
class StorefrontBroker:
    """The broker and the publisher declared on it."""

    broker: RedisBroker
    checkout_requested: StreamPublisher


def build_broker(settings: StorefrontSettings) -> StorefrontBroker:
    """The storefront's broker with its publisher registered; nothing connects yet."""
    broker = build_common_broker(settings, description=BROKER_DESCRIPTION)
    publisher = broker.publisher(
        stream=settings.streams.checkout_requested,
        title="storefront:checkout.requested",
        description=CHECKOUT_REQUESTED_DESCRIPTION,
        schema=CheckoutRequestedEvent,
    )
    return StorefrontBroker(broker=broker, checkout_requested=publisher)


def specification_broker() -> RedisBroker:
    """A broker built from the default settings (no environment read, so the generated
    AsyncAPI document never carries a local URL or password) with everything registered."""
    return build_broker(StorefrontSettings.model_construct()).broker
