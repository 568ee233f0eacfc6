"""`livecart-ops streams` against real streams: lengths, groups, pending, dead letters."""

import json
from typing import Any

from redis.asyncio import Redis

from contracts import GROUP_ORDERS, Streams
from services.common.streams.dead_letters import dead_letter
from tests.integration.test_ops_support import (
    new_checkouts,
    ops,
    ops_json,
    partition_of,
    publish,
)
from tests.support.flow import checkout


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
        "flash_deal.requested": 0,
        "order.cancellation_requested": 0,
    }, "the streams read without a group have no DLQ"
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


async def test_streams_report_each_checkout_partition_its_lag_and_partitions_left_over(
    redis_client: Redis, redis_url: str, stream_prefix: str
) -> None:
    """Two partitions, each with its own group position; a partition of a former single
    stream setting still holding an unread checkout; an untagged key of the prefix."""
    streams = Streams(stream_prefix, 2)
    a = partition_of(streams, checkout(items=[("SKU-A", 1)]))
    b = partition_of(streams, checkout(items=[("SKU-D", 1)]))
    assert {a, b} == set(streams.checkout_streams), "SKU-A and SKU-D: different partitions"
    await publish(redis_client, streams, new_checkouts(6, items=[("SKU-A", 1)]))
    await publish(redis_client, streams, new_checkouts(3, items=[("SKU-D", 1)]))
    for key in streams.checkout_streams:
        await redis_client.xgroup_create(key, GROUP_ORDERS, id="0")
    await redis_client.xreadgroup(GROUP_ORDERS, "orders-a", {a: ">"}, count=2)  # 2 pending, lag 4
    single = Streams(stream_prefix).checkout_requested  # from when there was one partition
    await publish(redis_client, Streams(stream_prefix), new_checkouts(1))
    await redis_client.xadd(f"{stream_prefix}:checkout.requested", {"__data__": "{}"})

    args = ("--redis-url", redis_url, "--prefix", stream_prefix, "--checkout-partitions", "2")
    report = ops_json(await ops(*args, "streams", "--json"))
    printed = await ops(*args, "streams")

    by_key = {s["key"]: s for s in report["streams"]}
    assert [s["name"] for s in report["streams"] if not s["is_dead_letters"]] == [
        "checkout.requested.0",
        "checkout.requested.1",
        "checkout.requested",
        "order.status",
        "catalog.changed",
        "room.sales",
        "flash_deal.requested",
        "order.cancellation_requested",
        "room.changed",
    ]
    ((group_a,), (group_b,)) = by_key[a]["groups"], by_key[b]["groups"]
    assert (by_key[a]["length"], group_a["pending"], group_a["lag"]) == (6, 2, 4)
    assert (by_key[b]["length"], group_b["pending"], group_b["lag"]) == (3, 0, 3)
    assert by_key[single]["configured"] is False
    assert by_key[single]["length"] == 1
    assert all(by_key[key]["configured"] for key in streams.checkout_streams)
    assert report["checkout_partitions"] == 2
    assert report["other_streams"] == {f"{stream_prefix}:checkout.requested": 1}
    assert set(report["dead_letters"]) >= {"checkout.requested.0", "checkout.requested.1"}
    assert printed.exit_code == 0, printed.output
    out = printed.stdout
    assert "Checkouts over 3 partitions: 10 entries, lag 7 and pending 2 in all groups" in out
    assert "Group 'orders' on checkout.requested" in out
    assert "Checkouts no replica reads, in partitions beyond the 2 configured:" in out
    assert f"{stream_prefix}:checkout.requested (1)" in out


async def test_streams_report_the_sellers_streams_with_the_orders_groups_lag_and_dead_letters(
    redis_client: Redis, redis_url: str, stream_prefix: str
) -> None:
    """Three flash deals, one read and not acknowledged, one dead-lettered; a cancel request
    nobody read yet; a room change (no group, so no DLQ); a DLQ of a stream read without a
    group, which nothing should have written, is shown all the same."""
    streams = Streams(stream_prefix)
    deals = [await redis_client.xadd(streams.flash_deals, {"__data__": "{}"}) for _ in range(3)]
    await redis_client.xadd(streams.cancellations, {"__data__": "{}"})
    await redis_client.xadd(streams.room_changed, {"__data__": "{}"})
    for key in streams.live_requests:
        await redis_client.xgroup_create(key, GROUP_ORDERS, id="0")
    await redis_client.xreadgroup(GROUP_ORDERS, "orders-a", {streams.flash_deals: ">"}, count=2)
    await dead_letter(
        redis_client, stream=streams.flash_deals, entry_id=deals[1],
        fields={b"__data__": b"{}"}, group=GROUP_ORDERS, consumer="orders-a",
        reason="not_the_sellers_product", error="sku of another seller", deliveries=1,
    )  # fmt: skip
    await redis_client.xadd(Streams.dead_letters(streams.room_sales), {"__data__": "{}"})
    args = ("--redis-url", redis_url, "--prefix", stream_prefix)

    report = ops_json(await ops(*args, "streams", "--json"))
    printed = await ops(*args, "streams")

    by_name = {s["name"]: s for s in report["streams"]}
    (deal_group,) = by_name["flash_deal.requested"]["groups"]
    assert (deal_group["pending"], deal_group["lag"]) == (1, 1)
    (cancel_group,) = by_name["order.cancellation_requested"]["groups"]
    assert (cancel_group["pending"], cancel_group["lag"]) == (0, 1)
    assert (by_name["room.changed"]["length"], by_name["room.changed"]["groups"]) == (1, [])
    assert "room.changed.dlq" not in by_name
    assert report["dead_letters"] == {
        "checkout.requested": 0,
        "room.sales": 1,
        "flash_deal.requested": 1,
        "order.cancellation_requested": 0,
    }
    assert printed.exit_code == 0, printed.output
    out = printed.stdout
    assert "Group 'orders' on flash_deal.requested: 1 consumers, pending 1, lag 1" in out
    assert "Group 'orders' on order.cancellation_requested: 0 consumers, pending 0, lag 1" in out
    assert "Dead letters: 2 in all" in out
