"""Stream and consumer-group names. No service spells a stream key itself."""

from dataclasses import dataclass

DEFAULT_PREFIX = "livecart"

GROUP_ORDERS = "orders"
"""The marketplace's consumer group on `checkout.requested`; replicas share it."""

DLQ_SUFFIX = ".dlq"


@dataclass(frozen=True, slots=True)
class Streams:
    """Every stream key, under one configurable prefix (default `livecart`)."""

    prefix: str = DEFAULT_PREFIX

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    @property
    def checkout_requested(self) -> str:
        """Checkouts accepted by the storefront, consumed by the orders group."""
        return self._key("checkout.requested")

    @property
    def order_status(self) -> str:
        """Every order state transition, written by the orders outbox relay."""
        return self._key("order.status")

    @property
    def catalog_changed(self) -> str:
        """Product and stock-level changes published by the marketplace."""
        return self._key("catalog.changed")

    @staticmethod
    def dead_letters(stream: str) -> str:
        """The dead-letter stream beside `stream`."""
        return f"{stream}{DLQ_SUFFIX}"
