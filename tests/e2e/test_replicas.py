"""Three orders replicas and two notifier replicas (and a storefront) as real processes: a
burst of 5,000 checkouts spreads across the orders replicas, the final statuses reach buyers
connected to either notifier, a buyer resumes on the other notifier with Last-Event-ID
without losing a status, and nothing is lost, doubled or oversold."""

import asyncio
import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import redis.asyncio as aioredis

from contracts import CheckoutRequested, Streams
from tests.conftest import Database
from tests.support.demo import DEMO_PRODUCTS, DEMO_ROOM_ID
from tests.support.faults import (
    StatusLog,
    assert_exactly_once_and_no_oversell,
    check_invariants,
    logs_of,
    running,
    seed_stock,
    service_process,
    wait_group_drained,
)
from tests.support.flow import checkout, publish_checkouts
from tests.support.replicas import BuyerFeed, metric_total
from tests.support.stack import ServiceProcess, seed_demo, service_env

pytestmark = pytest.mark.slow

BURST = 5000
SKUS = [f"REP-{i:02d}" for i in range(20)]
STOCK = dict.fromkeys(SKUS, 100)
INITIAL_STOCK = {**{p.sku: p.stock for p in DEMO_PRODUCTS}, **STOCK}
DEMO_SKU = "LC-MUG-LIVE"
WATCHED_BUYERS = 40  # buyers with a storefront session, following their statuses over SSE
ROAMING_PER_NOTIFIER = 2  # of them, on each notifier: leave it, resume on the other one
PARTITIONS = 3  # checkout streams (HTTP checkouts go through the storefront's routing)
RECEIVED = "livecart_order_transitions_total"


@pytest.fixture
def replicas(
    redis_url: str, stream_prefix: str, postgres_database: Database, tmp_path: Path
) -> Iterator[dict[str, list[ServiceProcess]]]:
    """3 orders replicas on this test's PostgreSQL schema, 2 notifiers, 1 storefront that
    sends each buyer to one of the two notifiers; seeded and ready."""
    env = service_env(
        redis_url=redis_url,
        stream_prefix=stream_prefix,
        workdir=tmp_path,
        ORDERS_DATABASE_URL=postgres_database.url,
        ORDERS_DATABASE_SCHEMA=postgres_database.schema or "",
        # Batches of 50 rather than 500: a burst then spreads over every replica.
        ORDERS_CONSUMER_MAX_RECORDS="50",
        # Every service reads the same count; each replica reads every partition.
        LIVECART_CHECKOUT_PARTITIONS=str(PARTITIONS),
    )
    seed_demo(env)
    # Its own thread: pytest-asyncio's loop must stay untouched.
    with ThreadPoolExecutor(max_workers=1) as thread:
        thread.submit(asyncio.run, seed_stock(postgres_database, STOCK)).result(timeout=60)
    orders = [service_process("orders", env, tmp_path / f"orders-{i}.log") for i in (1, 2, 3)]
    notifiers = [service_process("notifier", env, tmp_path / f"notifier-{i}.log") for i in (1, 2)]
    urls = [n.base_url for n in notifiers]
    storefront_env = {**env, "NOTIFIER_PUBLIC_URL": urls[0], "NOTIFIER_PUBLIC_URLS": ",".join(urls)}
    storefront = service_process("storefront", storefront_env, tmp_path / "storefront.log")
    with running([*orders, *notifiers, storefront]):
        yield {"orders": orders, "notifier": notifiers, "storefront": [storefront]}


async def open_buyers(storefront: ServiceProcess, count: int) -> tuple[list[BuyerFeed], list[str]]:
    """`count` buyers, each with a session and one checkout over HTTP; each follows their
    statuses on the notifier the storefront's `buyer_events_url` names."""
    feeds, checkout_ids = [], []
    async with httpx.AsyncClient(base_url=storefront.base_url, timeout=10, trust_env=False) as web:
        for _ in range(count):
            session = (await web.post("/api/sessions")).raise_for_status().json()
            accepted = await web.post(
                "/api/checkouts",
                json={"room_id": DEMO_ROOM_ID, "items": [{"sku": DEMO_SKU, "quantity": 1}]},
                headers={"Authorization": f"Bearer {session['token']}"},
            )
            assert accepted.status_code == 202, accepted.text
            body = accepted.json()
            notifier = body["buyer_events_url"].split("/events/")[0]
            assert body["events_url"].startswith(f"{notifier}/events/checkouts/")
            feed = BuyerFeed(session["buyer_id"], session["token"], notifier)
            feed.expected.add(body["checkout_id"])
            feeds.append(feed)
            checkout_ids.append(body["checkout_id"])
    return feeds, checkout_ids


def burst(feeds: list[BuyerFeed], count: int, *, seed: int) -> list[CheckoutRequested]:
    """`count` checkouts of 1-2 SKUs, 1-2 units each: every 12th from a watched buyer (about
    10 each), the others from 200 buyers nobody watches."""
    rng = random.Random(seed)
    checkouts = []
    for i in range(count):
        feed = feeds[(i // 12) % len(feeds)] if i % 12 == 0 else None
        items = [(sku, rng.randint(1, 2)) for sku in rng.sample(SKUS, rng.choice((1, 1, 2)))]
        buyer = feed.buyer_id if feed else f"anon-{rng.randrange(200)}"
        checkouts.append(checkout(buyer_id=buyer, items=items, room_id=DEMO_ROOM_ID))
        if feed:
            feed.expected.add(checkouts[-1].checkout_id)
    return checkouts


async def test_a_burst_spreads_over_orders_replicas_and_reaches_buyers_on_either_notifier(
    replicas: dict[str, list[ServiceProcess]],
    redis_client: aioredis.Redis,
    postgres_database: Database,
    stream_prefix: str,
) -> None:
    streams = Streams(stream_prefix, checkout_partitions=PARTITIONS)
    orders, (notifier_a, notifier_b) = replicas["orders"], replicas["notifier"]
    other = {notifier_a.base_url: notifier_b.base_url, notifier_b.base_url: notifier_a.base_url}
    feeds, http_ids = await open_buyers(replicas["storefront"][0], WATCHED_BUYERS)
    on = {
        n.base_url: [f for f in feeds if f.notifier == n.base_url] for n in (notifier_a, notifier_b)
    }
    assert all(len(group) > ROAMING_PER_NOTIFIER for group in on.values()), {
        url: len(group) for url, group in on.items()
    }
    roaming = [f for group in on.values() for f in group[:ROAMING_PER_NOTIFIER]]
    checkouts = burst(feeds, BURST, seed=7)
    ids = http_ids + [c.checkout_id for c in checkouts]
    statuses = StatusLog(redis_client, streams)
    sse = httpx.AsyncClient(timeout=httpx.Timeout(10, read=90), trust_env=False)
    async with sse:
        # The roaming buyers see their HTTP checkout through, then leave before the burst.
        left_after = await asyncio.gather(
            *(f.follow(sse, until_final=f.expected & set(http_ids)) for f in roaming)
        )
        staying = [
            asyncio.create_task(f.follow(sse, timeout=90)) for f in feeds if f not in roaming
        ]
        started = time.monotonic()
        await publish_checkouts(redis_client, streams, checkouts)
        halfway = await statuses.wait_count(len(http_ids) + BURST // 2, timeout=60)
        resumed = await asyncio.gather(
            *(f.follow(sse, notifier=other[f.notifier], timeout=90) for f in roaming)
        )
        missing = await statuses.wait_final(ids, timeout=90)
        elapsed = time.monotonic() - started
        await asyncio.gather(*staying)
    left_pending = await wait_group_drained(redis_client, streams, timeout=15)
    assert (missing, left_pending) == (0, 0), logs_of(orders)

    placed = [metric_total(o.base_url, RECEIVED, status="received") for o in orders]
    found = await check_invariants(postgres_database, redis_client, streams, ids, INITIAL_STOCK)
    print(
        f"\n{BURST} checkouts (+{len(http_ids)} over HTTP) final in {elapsed:.1f}s; orders "
        f"placed per replica {[int(n) for n in placed]}; buyers per notifier "
        f"{[len(g) for g in on.values()]}; {halfway} final when {len(roaming)} buyers resumed "
        f"on the other notifier, which sent them {resumed} events; {found.summary()}"
    )
    assert_exactly_once_and_no_oversell(found)
    assert found.orders == len(ids)
    assert found.dead_letters == 0
    assert sum(placed) == len(ids), "each order is placed once, by one replica"
    assert all(n > 0 for n in placed), f"a replica placed no order: {placed}"
    per_partition = [await redis_client.xlen(s) for s in streams.checkout_streams]
    assert sum(per_partition) == len(ids), per_partition
    assert all(per_partition), f"a partition got no checkout: {per_partition}"

    final = statuses.finals()
    emitted = statuses.sequences()
    for feed in feeds:
        finals = feed.finals()
        assert finals.keys() == feed.expected, feed.buyer_id
        assert all(finals[c] == final[c] for c in feed.expected), feed.buyer_id
        for cid in feed.expected:  # every status of every checkout, once, in order
            seen = [d.sequence for d in feed.received if d.checkout_id == cid]
            assert seen == emitted[cid] == list(range(1, len(seen) + 1)), (feed.buyer_id, cid)
    for feed, before, after in zip(roaming, left_after, resumed, strict=True):
        assert before > 0, f"{feed.buyer_id} left before seeing its HTTP checkout through"
        assert after > 0, f"{feed.buyer_id} got nothing from the notifier it resumed on"
        assert set(feed.via) == set(other), "the roaming buyer was served by both notifiers"
        ids_seen = [d.entry_id for d in feed.received]
        assert ids_seen == sorted(ids_seen, key=lambda e: tuple(map(int, e.split("-"))))
