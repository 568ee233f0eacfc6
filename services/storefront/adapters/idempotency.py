"""The idempotency ledger in Redis: per checkout id (derived from buyer and key) one
string `<fingerprint> pending|accepted` with a TTL, under `Streams.idempotency`.

The storefront keeps no orders: this is a fingerprint of room and items, gone after the
TTL, so a key is refused for another request only while a retry of the first is
plausible. The claim is one `SET … NX GET EX`, atomic in Redis: of two concurrent
requests with the same key exactly one claims it.
"""

import logging
from collections.abc import Awaitable, Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from contracts import Streams
from services.storefront.adapters.pipelined import Command, PipelinedCommands
from services.storefront.service import CheckoutUnavailable, KeyClaim

logger = logging.getLogger(__name__)

PENDING, ACCEPTED = "pending", "accepted"


class RedisIdempotencyLedger:
    """`IdempotencyLedger` on the broker's Redis connection (single server or Cluster:
    every command names one key). The commands of concurrent requests share one pipeline
    per round trip, as the checkouts do: a burst of keyed taps holds one connection."""

    def __init__(
        self,
        streams: Streams,
        *,
        client: Callable[[], Awaitable[Redis]],
        ttl_seconds: int,
        wait_seconds: float | None = None,
    ) -> None:
        self._streams = streams
        self._commands = PipelinedCommands(client, wait_seconds=wait_seconds)
        self._ttl = ttl_seconds

    async def claim(self, checkout_id: str, fingerprint: str) -> KeyClaim | None:
        key = self._streams.idempotency(checkout_id)
        earlier = await self._run(
            "claim",
            lambda r: r.set(key, f"{fingerprint} {PENDING}", nx=True, get=True, ex=self._ttl),
        )
        if earlier is None:
            return None
        text = earlier.decode() if isinstance(earlier, bytes) else str(earlier)
        seen, _, state = text.partition(" ")
        return KeyClaim(fingerprint=seen, accepted=state == ACCEPTED)

    async def accepted(self, checkout_id: str, fingerprint: str) -> None:
        key = self._streams.idempotency(checkout_id)
        await self._run(
            "mark", lambda r: r.set(key, f"{fingerprint} {ACCEPTED}", xx=True, keepttl=True)
        )

    async def release(self, checkout_id: str) -> None:
        key = self._streams.idempotency(checkout_id)
        await self._run("release", lambda r: r.delete(key))

    async def _run(self, what: str, command: Command) -> object:
        try:
            return await self._commands.run(command)
        except (RedisError, OSError) as exc:
            # The broker already retried with backoff; a refusal (OOM, ACL) is no better.
            logger.warning("idempotency %s failed: %s", what, exc)
            raise CheckoutUnavailable(str(exc)) from exc
