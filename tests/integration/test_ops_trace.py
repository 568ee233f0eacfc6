"""`livecart-ops trace`: one checkout's timeline across the streams and its rows in the
orders DB, from a checkout the orders service really processed."""

from dataclasses import dataclass

import pytest
from redis.asyncio import Redis

from contracts import CheckoutRequested
from services.orders.adapters.payments import WalletBehaviour
from tests.conftest import Database
from tests.integration.test_ops_support import ops, ops_json, publish
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
