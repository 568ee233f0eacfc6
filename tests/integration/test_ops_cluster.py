"""livecart-ops on a real three-node Redis Cluster with the ACL rendered for a Cluster on
every node and four checkout partitions spread over the nodes: the services' users work
with Cluster clients, and `streams`, `trace`, `dlq replay` and the ACL audit see every
partition and node; a wrong setting is told in one line."""

from collections.abc import Iterator

import pytest
from redis.asyncio import Redis

from contracts import GROUP_ORDERS, Streams
from services.common.streams.broker import redis_client
from services.ops.checks.acl import check_acl
from services.ops.checks.result import Outcome
from tests.integration.test_ops_support import (
    AclRedis,
    acl_redis_cluster,
    checkout_fields,
    ops,
    ops_json,
    partition_of,
    publish,
)
from tests.support.flow import checkout

PARTITIONS = 4
SKUS = ("SKU-A", "SKU-E", "SKU-B", "SKU-D")
"""One product per partition (CRC-32 mod 4: 0, 1, 2, 3)."""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AclRedis]:
    directory = tmp_path_factory.mktemp("redis-cluster")
    with acl_redis_cluster(directory, "lc-cluster", partitions=PARTITIONS) as running:
        yield running


def as_user(cluster: AclRedis, user: str) -> Redis:
    return redis_client(cluster.url_as(user), cluster=True)


def port_of(client: Redis, key: str) -> int:
    """The port of the node serving `key` (by the client's slot map)."""
    port: int = client.get_node_from_key(key).port  # type: ignore[attr-defined]
    return port


async def test_the_partitions_spread_over_the_nodes_and_ops_report_each_of_them(
    cluster: AclRedis,
) -> None:
    streams = cluster.streams
    assert [partition_of(streams, checkout(items=[(sku, 1)])) for sku in SKUS] == list(
        streams.checkout_streams
    )
    storefront, orders = as_user(cluster, "storefront"), as_user(cluster, "orders")
    try:
        await orders.ping()  # learns the slot map
        nodes = {port_of(orders, key) for key in streams.checkout_streams}
        assert len(nodes) >= 2, "four hash tags, three nodes: not all on one"
        for n, sku in enumerate(SKUS):
            await publish(storefront, streams, [checkout(items=[(sku, 1)]) for _ in range(n + 1)])
        for key in streams.checkout_streams:
            await orders.xgroup_create(key, GROUP_ORDERS, id="0")
            await orders.xreadgroup(GROUP_ORDERS, "orders-1", {key: ">"}, count=1)
        for buyer in ("b-1", "b-2", "b-3", "b-4", "b-5"):  # hash tags of their own: many nodes
            await orders.xadd(streams.buyer_status(buyer), {"__data__": "{}"})
    finally:
        await storefront.aclose()
        await orders.aclose()

    report = ops_json(await ops(*cluster.ops_args(), "streams", "--json"))

    by_name = {s["name"]: s for s in report["streams"]}
    lengths = [by_name[f"checkout.requested.{k}"]["length"] for k in range(PARTITIONS)]
    assert lengths == [1, 2, 3, 4]
    lags = [by_name[f"checkout.requested.{k}"]["groups"][0]["lag"] for k in range(PARTITIONS)]
    assert lags == [0, 1, 2, 3]
    assert report["buyer_history"] == {"streams": 5, "entries": 5}, "SCAN of every primary"
    assert report["other_streams"] == {}


async def test_trace_and_a_dlq_replay_work_across_the_nodes(cluster: AclRedis) -> None:
    streams = cluster.streams
    item = checkout(items=[("SKU-D", 1)])
    key = partition_of(streams, item)
    storefront, orders = as_user(cluster, "storefront"), as_user(cluster, "orders")
    admin = redis_client(cluster.admin_url, cluster=True)
    try:
        (entry_id,) = await publish(storefront, streams, [item])
        original = checkout_fields(item)
        letter = {**original, "dlq.reason": "handler_error", "dlq.stream": key}
        await orders.xadd(Streams.dead_letters(key), letter)  # type: ignore[arg-type]
        status: dict[str | bytes, str | bytes] = {"__data__": original["__data__"]}
        await orders.xadd(streams.order_status, status)  # type: ignore[arg-type]
        await orders.xadd(streams.buyer_status(item.buyer_id), status)  # type: ignore[arg-type]

        trace = ops_json(await ops(*cluster.ops_args(), "trace", item.checkout_id, "--json"))
        replayed = await ops(*cluster.ops_args(), "dlq", "replay", "--yes")

        assert {(h["step"], h["stream"]) for h in trace["hops"]} == {
            ("tap", "checkout.requested.3"),
            ("accepted", "checkout.requested.3"),
            ("dead-lettered", "checkout.requested.3.dlq"),
            ("status", "order.status"),
        }
        assert trace["history_copies"] == 1
        assert "Replayed 1 dead letter into" in replayed.stdout, replayed.output
        entries: list[tuple[bytes, dict[bytes, bytes]]] = await admin.xrange(  # type: ignore[assignment]
            key, min=f"({entry_id}"
        )
        assert [{k.decode(): v.decode() for k, v in e[1].items()} for e in entries] == [original]
        assert await admin.xlen(Streams.dead_letters(key)) == 0
    finally:
        for client in (storefront, orders, admin):
            await client.aclose()


async def test_the_audits_acl_check_passes_on_the_cluster(cluster: AclRedis) -> None:
    ops_client = as_user(cluster, "ops")
    try:
        result = await check_acl(
            ops=ops_client,
            redis_url=cluster.url_as("ops"),
            streams=cluster.streams,
            passwords=cluster.passwords,
            cluster=True,
        )
    finally:
        await ops_client.aclose()

    assert result.outcome is Outcome.PASSED, result.problems
    assert result.evidence[0].startswith("Redis Cluster node redis://127.0.0.1:")
    assert "4 checkout partitions" in result.evidence[0]


async def test_wrong_settings_are_told_in_one_line(cluster: AclRedis, redis_url: str) -> None:
    wrong_password = cluster.server.url_for("ops", "wrong-password")
    node = cluster.ops_args()

    refused = await ops("--redis-url", wrong_password, "--redis-cluster", "streams")
    not_a_cluster = await ops("--redis-url", redis_url, "--redis-cluster", "streams")
    not_told = await ops(*[a for a in node if a != "--redis-cluster"], "streams")

    assert refused.exit_code == 2
    assert "refused to sign in" in refused.stderr
    assert "wrong-password" not in refused.output
    assert not_a_cluster.exit_code == 2
    assert "is it a Cluster node?" in " ".join(not_a_cluster.stderr.split())
    assert not_told.exit_code == 2
    assert "it is a Redis Cluster, give --redis-cluster" in " ".join(not_told.stderr.split())
    for result in (refused, not_a_cluster, not_told):
        assert "Traceback" not in result.output
