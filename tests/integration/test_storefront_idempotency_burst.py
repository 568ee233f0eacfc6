"""A flash sale's burst of keyed checkouts against a real Redis whose connection pool is
small: the idempotency ledger's claims share pipelines, so none is refused with "Too many
connections" (a 503 to the buyer), and each still gets its own answer."""

import asyncio

import redis.asyncio as aioredis

from contracts import Streams
from services.storefront.adapters.idempotency import RedisIdempotencyLedger

BURST = 500


async def test_a_burst_of_claims_on_a_two_connection_pool_is_answered_claim_by_claim(
    redis_url: str, stream_prefix: str
) -> None:
    client = aioredis.Redis.from_url(redis_url, max_connections=2)

    async def connect() -> aioredis.Redis:
        return client

    ledger = RedisIdempotencyLedger(Streams(stream_prefix), client=connect, ttl_seconds=60)
    try:
        firsts = await asyncio.gather(*(ledger.claim(f"co-{n}", f"fp-{n}") for n in range(BURST)))
        await asyncio.gather(*(ledger.accepted(f"co-{n}", f"fp-{n}") for n in range(BURST)))
        again = await asyncio.gather(*(ledger.claim(f"co-{n}", "other") for n in range(BURST)))
    finally:
        await client.aclose()

    assert firsts == [None] * BURST  # every key was new: each claim got its own answer
    assert [(c.fingerprint, c.accepted) for c in again if c] == [
        (f"fp-{n}", True) for n in range(BURST)
    ]
