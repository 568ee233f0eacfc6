"""A resume costs what the buyer missed, not the length of `order.status` (1,000,000 entries).

Proven by instrumentation, not timing: the notifier counts every buyer-stream entry
Redis returned, and MONITOR records which keys each read touched during the resume.
"""

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import redis.asyncio as aioredis
from httpx_sse import aconnect_sse

from contracts import EntryId, OrderStatus
from infra.local.redis_server import RedisServer
from services.notifier.adapters.buyer_history import RedisBuyerHistory
from services.notifier.adapters.reader_start import newest_entries_start
from services.notifier.hub import StatusHub
from tests.integration.notifier.support import (
    Notifiers,
    Relay,
    bearer,
    browser_events,
    new_id,
    notifier_settings,
    order_status,
    take,
    wait_until,
)

pytestmark = pytest.mark.slow

UNRELATED_ENTRIES = 1_000_000
CHUNK = 10_000
MISSED = 100
BUYER = "buyer-who-missed-100"


@asynccontextmanager
async def monitored(url: str) -> AsyncIterator[list[str]]:
    """Every command Redis executes inside the block, as MONITOR shows it."""
    seen: list[str] = []
    client = aioredis.Redis.from_url(url)

    async def listen() -> None:
        async with client.monitor() as monitor:
            async for command in monitor.listen():
                seen.append(command["command"])

    task = asyncio.create_task(listen())
    await asyncio.sleep(0.2)  # MONITOR is subscribed before the block starts
    try:
        yield seen
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.aclose()


async def test_a_resume_reads_only_the_missed_statuses_however_long_order_status_is(
    private_redis: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    # The unrelated entries are not statuses: the few a starting reader sees are skipped.
    caplog.set_level(logging.ERROR, logger="services.notifier.entrypoints.messaging")
    redis = aioredis.Redis.from_url(private_redis.url)
    await redis.config_set("appendonly", "no")  # this test measures reads, not fsyncs
    settings = notifier_settings(private_redis.url, new_id("cost"))
    streams = settings.streams
    relay = Relay(redis, streams)
    checkouts = [new_id("co") for _ in range(MISSED + 1)]

    started = time.monotonic()
    last_seen = await relay.publish(
        order_status(checkouts[0], OrderStatus.RECEIVED, buyer_id=BUYER)
    )
    missed = []
    for chunk in range(UNRELATED_ENTRIES // CHUNK):
        pipe = redis.pipeline(transaction=False)
        for n in range(CHUNK):
            pipe.xadd(streams.order_status, {"n": chunk * CHUNK + n})
        await pipe.execute()
        # The missed statuses are spread over the whole main stream.
        status = order_status(checkouts[chunk + 1], OrderStatus.RECEIVED, buyer_id=BUYER)
        missed.append(await relay.publish(status))
    written = time.monotonic() - started
    assert await redis.xlen(streams.order_status) == UNRELATED_ENTRIES + MISSED + 1

    notifiers = Notifiers()
    try:
        started = time.monotonic()
        notifier = await notifiers.start(settings)  # a fresh replica: nothing in memory
        history: RedisBuyerHistory = notifier.app.state.history
        statuses: StatusHub = notifier.app.state.statuses
        # Its doorbell reads the newest `recent_statuses` entries; the newest is a status.
        await wait_until(lambda: statuses.statuses_seen == 1, "the doorbell caught up")
        startup = time.monotonic() - started
        seen_at_start = statuses.statuses_seen
        newest_main = EntryId.parse(
            await newest_entries_start(redis, streams.order_status, entries=0)
        )
        headers = {**bearer(BUYER), "Last-Event-ID": last_seen}
        async with monitored(private_redis.url) as commands:
            started = time.monotonic()
            async with aconnect_sse(
                notifier.client, "GET", "/events/buyers/me", headers=headers
            ) as source:
                events = browser_events(source)
                resumed = await take(events, MISSED)
                resume = time.monotonic() - started
                entries_read = history.entries_read
                doorbell_reads = statuses.statuses_seen - seen_at_start
                live = await relay.publish(
                    order_status(checkouts[-1], OrderStatus.RESERVED, buyer_id=BUYER)
                )
                assert [e.id for e in await take(events, 1)] == [live]
    finally:
        await notifiers.close()
        await redis.aclose()

    words = [command.split() for command in commands]
    range_reads = [w for w in words if w[0].upper() in {"XRANGE", "XREVRANGE"}]
    print(
        f"\nwrote {UNRELATED_ENTRIES:,} unrelated entries in {written:.1f}s; a fresh notifier "
        f"caught up in {startup:.2f}s; resumed {MISSED} statuses in {resume * 1000:.0f} ms, "
        f"reading {entries_read} buyer-stream entries; MONITOR saw {len(commands)} commands "
        f"(resume and one live status), {len(range_reads)} of them XRANGE/XREVRANGE"
    )
    assert [e.id for e in resumed] == missed
    assert [e.event for e in resumed] == ["status"] * MISSED
    # The first-entry probe (gap check) and the 100 missed entries: nothing else.
    assert entries_read == MISSED + 1
    assert doorbell_reads == 0
    # The main stream was only XREAD by the doorbell, after its newest entry (the XADD
    # is this test's live status); every XRANGE / XREVRANGE was on the buyer's stream.
    on_main = [w for w in words if streams.order_status in w and w[0].upper() != "XADD"]
    assert {w[0].upper() for w in on_main} <= {"XREAD"}
    assert all(EntryId.parse(w[-1]) >= newest_main for w in on_main)
    assert range_reads
    assert all(w[1] == streams.buyer_status(BUYER) for w in range_reads)
