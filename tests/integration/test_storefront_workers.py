"""The storefront served by several uvicorn workers: one port, metrics added up across
workers, a clean exit on SIGTERM. Runs the real process against real Redis."""

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from infra.local.redis_server import free_port
from services.storefront.seed import seed_demo
from tests.support import demo
from tests.support.stack import ServiceProcess, service_env

pytestmark = pytest.mark.slow

WORKERS = 2
CHECKOUTS = 40
ACCEPTED = re.compile(r'^livecart_checkouts_total\{outcome="accepted",reason=""\} (\S+)$', re.M)


async def seeded(env: dict[str, str]) -> None:
    await seed_demo(env["STOREFRONT_DATABASE_URL"])


async def accepted_on_metrics(base_url: str) -> float:
    # A new connection each time, so the answers come from whichever worker accepts it.
    async with httpx.AsyncClient(base_url=base_url) as client:
        text = (await client.get("/metrics/")).text
    found = ACCEPTED.search(text)
    return float(found.group(1)) if found else 0.0


async def test_workers_share_the_port_and_metrics_add_up_across_them(
    redis_url: str, stream_prefix: str, tmp_path: Path
) -> None:
    port = free_port()
    env = service_env(
        redis_url=redis_url,
        stream_prefix=stream_prefix,
        workdir=tmp_path,
        STOREFRONT_PORT=str(port),
        STOREFRONT_WORKERS=str(WORKERS),
    )
    await seeded(env)
    storefront = ServiceProcess("storefront", port, env, tmp_path / "storefront.log").start()
    try:
        await asyncio.to_thread(storefront.wait_ready, 60.0)
        limits = httpx.Limits(max_keepalive_connections=0)  # each request its own connection
        async with httpx.AsyncClient(base_url=storefront.base_url, limits=limits) as client:
            token = (await client.post("/api/sessions")).json()["token"]
            body = {"room_id": demo.DEMO_ROOM_ID, "items": [{"sku": "LC-MUG-LIVE", "quantity": 1}]}
            answers = await asyncio.gather(
                *(
                    client.post(
                        "/api/checkouts", json=body, headers={"Authorization": f"Bearer {token}"}
                    )
                    for _ in range(CHECKOUTS)
                )
            )
        assert [a.status_code for a in answers] == [202] * CHECKOUTS
        seen = [await accepted_on_metrics(storefront.base_url) for _ in range(8)]
        assert seen == [CHECKOUTS] * 8
    finally:
        exit_code = await asyncio.to_thread(storefront.terminate)
    assert exit_code == 0
