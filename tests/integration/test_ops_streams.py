"""`livecart-ops streams` against real streams: lengths, groups, pending, dead letters."""

import json
from typing import Any

from redis.asyncio import Redis

from contracts import GROUP_ORDERS, Streams
from services.common.dead_letters import dead_letter
from tests.integration.test_ops_support import new_checkouts, ops, ops_json, publish


async def busy_streams(client: Redis, streams: Streams) -> None:
    """Three checkouts: one processed, one pending (delivered twice), one not yet read,
    one dead-lettered; two buyers' history streams; one status."""
    items = new_checkouts(4)
    key = streams.checkout_requested
    await publish(client, streams, items)
    await client.xgroup_create(key, GROUP_ORDERS, id="0")
    delivered: Any = await client.xreadgroup(GROUP_ORDERS, "orders-a", {key: ">"}, count=3)
    (first, _), _, (third, third_fields) = delivered[0][1]
    await client.xack(key, GROUP_ORDERS, first)
    await client.xreadgroup(GROUP_ORDERS, "orders-a", {key: "0"}, count=1)  # redelivers `second`
    await dead_letter(
        client,
        stream=key,
        entry_id=third,
        fields=third_fields,
        group=GROUP_ORDERS,
        consumer="orders-a",
        reason="handler_error",
        error="boom",
        deliveries=5,
    )
    await client.xadd(streams.order_status, {"__data__": "{}"})
    for buyer, entries in (("b1", 2), ("b2", 3)):
        for _ in range(entries):
            await client.xadd(streams.buyer_status(buyer), {"__data__": "{}"})


async def test_streams_json_reports_lengths_groups_pending_lag_and_dead_letters(
    redis_client: Redis, redis_url: str, stream_prefix: str
) -> None:
    streams = Streams(stream_prefix)
    await busy_streams(redis_client, streams)

    report = ops_json(
        await ops("--redis-url", redis_url, "--prefix", stream_prefix, "streams", "--json")
    )

    by_name = {s["name"]: s for s in report["streams"]}
    checkouts = by_name["checkout.requested"]
    assert (checkouts["length"], checkouts["entries_added"]) == (4, 4)
    assert checkouts["first_entry_at"] <= checkouts["last_entry_at"]
    (group,) = checkouts["groups"]
    assert group["name"] == GROUP_ORDERS
    assert (group["pending"], group["lag"], group["max_deliveries"]) == (1, 1, 2)
    assert group["oldest_pending_age_ms"] >= 0
    assert [(c["name"], c["pending"]) for c in group["consumer_list"]] == [("orders-a", 1)]
    assert group["consumer_list"][0]["idle_ms"] >= 0
    assert by_name["checkout.requested.dlq"]["length"] == 1
    assert report["dead_letters"] == {
        "checkout.requested": 1,
        "order.status": 0,
        "catalog.changed": 0,
        "room.sales": 0,
    }
    assert by_name["order.status"]["length"] == 1
    assert by_name["catalog.changed"]["exists"] is False
    assert report["buyer_history"] == {"streams": 2, "entries": 5}


async def test_streams_prints_every_stream_its_groups_and_consumers(
    redis_client: Redis, redis_url: str, stream_prefix: str
) -> None:
    await busy_streams(redis_client, Streams(stream_prefix))

    result = await ops("--redis-url", redis_url, "--prefix", stream_prefix, "streams")

    assert result.exit_code == 0, result.output
    for name in ("checkout.requested", "checkout.requested.dlq", "order.status", "room.sales"):
        assert name in result.stdout
    assert "Group 'orders' on checkout.requested: 1 consumers, pending 1, lag 1" in result.stdout
    assert "orders-a" in result.stdout
    assert "Dead letters: 1 in all" in result.stdout
    assert "Buyer history: 2 streams, 5 entries in all" in result.stdout


async def test_streams_watch_refreshes_as_often_as_asked_and_sees_new_entries(
    redis_client: Redis, redis_url: str, stream_prefix: str
) -> None:
    streams = Streams(stream_prefix)
    await publish(redis_client, streams, new_checkouts(1))
    args = ("--redis-url", redis_url, "--prefix", stream_prefix, "streams", "--watch")

    lines = await ops(*args, "--json", "--interval", "0.1", "--count", "3")
    table = await ops(*args, "--interval", "0.1", "--count", "2")

    assert lines.exit_code == 0, lines.output
    documents = [json.loads(line) for line in lines.stdout.splitlines()]
    assert len(documents) == 3
    assert all(d["streams"][0]["length"] == 1 for d in documents)
    assert table.exit_code == 0, table.output
    assert "checkout.requested" in table.stdout
    assert "Ctrl-C to stop" in table.stdout
