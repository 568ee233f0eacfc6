"""Stream and consumer-group names. No service spells a stream key itself.

Every key carries a Redis Cluster hash tag: the stream's own name in braces, after
the prefix (`livecart:{order.status}`). A stream and its dead-letter stream
(`livecart:{order.status}.dlq`) therefore share one slot, which the atomic
ack-and-dead-letter script and the replay transaction need, while different
streams, and the checkout partitions, spread over the cluster's slots.

Checkouts are split over `checkout_partitions` streams. A checkout goes to the
partition of its products (`checkout_partition`): every checkout of a product lands
in the same stream, so they reach the marketplace in the order they were accepted.
A cart with several products follows its first product by name.
"""

import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field

DEFAULT_PREFIX = "livecart"

GROUP_ORDERS = "orders"
"""The marketplace's consumer group on every `checkout.requested` partition; replicas share it."""

DLQ_SUFFIX = ".dlq"

MAX_CHECKOUT_PARTITIONS = 256


def checkout_partition(skus: Iterable[str], partitions: int) -> int:
    """The partition (0-based) of a checkout of `skus`: CRC-32 (IEEE, as zlib, Go's
    hash/crc32 and Java's CRC32 compute it) of the smallest sku's UTF-8 bytes, modulo
    the number of partitions."""
    return zlib.crc32(min(skus).encode()) % partitions


@dataclass(frozen=True, slots=True)
class Streams:
    """Every stream key, under one configurable prefix (default `livecart`)."""

    prefix: str = DEFAULT_PREFIX
    checkout_partitions: int = 1
    # Spelt once: the storefront looks a partition up for every tap.
    _checkout_streams: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 1 <= self.checkout_partitions <= MAX_CHECKOUT_PARTITIONS:
            raise ValueError(
                f"checkout_partitions must be 1..{MAX_CHECKOUT_PARTITIONS}, "
                f"not {self.checkout_partitions}"
            )
        names = (
            ["checkout.requested"]
            if self.checkout_partitions == 1
            else [f"checkout.requested.{k}" for k in range(self.checkout_partitions)]
        )
        object.__setattr__(self, "_checkout_streams", tuple(self._key(n) for n in names))

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{{{name}}}"

    def short_name(self, key: str) -> str:
        """`key` as people read it: without the prefix and the hash tag's braces
        (`checkout.requested.2`, `order.status.dlq`)."""
        rest = key.removeprefix(f"{self.prefix}:")
        if rest.startswith("{") and "}" in rest:
            tag, _, after = rest[1:].partition("}")
            return tag + after
        return rest

    @property
    def checkout_streams(self) -> tuple[str, ...]:
        """Every checkout partition, in partition order; the orders group reads each."""
        return self._checkout_streams

    def checkout_stream_for(self, skus: Iterable[str]) -> str:
        """The partition a checkout of `skus` is appended to."""
        return self._checkout_streams[checkout_partition(skus, self.checkout_partitions)]

    @property
    def checkout_requested(self) -> str:
        """The checkout stream of a single-partition setup (the default)."""
        if self.checkout_partitions != 1:
            raise ValueError(
                f"{self.checkout_partitions} checkout partitions: use checkout_streams "
                "or checkout_stream_for(skus)"
            )
        return self._checkout_streams[0]

    @property
    def checkout_pattern(self) -> str:
        """A glob (ACL key pattern, SCAN match) of every checkout partition (not their
        dead letters: `Streams.dead_letters(pattern)` is theirs)."""
        return self._key("checkout.requested*")

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

    @property
    def flash_deals(self) -> str:
        """Flash deals sellers start in their rooms (storefront → marketplace, group `orders`)."""
        return self._key("flash_deal.requested")

    @property
    def cancellations(self) -> str:
        """Buyers' cancel requests from the live room (storefront → marketplace)."""
        return self._key("order.cancellation_requested")

    @property
    def room_changed(self) -> str:
        """Pins and live state of rooms (storefront → notifier, fan-out)."""
        return self._key("room.changed")

    @property
    def live_requests(self) -> tuple[str, str]:
        """What the storefront asks of the marketplace besides checkouts; group `orders`."""
        return (self.flash_deals, self.cancellations)

    def buyer_status(self, buyer_id: str) -> str:
        """One buyer's recent statuses (capped copy of `order.status`), for resuming."""
        return self._key(f"order.status.buyer:{buyer_id}")

    def idempotency(self, checkout_id: str) -> str:
        """The storefront's note of which request a buyer's idempotency key stands for
        (a string with a TTL, not a stream), by the checkout id derived from buyer and key."""
        return f"{self.prefix}:idempotency:{checkout_id}"

    @property
    def idempotency_pattern(self) -> str:
        """A glob (ACL key pattern, SCAN match) of every `idempotency` key."""
        return f"{self.prefix}:idempotency:*"

    @property
    def rate_limits(self) -> str:
        """The prefix of the rate-limit counters every replica shares (`limits` adds
        `:LIMITER/<limit>/<client>/<window>`); plain strings with a TTL, not streams."""
        return f"{self.prefix}:ratelimit"

    @property
    def rate_limit_pattern(self) -> str:
        """A glob (ACL key pattern, SCAN match) of every rate-limit counter."""
        return f"{self.rate_limits}:*"

    @property
    def chat(self) -> str:
        """Live rooms' chat: messages and the seller's moderation (storefront → notifier,
        fan-out; capped)."""
        return self._key("chat")

    @property
    def reactions(self) -> str:
        """Live rooms' reactions (storefront → notifier, fan-out; capped)."""
        return self._key("room.reactions")

    def chat_author(self, message_id: str) -> str:
        """Who wrote a chat message (`<room_id> <buyer_id>`, a string with a TTL), for the
        seller's moderation; the public stream never carries the buyer."""
        return f"{self.prefix}:chat:author:{message_id}"

    def chat_mute(self, room_id: str, buyer_id: str) -> str:
        """A buyer muted in a room until the key expires (a string with a TTL)."""
        return f"{self.prefix}:chat:mute:{room_id}:{buyer_id}"

    @property
    def chat_key_pattern(self) -> str:
        """A glob (ACL key pattern, SCAN match) of every `chat_author` and `chat_mute` key."""
        return f"{self.prefix}:chat:*"

    @staticmethod
    def dead_letters(stream: str) -> str:
        """The dead-letter stream beside `stream` (same hash tag, so the same slot)."""
        return f"{stream}{DLQ_SUFFIX}"
