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
        """Product and stock-level snapshots published by the marketplace (coalesced)."""
        return self._key("catalog.changed")

    @property
    def room_sales(self) -> str:
        """Per-room sales snapshots published by the marketplace (coalesced)."""
        return self._key("room.sales")

    def buyer_status(self, buyer_id: str) -> str:
        """One buyer's recent statuses (capped copy of `order.status`), for resuming."""
        return self._key(f"order.status.buyer:{buyer_id}")

    @staticmethod
    def dead_letters(stream: str) -> str:
        """The dead-letter stream beside `stream`."""
        return f"{stream}{DLQ_SUFFIX}"
