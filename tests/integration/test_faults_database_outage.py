"""The orders database goes away for ~5 s in the middle of a burst (every connection dropped,
new ones refused, through a TCP proxy), then comes back: orders resume where they were,
nothing is doubled or oversold, and no checkout is dead-lettered for the database's fault."""

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from sqlalchemy.engine import make_url

from contracts import Streams
from infra.local.redis_server import RedisServer
from tests.conftest import Database
from tests.support.faults import (
    StatusLog,
    TcpProxy,
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

pytestmark = pytest.mark.slow

SKUS = [f"SKU-{i:02d}" for i in range(10)]
STOCK = dict.fromkeys(SKUS, 60)
CHECKOUTS = 800
OUTAGE_SECONDS = 5.0


@pytest.fixture
async def redis(private_redis: RedisServer) -> AsyncIterator[aioredis.Redis]:
    client: aioredis.Redis = aioredis.Redis.from_url(private_redis.url)
    yield client
    await client.aclose()


def through(proxy: TcpProxy, database: Database) -> Database:
    """The same database, reached through `proxy`."""
    url = make_url(database.url).set(host="127.0.0.1", port=proxy.port)
    return Database(url=url.render_as_string(hide_password=False), schema=database.schema)


async def test_a_five_second_database_outage_mid_burst_loses_and_dead_letters_nothing(
    private_redis: RedisServer,
    redis: aioredis.Redis,
    postgres_database: Database,
    stream_prefix: str,
    tmp_path: Path,
) -> None:
    await seed_stock(postgres_database, STOCK)
    streams = Streams(stream_prefix)
    checkouts = flash_sale(CHECKOUTS, SKUS, seed=3)
    ids = [c.checkout_id for c in checkouts]
    statuses = StatusLog(redis, streams)
    target = make_url(postgres_database.url)
    with TcpProxy(target.host or "127.0.0.1", target.port or 5432) as proxy:
        env = orders_env(
            redis_url=private_redis.url,
            stream_prefix=stream_prefix,
            database=through(proxy, postgres_database),
            workdir=tmp_path,
        )
        with orders_replicas(env, tmp_path, 2) as replicas:
            started = time.monotonic()
            await publish_checkouts(redis, streams.checkout_requested, checkouts)
            done_at_cut = await statuses.wait_count(150, timeout=60)
            proxy.cut()
            await asyncio.sleep(OUTAGE_SECONDS)  # paces the fault: the database is away
            done_at_restore = len((await statuses.read()).finals())
            proxy.restore()
            missing = await statuses.wait_final(ids, timeout=90)
            elapsed = time.monotonic() - started
            left_pending = await wait_group_drained(redis, streams, timeout=15)
            assert (missing, left_pending) == (0, 0), logs_of(replicas)
            failures = sum(p.log.read_text().count("infrastructure unavailable") for p in replicas)

    found = await check_invariants(postgres_database, redis, streams, ids, STOCK)
    print(
        f"\ncut after {done_at_cut}/{len(ids)} final ({done_at_restore} at restore), "
        f"{proxy.dropped} connections dropped, {failures} infrastructure failures logged; "
        f"all final in {elapsed:.1f}s; {found.summary()}"
    )
    assert done_at_cut < len(ids), "the database was cut after the run had ended"
    assert proxy.dropped > 0, "the cut dropped no connection"
    assert_exactly_once_and_no_oversell(found)
    assert found.orders == len(ids)
    assert found.dead_letters == 0
