"""The orders service's /metrics after real checkouts: transitions, outbox, group gauges."""

import httpx
from prometheus_client import REGISTRY
from redis.asyncio import Redis

from services.orders.entrypoints.app import create_app
from tests.conftest import Database
from tests.support.flow import checkout, eventually, final_statuses, publish_checkouts
from tests.support.orders import orders_settings, running_orders


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_metrics_count_transitions_and_sample_the_group_and_outbox(
    sqlite_database: Database, redis_url: str, stream_prefix: str, redis_client: Redis
) -> None:
    settings = orders_settings(
        sqlite_database, redis_url, stream_prefix, metrics_sample_seconds=0.1
    )
    before = sample("livecart_order_transitions_total", status="confirmed", reason="")
    rejected_before = sample(
        "livecart_order_transitions_total", status="rejected", reason="out_of_stock"
    )
    items = [checkout(items=[("SKU-A", 1)]) for _ in range(3)]
    async with running_orders(settings, {"SKU-A": 2}) as orders:
        streams = orders.settings.streams
        await publish_checkouts(redis_client, streams.checkout_requested, items)
        await final_statuses(redis_client, streams.order_status, [i.checkout_id for i in items])
        stream = streams.checkout_requested
        await eventually(
            lambda: _async(sample("livecart_stream_length", stream=stream)),
            until=lambda n: n == 3,
        )
        # Sampled every upkeep round: the acks follow the statuses by a moment.
        await eventually(
            lambda: _async(sample("livecart_group_pending", stream=stream, group="orders")),
            until=lambda n: n == 0,
        )
        app = create_app(settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://o") as c:
            text = (await c.get("/metrics/")).text

    assert sample("livecart_order_transitions_total", status="confirmed", reason="") == before + 2
    assert (
        sample("livecart_order_transitions_total", status="rejected", reason="out_of_stock")
        == rejected_before + 1
    )
    assert "livecart_outbox_backlog" in text
    assert "faststream_received_messages_total" in text  # FastStream's own middleware metrics


async def _async(value: float) -> float:
    return value
