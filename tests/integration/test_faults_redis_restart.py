"""Redis crashes (SIGKILL, AOF `appendfsync always`) and comes back on the same port and
directory while buyers keep posting checkouts: every 202 becomes exactly one order."""

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from contracts import Streams
from infra.local.redis_server import RedisServer
from services.storefront.domain import derive_checkout_id
from tests.conftest import Database
from tests.support.demo import DEMO_PRODUCTS, DEMO_ROOM_ID
from tests.support.faults import (
    StatusLog,
    assert_exactly_once_and_no_oversell,
    check_invariants,
    logs_of,
    running,
    service_process,
    wait_group_drained,
)
from tests.support.stack import seed_demo, service_env

pytestmark = pytest.mark.slow

ATTEMPTS = 300
WORKERS = 4
OUTAGE_AFTER_ACCEPTED = 100
OUTAGE_SECONDS = 4.0
CHECKOUT_WAIT_SECONDS = 1.5  # < OUTAGE_SECONDS: a request sent as Redis dies gets its 503
STOCK = {p.sku: p.stock for p in DEMO_PRODUCTS}


class Buyers:
    """Concurrent buyers posting checkouts; every answer is recorded by its phase."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.numbers = itertools.count()
        self.accepted: list[str] = []
        self.unavailable: list[str] = []
        self.answers: Counter[tuple[str, int]] = Counter()
        self.phase = "before"
        self.enough_accepted = asyncio.Event()
        self.slowest_503 = 0.0

    async def sign_in(self, worker: int) -> tuple[str, dict[str, str], dict[str, str]]:
        """A buyer: their id, the headers and the body fields that say who is buying."""
        answer = await self.client.post("/api/sessions")
        if answer.status_code == 404:  # a storefront without sessions takes the id in the body
            buyer = f"buyer-{worker}"
            return buyer, {}, {"buyer_id": buyer}
        assert answer.status_code == 201, answer.text
        session = answer.json()
        return session["buyer_id"], {"Authorization": f"Bearer {session['token']}"}, {}

    async def buy(self, worker: int) -> None:
        buyer, headers, who = await self.sign_in(worker)
        while (n := next(self.numbers)) < ATTEMPTS:
            product = DEMO_PRODUCTS[n % len(DEMO_PRODUCTS)]
            key = f"attempt-{n}"
            body = {
                "room_id": DEMO_ROOM_ID,
                "idempotency_key": key,
                "items": [{"sku": product.sku, "quantity": 1 + n % 2}],
                **who,
            }
            phase, sent = self.phase, time.monotonic()
            answer = await self.client.post("/api/checkouts", json=body, headers=headers)
            self.answers[phase, answer.status_code] += 1
            if answer.status_code == 202:
                self.accepted.append(answer.json()["checkout_id"])
                if len(self.accepted) >= OUTAGE_AFTER_ACCEPTED:
                    self.enough_accepted.set()
            elif answer.status_code == 503:
                self.unavailable.append(derive_checkout_id(buyer_id=buyer, idempotency_key=key))
                self.slowest_503 = max(self.slowest_503, time.monotonic() - sent)
            await asyncio.sleep(0.02)  # paces the run so the outage falls in its middle


async def crash_and_restart(server: RedisServer, again: RedisServer, buyers: Buyers) -> None:
    """Kill Redis once enough checkouts were accepted; start `again` on its port and dir."""
    await buyers.enough_accepted.wait()
    buyers.phase = "outage"
    await asyncio.to_thread(server.kill)
    await asyncio.sleep(OUTAGE_SECONDS)  # paces the fault: Redis is away
    await asyncio.to_thread(again.start)
    buyers.phase = "after"


@pytest.fixture
async def redis(private_redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client: aioredis.Redis = aioredis.Redis.from_url(private_redis.url)
    yield client
    await client.aclose()


async def test_every_checkout_accepted_across_a_redis_crash_and_restart_becomes_one_order(
    private_redis: RedisServer,
    redis: aioredis.Redis,
    stream_prefix: str,
    tmp_path: Path,
) -> None:
    env = service_env(redis_url=private_redis.url, stream_prefix=stream_prefix, workdir=tmp_path)
    env.update(
        ORDERS_CLAIM_IDLE_MS="1500",
        ORDERS_RELAY_IDLE_SECONDS="0.2",
        STOREFRONT_CHECKOUT_WAIT_SECONDS=str(CHECKOUT_WAIT_SECONDS),
    )
    seed_demo(env)
    orders_db = Database(url=env["ORDERS_DATABASE_URL"])
    streams = Streams(stream_prefix)
    processes = [service_process(n, env, tmp_path / f"{n}.log") for n in ("orders", "storefront")]
    again = RedisServer(private_redis.directory, port=private_redis.port, appendfsync="always")
    buyers: Buyers | None = None
    fault: asyncio.Task[None] | None = None
    try:
        with running(processes) as (_, storefront):
            async with httpx.AsyncClient(base_url=storefront.base_url, timeout=30) as client:
                buyers = Buyers(client)
                started = time.monotonic()
                fault = asyncio.create_task(crash_and_restart(private_redis, again, buyers))
                await asyncio.gather(*(buyers.buy(w) for w in range(WORKERS)))
                assert buyers.enough_accepted.is_set(), f"no outage: {dict(buyers.answers)}"
                await fault
            missing = await StatusLog(redis, streams).wait_final(buyers.accepted, timeout=60)
            elapsed = time.monotonic() - started
            left_pending = await wait_group_drained(redis, streams, timeout=15)
            assert (missing, left_pending) == (0, 0), logs_of(processes)
        found = await check_invariants(
            orders_db, redis, streams, buyers.accepted, STOCK, allowed_extra=buyers.unavailable
        )
        entries = await redis.xlen(streams.checkout_requested)
    finally:
        if fault is not None and buyers is not None and not fault.done():
            if buyers.phase == "before":
                fault.cancel()
            await asyncio.wait([fault], timeout=20)
        again.stop()

    print(
        f"\n{dict(buyers.answers)}: {len(buyers.accepted)} accepted, "
        f"{len(buyers.unavailable)} answered 503 (slowest in {buyers.slowest_503:.1f}s), "
        f"{found.orders_of_allowed_extra} of them written all the same; {entries} entries in "
        f"checkout.requested; all final in {elapsed:.1f}s; {found.summary()}"
    )
    assert {status for _, status in buyers.answers} <= {202, 503}
    assert len(buyers.accepted) + len(buyers.unavailable) == ATTEMPTS
    assert len(set(buyers.accepted)) == len(buyers.accepted)
    assert len(buyers.unavailable) > 0, "no request met the outage"
    # each of a checkout's Redis steps (idempotency claim, XADD, releasing the claim of
    # one not accepted) waits at most CHECKOUT_WAIT_SECONDS
    assert buyers.slowest_503 < 3 * CHECKOUT_WAIT_SECONDS + 1.0, buyers.slowest_503
    assert buyers.answers["after", 202] > 0, "nothing was accepted after the restart"
    assert_exactly_once_and_no_oversell(found)
    assert found.orders <= len(buyers.accepted) + len(buyers.unavailable)
    assert found.dead_letters == 0
