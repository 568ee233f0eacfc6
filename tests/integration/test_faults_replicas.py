"""Orders replicas as real processes sharing one consumer group: one dies (SIGKILL) or is
stopped (SIGTERM) in the middle of a flash sale, and nothing is lost, doubled or oversold."""

import asyncio
import signal
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from contracts import GROUP_ORDERS, Streams
from infra.local.redis_server import RedisServer
from tests.conftest import Database
from tests.support.faults import (
    StatusLog,
    assert_exactly_once_and_no_oversell,
    check_invariants,
    flash_sale,
    logs_of,
    orders_env,
    orders_replicas,
    seed_stock,
    wait_group_drained,
)
from tests.support.flow import publish_checkouts
from tests.support.stack import ServiceProcess

pytestmark = pytest.mark.slow

SKUS = [f"SKU-{i:02d}" for i in range(20)]
STOCK = dict.fromkeys(SKUS, 50)


@pytest.fixture
async def redis(private_redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client: aioredis.Redis = aioredis.Redis.from_url(private_redis.url)
    yield client
    await client.aclose()


@pytest.fixture
async def env(
    private_redis: RedisServer, postgres_database: Database, stream_prefix: str, tmp_path: Path
) -> dict[str, str]:
    """Orders replicas on this test's PostgreSQL schema and Redis, the stock seeded."""
    await seed_stock(postgres_database, STOCK)
    return orders_env(
        redis_url=private_redis.url,
        stream_prefix=stream_prefix,
        database=postgres_database,
        workdir=tmp_path,
        # Small batches: the replicas share the burst and each keeps fetching more, so
        # there is always something in flight to kill or stop them in the middle of.
        ORDERS_CONSUMER_MAX_RECORDS="20",
    )


async def pending_by_consumer(client: aioredis.Redis, stream: str) -> dict[str, int]:
    consumers = await client.xinfo_consumers(stream, GROUP_ORDERS)
    return {c["name"].decode(): int(c["pending"]) for c in consumers}


async def held_by(process: ServiceProcess, client: aioredis.Redis, stream: str) -> int:
    """Entries pending on the consumers of `process` (its reader and claimer)."""
    assert process.process is not None
    pending = await pending_by_consumer(client, stream)
    return sum(n for name, n in pending.items() if f"-{process.process.pid}-" in name)


async def kill_while_holding_entries(
    victim: ServiceProcess, client: aioredis.Redis, stream: str, timeout: float = 30
) -> int:
    """SIGKILL `victim` at a moment it holds fetched, unacknowledged entries; how many.

    A replica working in batches holds entries only for moments: it is frozen
    (SIGSTOP) to look, and killed if it holds some, or thawed to try again.
    """
    assert victim.process is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        victim.process.send_signal(signal.SIGSTOP)
        if held := await held_by(victim, client, stream):
            victim.kill()
            return held
        victim.process.send_signal(signal.SIGCONT)
        await asyncio.sleep(0.002)
    victim.kill()
    return 0


async def test_a_replica_killed_mid_run_loses_doubles_and_oversells_nothing(
    env: dict[str, str],
    redis: aioredis.Redis,
    postgres_database: Database,
    stream_prefix: str,
    tmp_path: Path,
) -> None:
    streams = Streams(stream_prefix)
    checkouts = flash_sale(2000, SKUS, seed=1)
    ids = [c.checkout_id for c in checkouts]
    statuses = StatusLog(redis, streams)
    with orders_replicas(env, tmp_path, 3) as replicas:
        started = time.monotonic()
        await publish_checkouts(redis, streams.checkout_requested, checkouts)
        done_at_kill = await statuses.wait_count(400, timeout=60)
        victim = replicas[0]
        orphaned = await kill_while_holding_entries(victim, redis, streams.checkout_requested)
        missing = await statuses.wait_final(ids, timeout=60)
        elapsed = time.monotonic() - started
        left_pending = await wait_group_drained(redis, streams, timeout=15)
        assert (missing, left_pending) == (0, 0), logs_of(replicas)

    found = await check_invariants(postgres_database, redis, streams, ids, STOCK)
    print(
        f"\nkill -9 after {done_at_kill}/{len(ids)} final, {orphaned} entries left pending on "
        f"the victim; all final in {elapsed:.1f}s; {found.summary()}"
    )
    assert done_at_kill < len(ids), "the replica was killed after the run had ended"
    assert orphaned > 0, "the killed replica held no entry: nothing had to be reclaimed"
    assert_exactly_once_and_no_oversell(found)
    assert found.orders == len(ids)
    assert found.dead_letters == 0


async def test_a_replica_stopped_with_sigterm_during_a_burst_exits_0_and_loses_nothing(
    env: dict[str, str],
    redis: aioredis.Redis,
    postgres_database: Database,
    stream_prefix: str,
    tmp_path: Path,
) -> None:
    streams = Streams(stream_prefix)
    checkouts = flash_sale(1000, SKUS, seed=2)
    ids = [c.checkout_id for c in checkouts]
    statuses = StatusLog(redis, streams)
    with orders_replicas(env, tmp_path, 2) as replicas:
        await publish_checkouts(redis, streams.checkout_requested, checkouts)
        done_at_stop = await statuses.wait_count(200, timeout=60)
        stopped = replicas[0]
        assert stopped.process is not None
        stopping = time.monotonic()
        exit_code = stopped.terminate()
        stop_seconds = time.monotonic() - stopping
        left = await held_by(stopped, redis, streams.checkout_requested)
        missing = await statuses.wait_final(ids, timeout=60)
        left_pending = await wait_group_drained(redis, streams, timeout=15)
        assert (missing, left_pending) == (0, 0), logs_of(replicas)

    found = await check_invariants(postgres_database, redis, streams, ids, STOCK)
    print(
        f"\nSIGTERM after {done_at_stop}/{len(ids)} final: exit {exit_code} in "
        f"{stop_seconds:.1f}s, {left} fetched entries left pending for the other replica; "
        f"{found.summary()}"
    )
    assert done_at_stop < len(ids), "the replica was stopped after the run had ended"
    assert exit_code == 0, logs_of(replicas[:1])
    assert stop_seconds < 15
    assert_exactly_once_and_no_oversell(found)
    assert found.orders == len(ids)
    assert found.dead_letters == 0
