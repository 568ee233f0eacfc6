"""`livecart-ops trace`: one checkout's timeline across the streams and its rows in the
orders DB, from a checkout the orders service really processed, and across checkout
partitions and their dead letters."""

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from contracts import (
    CancellationRequested,
    CancellationRequestedEvent,
    CheckoutRequested,
    Streams,
    encode_entry,
)
from services.orders.adapters.payments import WalletBehaviour
from tests.conftest import Database
from tests.integration.test_ops_support import (
    checkout_fields,
    ops,
    ops_json,
    partition_of,
    publish,
)
from tests.support.flow import checkout, final_statuses
from tests.support.orders import orders_settings, running_orders


@dataclass(frozen=True)
class Served:
    args: list[str]
    confirmed: CheckoutRequested
    declined: CheckoutRequested


@pytest.fixture
async def served(
    redis_client: Redis, redis_url: str, sqlite_database: Database, stream_prefix: str
) -> Served:
    """Two checkouts through the orders service: one confirmed, one declined."""
    confirmed, declined = checkout(items=[("SKU-A", 2)]), checkout(items=[("SKU-A", 1)])
    settings_ = orders_settings(sqlite_database, redis_url, stream_prefix)
    async with running_orders(settings_, {"SKU-A": 10}) as orders:
        await orders.gateway.set_wallet(declined.buyer_id, behaviour=WalletBehaviour.DECLINE)
        await publish(redis_client, orders.settings.streams, [confirmed, declined])
        await final_statuses(
            redis_client,
            orders.settings.streams.order_status,
            [confirmed.checkout_id, declined.checkout_id],
        )
    args = ["--redis-url", redis_url, "--prefix", stream_prefix, "--orders-db", sqlite_database.url]
    return Served(args, confirmed, declined)


async def test_trace_json_lists_every_hop_in_order_with_latencies_and_the_order_rows(
    served: Served,
) -> None:
    trace = ops_json(await ops(*served.args, "trace", served.confirmed.checkout_id, "--json"))

    hops = trace["hops"]
    assert [(h["step"], h["what"]) for h in hops] == [
        ("tap", "buyer tapped buy"),
        ("accepted", "checkout accepted"),
        ("status", "received"),
        ("status", "reserved"),
        ("status", "paid"),
        ("status", "confirmed"),
    ]
    assert hops[0]["since_previous_ms"] is None
    assert all(h["since_previous_ms"] >= 0 for h in hops[1:])
    assert all(h["in_buyer_history"] for h in hops if h["step"] == "status")
    assert trace["history_copies"] == 4
    assert trace["buyer_id"] == served.confirmed.buyer_id
    assert trace["tap_to_last_ms"] >= 0
    order = trace["order"]
    assert order["order"]["status"] == "confirmed"
    assert order["order"]["total_minor"] == 2000
    assert [(line["sku"], line["quantity"]) for line in order["lines"]] == [("SKU-A", 2)]
    assert (order["payment"]["outcome"], order["payment"]["amount_minor"]) == ("captured", 2000)
    assert trace["orders_db_error"] is None


async def test_trace_prints_a_timeline_and_the_rows_of_a_declined_checkout(
    served: Served,
) -> None:
    result = await ops(*served.args, "trace", served.declined.checkout_id)

    assert result.exit_code == 0, result.output
    for text in (
        "buyer tapped buy",
        "checkout accepted",
        "received",
        "reserved",
        "rejected (payment_failed)",
        "declined",
        "history ✓",
        "Orders DB (read-only)",
    ):
        assert text in result.stdout, text
    assert "confirmed" not in result.stdout


async def test_trace_still_shows_the_streams_when_the_orders_db_cannot_be_read(
    served: Served, tmp_path: object
) -> None:
    args = [*served.args[:-1], "sqlite+aiosqlite:////nonexistent/orders.db"]
    trace = ops_json(await ops(*args, "trace", served.confirmed.checkout_id, "--json"))

    assert len(trace["hops"]) == 6
    assert "no database file at /nonexistent/orders.db" in trace["orders_db_error"]


async def test_trace_of_an_unknown_checkout_says_nothing_was_found_and_exits_1(
    served: Served,
) -> None:
    result = await ops(*served.args, "trace", "co-never-seen")

    assert result.exit_code == 1
    assert "No event and no order for checkout co-never-seen" in result.stdout


TICK = 0.005


def status_fields(item: CheckoutRequested, status: str, n: int, **v2: str) -> dict[str, str]:
    data = {"checkout_id": item.checkout_id, "buyer_id": item.buyer_id, "status": status}
    envelope = {
        "event_id": f"ev-{item.checkout_id}-{n}",
        "type": "order.status_changed",
        "version": 2 if v2 else 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "correlation_id": item.checkout_id,
        "producer": "orders",
        "data": data | v2,
    }
    return {"__data__": json.dumps(envelope)}


async def test_trace_finds_a_checkout_in_its_partition_and_that_partitions_dlq(
    redis_client: Redis, redis_url: str, stream_prefix: str
) -> None:
    """Two partitions, no orders service: the checkout, dead-lettered then replayed in
    partition 1, and its statuses, as the services would have written them."""
    streams = Streams(stream_prefix, 2)
    traced = checkout(items=[("SKU-D", 1)])
    other = checkout(items=[("SKU-A", 1)], buyer_id=traced.buyer_id)
    partition = partition_of(streams, traced)
    assert partition == streams.checkout_streams[1]
    assert partition_of(streams, other) == streams.checkout_streams[0]
    (entry_id,) = await publish(redis_client, streams, [traced])
    await publish(redis_client, streams, [other])
    letter = {**checkout_fields(traced), "dlq.reason": "handler_error", "dlq.deliveries": "5"}
    letter |= {"dlq.stream": partition, "dlq.entry_id": entry_id, "dlq.error": "boom"}
    await asyncio.sleep(TICK)  # each hop in its own millisecond: the timeline's order is sure
    await redis_client.xadd(Streams.dead_letters(partition), letter)  # type: ignore[arg-type]
    await asyncio.sleep(TICK)
    await redis_client.xadd(partition, checkout_fields(traced))  # type: ignore[arg-type]  # replayed
    for n, status in enumerate(("received", "reserved"), 1):
        await asyncio.sleep(TICK)
        fields = status_fields(traced, status, n)
        await redis_client.xadd(streams.order_status, fields)  # type: ignore[arg-type]
        await redis_client.xadd(streams.buyer_status(traced.buyer_id), fields)  # type: ignore[arg-type]
    args = ["--redis-url", redis_url, "--prefix", stream_prefix, "--checkout-partitions", "2"]

    trace = ops_json(await ops(*args, "trace", traced.checkout_id, "--json"))
    wrong_n = ops_json(await ops(*args[:-1], "1", "trace", traced.checkout_id, "--json"))

    assert [(h["step"], h["what"], h["stream"]) for h in trace["hops"]] == [
        ("tap", "buyer tapped buy", "checkout.requested.1"),
        ("accepted", "checkout accepted", "checkout.requested.1"),
        ("dead-lettered", "handler_error", "checkout.requested.1.dlq"),
        ("accepted", "checkout added again (#2: replay)", "checkout.requested.1"),
        ("status", "received", "order.status"),
        ("status", "reserved", "order.status"),
    ]
    assert trace["hops"][2]["detail"] == "after 5 deliveries: boom"
    assert trace["history_copies"] == 2
    assert trace["buyer_id"] == traced.buyer_id
    # Told one partition, ops still find the checkout in the partitions Redis holds.
    assert [h["stream"] for h in wrong_n["hops"]] == [h["stream"] for h in trace["hops"]]


async def test_trace_shows_the_buyers_cancel_request_and_the_statuses_after_the_sale(
    redis_client: Redis, redis_url: str, stream_prefix: str
) -> None:
    """A confirmed checkout the buyer asked to cancel from the room: the request failed
    once (dead-lettered), was replayed, and the order was cancelled and refunded."""
    streams = Streams(stream_prefix)
    traced = checkout(items=[("SKU-A", 1)])
    await publish(redis_client, streams, [traced])
    for n, status in enumerate(("received", "reserved", "paid", "confirmed"), 1):
        await asyncio.sleep(TICK)
        await redis_client.xadd(streams.order_status, status_fields(traced, status, n))  # type: ignore[arg-type]
    request = CancellationRequestedEvent.new(
        correlation_id=traced.checkout_id,
        producer="storefront",
        data=CancellationRequested(checkout_id=traced.checkout_id, buyer_id=traced.buyer_id),
    )
    fields = encode_entry(request)
    await asyncio.sleep(TICK)
    await redis_client.xadd(streams.cancellations, fields)  # type: ignore[arg-type]
    letter = {**fields, "dlq.reason": "handler_error", "dlq.deliveries": "3", "dlq.error": "x"}
    await asyncio.sleep(TICK)
    await redis_client.xadd(Streams.dead_letters(streams.cancellations), letter)  # type: ignore[arg-type]
    for n, status in enumerate(("cancelled", "refunded"), 5):
        await asyncio.sleep(TICK)
        fields = status_fields(traced, status, n, seller_id="demo-seller")
        await redis_client.xadd(streams.order_status, fields)  # type: ignore[arg-type]
    args = ["--redis-url", redis_url, "--prefix", stream_prefix]

    trace = ops_json(await ops(*args, "trace", traced.checkout_id, "--json"))

    assert [(h["step"], h["what"], h["stream"]) for h in trace["hops"]][4:] == [
        ("status", "paid", "order.status"),
        ("status", "confirmed", "order.status"),
        ("cancel-requested", "buyer asked to cancel", "order.cancellation_requested"),
        ("dead-lettered", "handler_error", "order.cancellation_requested.dlq"),
        ("status", "cancelled", "order.status"),
        ("status", "refunded", "order.status"),
    ]
    assert trace["hops"][6]["detail"] == "producer storefront"


async def test_trace_shows_the_tracking_reference_of_a_shipped_order(
    redis_client: Redis, redis_url: str, stream_prefix: str
) -> None:
    streams = Streams(stream_prefix)
    traced = checkout(items=[("SKU-A", 1)])
    await publish(redis_client, streams, [traced])
    await asyncio.sleep(TICK)
    fields = status_fields(traced, "shipped", 5, tracking_ref="TRACK-123")
    await redis_client.xadd(streams.order_status, fields)  # type: ignore[arg-type]

    trace = ops_json(
        await ops("--redis-url", redis_url, "--prefix", stream_prefix, "trace",
                  traced.checkout_id, "--json")
    )  # fmt: skip

    shipped = trace["hops"][-1]
    assert (shipped["what"], shipped["stream"]) == ("shipped", "order.status")
    assert shipped["detail"].endswith("; tracking TRACK-123")
