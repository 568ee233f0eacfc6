"""The real services on a real Redis Cluster (3 masters started for this module): the
checkout partitions spread over the masters, a burst through the storefront's publisher
and two orders replicas ends exactly once per checkout without overselling, and the
notifier follows a buyer's order live and resumes it with Last-Event-ID."""

import asyncio
import json
import random
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast

import pytest
import redis
from httpx_sse import aconnect_sse
from redis.asyncio import Redis
from sqlalchemy import text

import services.orders.entrypoints.app as orders_app
from contracts import (
    GROUP_ORDERS,
    CheckoutRequestedEvent,
    Streams,
    checkout_partition,
    decode_entry,
    new_event_id,
)
from infra.local.redis_cluster import RedisClusterNodes
from services.common.db import make_engine
from services.common.streams.broker import redis_client
from services.notifier.hub import StatusHub
from services.orders.service import place_order, place_orders
from services.storefront.adapters.publisher import StreamCheckoutPublisher
from services.storefront.domain import CheckoutRequest, RequestedItem
from services.storefront.service import checkout_requested_event
from tests.conftest import Database
from tests.integration.notifier.support import (
    HAPPY_PATH,
    Notifiers,
    bearer,
    browser_events,
    new_id,
    notifier_settings,
    take,
    wait_until,
)
from tests.support.faults import StatusLog
from tests.support.flow import eventually
from tests.support.orders import orders_settings, running_orders

pytestmark = pytest.mark.slow

PARTITIONS = 6
BURST = 3000
ME = "/events/buyers/me"


def skus_covering_every_partition(per_partition: int = 2) -> list[str]:
    """`per_partition` SKU names for each checkout partition (found by hashing names, so
    every partition has work whatever the hash), 12 in all with the defaults."""
    found: dict[int, list[str]] = defaultdict(list)
    n = 0
    while any(len(found[p]) < per_partition for p in range(PARTITIONS)):
        sku = f"SKU-{n:03d}"
        if len(found[p := checkout_partition([sku], PARTITIONS)]) < per_partition:
            found[p].append(sku)
        n += 1
    return sorted(sku for skus in found.values() for sku in skus)


SKUS = skus_covering_every_partition()
# Hot SKUs draw 4x the checkouts of cold ones: with the same stock for all, the hot and
# warm ones are oversubscribed, the cold ones are not.
WEIGHTS = [4, 4, 4, 4, 2, 2, 2, 2, 1, 1, 1, 1]
STOCK = dict.fromkeys(SKUS, 200)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterNodes]:
    nodes = RedisClusterNodes(tmp_path_factory.mktemp("redis-cluster")).start()
    try:
        yield nodes
    finally:
        nodes.stop()


@pytest.fixture
def prefix(cluster: RedisClusterNodes, stream_prefix: str) -> Iterator[str]:
    """This test's stream prefix; its keys are deleted from every master afterwards."""
    yield stream_prefix
    for node in cluster.nodes:
        client = redis.Redis.from_url(node.url)
        try:
            for key in client.scan_iter(match=f"{stream_prefix}:*", count=1000):
                client.delete(key)  # one by one: a multi-key DEL must stay within one slot
        finally:
            client.close()


def keys_by_master(cluster: RedisClusterNodes, match: str) -> dict[str, set[str]]:
    """`host:port` of each master -> its keys matching `match` (SCAN on that node)."""
    found: dict[str, set[str]] = {}
    for address, node in zip(cluster.addresses, cluster.nodes, strict=True):
        client = redis.Redis.from_url(node.url, decode_responses=True)
        try:
            found[address] = set(client.scan_iter(match=match, count=1000))
        finally:
            client.close()
    return found


@pytest.fixture
async def cluster_redis(cluster: RedisClusterNodes) -> AsyncIterator[Redis]:
    """A cluster client as the services build theirs (follows each key to its master)."""
    client = redis_client(cluster.url, cluster=True)
    yield client
    await client.aclose()


def slot_owners(cluster: RedisClusterNodes) -> dict[int, str]:
    """slot -> `host:port` of the master owning it, from CLUSTER SHARDS."""
    client = redis.Redis.from_url(cluster.url)
    try:
        shards: list[dict[bytes, Any]] = client.execute_command("CLUSTER SHARDS")  # type: ignore[no-untyped-call]
    finally:
        client.close()
    owners: dict[int, str] = {}
    for shard in shards:
        masters = [n for n in shard[b"nodes"] if n[b"role"] == b"master"]
        assert len(masters) == 1, shard
        address = f"{masters[0][b'ip'].decode()}:{masters[0][b'port']}"
        ranges = shard[b"slots"]
        for start, end in zip(ranges[::2], ranges[1::2], strict=True):
            owners.update(dict.fromkeys(range(start, end + 1), address))
    return owners


def keyslot(cluster: RedisClusterNodes, key: str) -> int:
    client = redis.Redis.from_url(cluster.url)
    try:
        return int(client.execute_command("CLUSTER KEYSLOT", key))  # type: ignore[no-untyped-call]
    finally:
        client.close()


async def test_the_checkout_partitions_spread_over_the_masters(
    cluster: RedisClusterNodes, cluster_redis: Redis, prefix: str
) -> None:
    streams = Streams(prefix, checkout_partitions=PARTITIONS)
    owners = slot_owners(cluster)
    assert len(owners) == 16384
    assert set(owners.values()) == set(cluster.addresses)
    slots = {stream: keyslot(cluster, stream) for stream in streams.checkout_streams}
    masters = Counter(owners[slot] for slot in slots.values())
    print(f"\n{PARTITIONS} partitions: slots {sorted(slots.values())}, per master {dict(masters)}")
    assert len(masters) >= 2, masters
    # Each partition's dead letters are in its slot (the ack-and-dead-letter script and
    # the replay transaction touch both keys).
    for stream, slot in slots.items():
        assert keyslot(cluster, Streams.dead_letters(stream)) == slot
    # Written through the services' cluster client, each partition lands on its owner.
    for stream in streams.checkout_streams:
        await cluster_redis.xadd(stream, {"probe": "1"})
    placed = keys_by_master(cluster, f"{prefix}:*")
    assert placed == {
        address: {s for s in streams.checkout_streams if owners[slots[s]] == address}
        for address in cluster.addresses
    }


async def test_a_burst_over_the_partitions_ends_once_per_checkout_without_overselling(
    cluster: RedisClusterNodes,
    cluster_redis: Redis,
    prefix: str,
    database: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = orders_settings(
        database,
        cluster.url,
        prefix,
        redis_cluster=True,
        checkout_partitions=PARTITIONS,
        # No replica dies here. At the 500 ms of the fault tests, a batch of 500 taking
        # longer on PostgreSQL is claimed by the other replica while still in flight, and
        # the two place the same checkouts over again (seen: 1,700 extra placements and
        # 38 s instead of 4, on a single Redis as on the cluster).
        claim_idle_ms=5000,
    )
    streams = settings.streams
    rng = random.Random(11)
    buyers = [f"buyer-{i}" for i in range(300)]
    events = [
        checkout_requested_event(
            CheckoutRequest(
                room_id="room-1",
                buyer_id=rng.choice(buyers),
                items=(RequestedItem(sku=sku, quantity=1),),
            ),
            checkout_id=new_event_id(),
        )
        for sku in rng.choices(SKUS, weights=WEIGHTS, k=BURST)
    ]
    ids = [event.data.checkout_id for event in events]
    demand = Counter(event.data.items[0].sku for event in events)
    handled = count_checkouts_handled(monkeypatch)
    publisher = StreamCheckoutPublisher(streams, client=lambda: _ready(cluster_redis))

    async def wave(checkouts: list[CheckoutRequestedEvent], delay: float) -> None:
        await asyncio.sleep(delay)
        await asyncio.gather(*(publisher.publish(event) for event in checkouts))

    async with (
        running_orders(settings, STOCK) as first,
        running_orders(settings, STOCK) as second,  # seeding again adds nothing
    ):
        started = time.monotonic()
        # Ten waves of concurrent requests: each wave's XADDs go out in pipelines (one
        # per master) while the replicas already consume the earlier ones.
        waves = [events[i::10] for i in range(10)]
        await asyncio.gather(*(wave(w, 0.05 * i) for i, w in enumerate(waves)))
        published = time.monotonic() - started
        statuses = StatusLog(cluster_redis, streams)
        missing = await statuses.wait_final(ids, timeout=45)
        elapsed = time.monotonic() - started
        assert missing == 0, f"{missing} of {len(ids)} checkouts have no final status"
        pending = await eventually(
            lambda: group_pending(cluster_redis, streams), until=lambda p: not any(p.values())
        )
        shares = {name: handled[id(runtime.uow)] for name, runtime in
                  (("first", first), ("second", second))}  # fmt: skip

    # Every checkout: exactly one final status (distinct events), the DB agreeing.
    finals = statuses.finals()
    assert Counter(len(finals.get(cid, [])) for cid in ids) == {1: len(ids)}
    rows = await order_rows(database)
    assert len(rows) == len(ids), "one order row per checkout, no duplicate"
    assert {cid for cid, _sku, _status in rows} == set(ids)
    assert all(finals[cid] == [status] for cid, _sku, status in rows)
    # Per SKU: confirmed == min(demand, stock), nothing oversold, nothing left reserved.
    confirmed = Counter(sku for _cid, sku, status in rows if status == "confirmed")
    for sku, available, reserved, sold in await stock_rows(database):
        assert sold == confirmed[sku] == min(demand[sku], STOCK[sku]), sku
        assert (sold + available, reserved) == (STOCK[sku], 0), sku
    assert any(demand[sku] > STOCK[sku] for sku in SKUS), "no SKU was oversubscribed"
    # Redis: nothing dead-lettered or pending; every partition got work, each SKU one.
    assert pending == dict.fromkeys(streams.checkout_streams, 0)
    dead = {s: await cluster_redis.xlen(Streams.dead_letters(s)) for s in streams.checkout_streams}
    assert dead == dict.fromkeys(streams.checkout_streams, 0)
    dead_letter_keys = set().union(*keys_by_master(cluster, f"{prefix}:*.dlq").values())
    assert {key: await cluster_redis.xlen(key) for key in dead_letter_keys} == dict.fromkeys(
        dead_letter_keys, 0
    ), "an entry was dead-lettered"
    partitions_of = await partitions_by_sku(cluster_redis, streams)
    assert sum(map(len, partitions_of.values())) == len(ids), "entries lost or doubled"
    assert {s for s, by_partition in partitions_of.items() if by_partition} == set(
        streams.checkout_streams
    ), "a partition received nothing"
    sku_streams = defaultdict(set)
    for stream, skus in partitions_of.items():
        for sku in skus:
            sku_streams[sku].add(stream)
    assert sku_streams == {sku: {streams.checkout_stream_for([sku])} for sku in demand}
    # Both replicas took a share of the burst.
    print(
        f"\n{len(ids)} checkouts on {database.kind}: published in {published:.1f}s, all "
        f"final in {elapsed:.1f}s; per replica {shares}; confirmed {sum(confirmed.values())}; "
        f"per partition {Counter({s: len(v) for s, v in partitions_of.items()})}"
    )
    assert all(shares.values()), shares
    assert sum(shares.values()) >= len(ids), shares


async def _ready(client: Redis) -> Redis:
    return client


def count_checkouts_handled(monkeypatch: pytest.MonkeyPatch) -> Counter[int]:
    """Checkouts each orders runtime placed (keyed by `id(runtime.uow)`): the real
    `place_orders` / `place_order` run, their calls are only counted."""
    handled: Counter[int] = Counter()

    async def counted_batch(**kwargs: Any) -> Any:
        outcome = await place_orders(**kwargs)
        handled[id(kwargs["uow"])] += len(kwargs["checkouts"])
        return outcome

    async def counted_one(**kwargs: Any) -> Any:
        outcome = await place_order(**kwargs)
        handled[id(kwargs["uow"])] += 1
        return outcome

    monkeypatch.setattr(orders_app, "place_orders", counted_batch)
    monkeypatch.setattr(orders_app, "place_order", counted_one)
    return handled


async def group_pending(client: Redis, streams: Streams) -> dict[str, int]:
    return {
        stream: int((await client.xpending(stream, GROUP_ORDERS))["pending"])
        for stream in streams.checkout_streams
    }


async def partitions_by_sku(client: Redis, streams: Streams) -> dict[str, list[str]]:
    """partition stream -> the sku of each of its entries (XRANGE, in stream order)."""
    found: dict[str, list[str]] = {}
    for stream in streams.checkout_streams:
        entries = cast(list[tuple[bytes, dict[bytes, bytes]]], await client.xrange(stream))
        found[stream] = [
            decode_entry(fields, CheckoutRequestedEvent).data.items[0].sku
            for _id, fields in entries
        ]
    return found


async def order_rows(database: Database) -> list[tuple[str, str, str]]:
    """(checkout id, sku, status) of every order (one line each here)."""
    return [
        (str(cid), str(sku), str(status))
        for cid, sku, status in await _query(
            database,
            "SELECT o.checkout_id, l.sku, o.status FROM orders o "
            "JOIN order_lines l ON l.order_id = o.order_id",
        )
    ]


async def stock_rows(database: Database) -> list[tuple[str, int, int, int]]:
    rows = await _query(database, "SELECT sku, available, reserved, sold FROM products")
    return [(str(sku), int(a), int(r), int(s)) for sku, a, r, s in rows]


async def _query(database: Database, sql: str) -> list[Any]:
    engine = make_engine(database.url, schema=database.schema)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(sql))).all())
    finally:
        await engine.dispose()


async def test_the_notifier_follows_and_resumes_a_buyers_order_on_the_cluster(
    cluster: RedisClusterNodes, cluster_redis: Redis, prefix: str, sqlite_database: Database
) -> None:
    cluster_settings = {"redis_cluster": True, "checkout_partitions": PARTITIONS}
    orders = orders_settings(sqlite_database, cluster.url, prefix, **cluster_settings)
    streams = orders.streams
    buyer = new_id("buyer")
    event = checkout_requested_event(
        CheckoutRequest(
            room_id="room-1", buyer_id=buyer, items=(RequestedItem(sku=SKUS[0], quantity=1),)
        ),
        checkout_id=new_event_id(),
    )
    publisher = StreamCheckoutPublisher(streams, client=lambda: _ready(cluster_redis))
    notifiers = Notifiers()
    try:
        notifier = await notifiers.start(notifier_settings(cluster.url, prefix, **cluster_settings))
        hub: StatusHub = notifier.app.state.statuses
        async with running_orders(orders, {SKUS[0]: 1}):
            async with aconnect_sse(notifier.client, "GET", ME, headers=bearer(buyer)) as source:
                events = browser_events(source)
                await wait_until(lambda: hub.connections() == 1, "the buyer is connected")
                await publisher.publish(event)
                live = await take(events, len(HAPPY_PATH))
            history = cast(
                list[tuple[bytes, Any]], await cluster_redis.xrange(streams.buyer_status(buyer))
            )
            # The buyer's browser reconnects to another replica, which has nothing of
            # theirs in memory: it resumes from their stream on the cluster.
            other = await notifiers.start(
                notifier_settings(cluster.url, prefix, **cluster_settings)
            )
            resume = {**bearer(buyer), "Last-Event-ID": live[0].id}
            async with aconnect_sse(other.client, "GET", ME, headers=resume) as source:
                resumed = await take(browser_events(source), len(HAPPY_PATH) - 1)
    finally:
        await notifiers.close()

    def statuses(sse: list[Any]) -> list[tuple[str, str, str]]:
        return [(e.id, json.loads(e.data)["checkout_id"], json.loads(e.data)["status"])
                for e in sse]  # fmt: skip

    checkout_id = event.data.checkout_id
    assert [(cid, s) for _id, cid, s in statuses(live)] == [
        (checkout_id, state.value) for state in HAPPY_PATH
    ]
    # Live and resumed events carry the ids of the buyer's own stream on the cluster.
    assert [e.id for e in live] == [entry_id.decode() for entry_id, _ in history]
    assert statuses(resumed) == statuses(live)[1:]
