"""A small flash sale through the whole stack over HTTP: 2,000 taps on 100 units of one
product. Correctness only (nothing oversold, nothing lost); speed is `make bench`'s job."""

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from contracts import Streams
from services.common.db import make_engine
from tests.support.demo import DEMO_PRODUCTS
from tests.support.flow import final_statuses
from tests.support.stack import ServiceProcess, running_stack, service_env

pytestmark = pytest.mark.slow

TAPS, UNITS, BUYERS, CONCURRENCY = 2_000, 100, 50, 32
HOODIE = DEMO_PRODUCTS[0]


@pytest.fixture
def flash_sale(
    redis_url: str, stream_prefix: str, tmp_path: Path
) -> Iterator[tuple[dict[str, ServiceProcess], dict[str, str]]]:
    env = service_env(redis_url=redis_url, stream_prefix=stream_prefix, workdir=tmp_path)
    with running_stack(env, tmp_path, stock={HOODIE.sku: UNITS}) as services:
        yield services, env


async def tap_all(base_url: str) -> list[tuple[int, str | None]]:
    """Every tap as (HTTP status, checkout id if accepted), from 50 buyers at once."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        tokens = [(await client.post("/api/sessions")).json()["token"] for _ in range(BUYERS)]
        gate = asyncio.Semaphore(CONCURRENCY)

        async def tap(n: int) -> tuple[int, str | None]:
            body = {"room_id": "demo", "items": [{"sku": HOODIE.sku, "quantity": 1}],
                    "idempotency_key": uuid.uuid4().hex}  # fmt: skip
            headers = {"Authorization": f"Bearer {tokens[n % BUYERS]}"}
            async with gate:
                answer = await client.post("/api/checkouts", json=body, headers=headers)
            return answer.status_code, answer.json().get("checkout_id")

        return list(await asyncio.gather(*(tap(n) for n in range(TAPS))))


async def test_a_flash_sale_of_2000_taps_on_100_units_sells_exactly_100_and_loses_nothing(
    flash_sale: tuple[dict[str, ServiceProcess], dict[str, str]], redis_client: Redis
) -> None:
    services, env = flash_sale
    taps = await tap_all(services["storefront"].base_url)
    accepted = [cid for status, cid in taps if status == 202 and cid]
    assert Counter(status for status, _ in taps) == {202: TAPS}

    streams = Streams(env["LIVECART_STREAM_PREFIX"])
    found = await final_statuses(redis_client, streams.order_status, accepted, timeout=120)
    finals = Counter(
        (s[-1].status.value, s[-1].reason.value if s[-1].reason else None)
        for cid, s in found.items()
        if cid in set(accepted)
    )
    engine = make_engine(env["ORDERS_DATABASE_URL"])
    try:
        async with engine.connect() as conn:
            row = (
                await conn.execute(
                    text("SELECT available, reserved, sold FROM products WHERE sku = :sku"),
                    {"sku": HOODIE.sku},
                )
            ).one()
            orders = await conn.scalar(text("SELECT count(*) FROM orders"))
    finally:
        await engine.dispose()

    assert finals == {("confirmed", None): UNITS, ("rejected", "out_of_stock"): TAPS - UNITS}
    assert tuple(row) == (0, 0, UNITS)  # not one unit oversold
    assert orders == TAPS  # every accepted tap is exactly one order: nothing lost, nothing doubled
