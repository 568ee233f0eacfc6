"""`make bench`'s order part, tiny: the same-work baseline (tests/load/same_work.py) and the
orders service drain the same 200 checkouts and must leave identical results. No timing
is asserted: this keeps the ceiling honest (it does exactly livecart's writes), not fast."""

import uuid
from typing import Any

import asyncpg
import pytest
from redis.asyncio import Redis

from contracts import OrderStatusChangedEvent, Streams, decode_entry
from tests.load import bench
from tests.load.same_work import compare, run_same_work
from tests.support.flow import checkout, publish_checkouts

pytestmark = pytest.mark.slow


async def test_same_work_baseline_leaves_what_livecart_leaves(
    redis_url: str, postgres_dsn: str
) -> None:
    args = bench.parse(
        [
            "--parts", "order", "--events", "200", "--skus", "4", "--stock", "30",
            "--timeout", "60", "--redis-url", redis_url, "--dsn", postgres_dsn,
        ]
    )  # fmt: skip

    result: dict[str, Any] = await bench.order_path(args)

    assert result["problems"] == []
    assert result["identical"]
    assert (result["oversold"], result["lost"]) == (0, 0)
    seen = result["observed"]["same_work"]
    assert seen["orders"] == {"confirmed/-": 120, "rejected/out_of_stock": 80}
    assert seen["stock"] == {f"SKU-{i}": [0, 0, 30] for i in range(4)}
    assert seen["status_paths"] == {
        "received,rejected": 80,
        "received,reserved,paid,confirmed": 120,
    }
    assert seen["history_entries"] == seen["status_entries"] == 120 * 4 + 80 * 2
    assert result["observed"]["livecart"]["payload_bytes"].keys() == seen["payload_bytes"].keys()


def test_compare_names_every_difference() -> None:
    seen: dict[str, Any] = {
        "orders": {"confirmed/-": 2}, "order_lines": 2, "payments": {"captured": 2},
        "wallets": {"count": 2, "balance_total": 10}, "stock": {"S": [0, 0, 2]},
        "outbox": {"n": 8, "unsent": 0, "with_history": 8},
        "status_paths": {"received,reserved,paid,confirmed": 2}, "status_entries": 8,
        "history_entries": 8, "history_mismatched_buyers": 0, "buyers": 2,
        "payload_bytes": {"confirmed": 580.0}, "unacknowledged": 0,
    }  # fmt: skip
    assert compare(seen, dict(seen)) == []
    other = seen | {
        "wallets": {"count": 3, "balance_total": 10},
        "payload_bytes": {"confirmed": 700},
    }
    problems = compare(seen, other)
    assert len(problems) == 2
    assert problems[0].startswith("wallets")


async def test_same_work_statuses_are_livecart_contract_events(
    redis_url: str, postgres_dsn: str
) -> None:
    """Every status the baseline XADDs reads as livecart's own `order.status` event."""
    schema, streams = f"sw_{uuid.uuid4().hex[:8]}", Streams(f"sw-{uuid.uuid4().hex[:8]}")
    admin = await asyncpg.connect(postgres_dsn)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    redis = Redis.from_url(redis_url)
    try:
        await bench._seed_schema(postgres_dsn, schema, {"SKU-0": 1})
        items = [checkout(items=[("SKU-0", 1)]) for _ in range(3)] + [checkout(items=[("NOPE", 1)])]

        async def publish() -> None:
            await publish_checkouts(redis, streams.checkout_requested, items)

        run = await run_same_work(
            redis_url=redis_url, dsn=postgres_dsn, schema=schema, streams=streams,
            events=len(items), publish=publish, timeout=30, progress=lambda _: None,
        )  # fmt: skip
        assert run.finals == len(items)
        events = [
            decode_entry(fields, OrderStatusChangedEvent).data
            for _, fields in await redis.xrange(streams.order_status)
        ]
        by_checkout: dict[str, list[str]] = {}
        for event in events:
            by_checkout.setdefault(event.checkout_id, []).append(event.status.value)
        assert [by_checkout[c.checkout_id] for c in items] == [
            ["received", "reserved", "paid", "confirmed"],
            ["received", "rejected"],
            ["received", "rejected"],
            ["received", "rejected"],
        ]
        assert {e.reason for e in events if e.status.value == "rejected"} == {
            "out_of_stock",
            "invalid",
        }
    finally:
        await bench._drop_keys(redis, streams.prefix)
        await redis.aclose()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
