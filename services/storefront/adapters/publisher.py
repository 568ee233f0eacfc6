"""Publishes accepted checkouts to the `checkout.requested` stream through FastStream."""

import logging

from faststream.redis.publisher.usecase import StreamPublisher
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from contracts import CheckoutRequestedEvent
from services.storefront.service import CheckoutUnavailable

logger = logging.getLogger(__name__)


class StreamCheckoutPublisher:
    """XADDs the event and returns only once Redis answered with an entry id."""

    def __init__(self, publisher: StreamPublisher) -> None:
        self._publisher = publisher

    async def publish(self, event: CheckoutRequestedEvent) -> None:
        try:
            entry_id = await self._publisher.publish(event, correlation_id=event.correlation_id)
        except (RedisConnectionError, RedisTimeoutError) as exc:
            # The broker already retried with backoff: Redis is down or unreachable.
            logger.warning("checkout %s not accepted: %s", event.correlation_id, exc)
            raise CheckoutUnavailable(str(exc)) from exc
        except RedisError as exc:
            # E.g. OOM or a missing ACL grant: still not the buyer's fault, and still no 500.
            logger.error("checkout %s refused by Redis: %s", event.correlation_id, exc)
            raise CheckoutUnavailable(str(exc)) from exc
        logger.debug("checkout %s stored as entry %r", event.correlation_id, entry_id)
