"""The same-work pipeline end to end (issue 14's yardstick of the whole stack's p99 at
100/s): the bare front door (tests/load/bare_accept.py, its own process, the storefront's
uvicorn settings) XADDs each tap's `checkout.requested` entry, the same-work order
pipeline (tests/load/same_work.py) places it with livecart's writes and XADDs its
statuses, and the bare SSE writer (tests/load/bare_sse.py, its own process) writes each
status to the buyer's stream. Taps are sent open-loop at `rate` per second by buyers
each holding one SSE stream; tap -> final is from sending the POST to reading the final
status on the buyer's stream, as tests/load/stack_load.py measures livecart.

The order pipeline runs in this process's event loop (light at 100/s); the load and the
SSE readers share it, as livecart's load generator shares the machine.
"""

import asyncio
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from redis.asyncio import Redis

from contracts import Streams
from infra.local.redis_server import free_port
from services.common.db import make_engine
from services.orders.seed import ProductStock, seed_products
from tests.load.accept import BareProcess, _env
from tests.load.same_work import SameWorkPipeline, connect
from tests.load.stack_stats import latency_ms
from tests.support.stack import ROOT

FINAL = {"confirmed", "rejected", "expired"}


async def _seed(dsn: str, schema: str, skus: list[str]) -> None:
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = make_engine(url, schema=schema)
    await seed_products(engine, [ProductStock(s, s, 1000, "EUR", 1_000_000) for s in skus])
    await engine.dispose()


async def _buyer_stream(
    http: aiohttp.ClientSession, url: str, finals: dict[str, float], opened: asyncio.Event
) -> None:
    async with http.get(url, timeout=aiohttp.ClientTimeout(total=None)) as answer:
        opened.set()
        async for line in answer.content:
            if line.startswith(b"data: "):
                data = json.loads(line[6:])
                if data.get("status") in FINAL:  # the first frame is a snapshot
                    finals.setdefault(data["checkout_id"], time.perf_counter())


async def measure_same_work_chain(
    *,
    redis_url: str,
    dsn: str,
    rate: float = 100.0,
    seconds: float = 5.0,
    buyers: int = 100,
    skus: int = 20,
    final_timeout: float = 30.0,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    """Tap -> final through bare front door + same-work pipeline + bare SSE writer."""
    prefix = f"bench-chain-{uuid.uuid4().hex[:8]}"
    streams = Streams(prefix)
    schema = f"bench_chain_{uuid.uuid4().hex[:8]}"
    sku_names = [f"LOAD-{i}" for i in range(skus)]
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    redis = Redis.from_url(redis_url)
    tmp = Path(tempfile.mkdtemp(prefix="livecart-chain-"))
    port = free_port()
    env = _env(redis_url, prefix, tmp, None, None, None) | {
        "BARE_ACCEPT_PORT": str(port),
        "BARE_ACCEPT_STREAM": streams.checkout_requested,
    }
    door = BareProcess("bare_accept", port, env, tmp / "bare.log")
    writer = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.load.bare_sse", redis_url, streams.catalog_changed,
        "10", streams.order_status, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    db = marker = None
    tasks: list[asyncio.Task[Any]] = []
    try:
        await _seed(dsn, schema, sku_names)
        db, marker = await connect(dsn, schema), await connect(dsn, schema)
        await redis.xgroup_create(streams.checkout_requested, "orders", id="0", mkstream=True)
        pipeline = SameWorkPipeline(redis, db, marker, streams)
        tasks.append(asyncio.create_task(pipeline.run()))
        door.start()
        await asyncio.to_thread(door.wait_ready, 60.0)
        assert writer.stdout is not None
        word, sse_port = (await writer.stdout.readline()).decode().split()
        assert word == "ready", word
        finals: dict[str, float] = {}
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            opened = [asyncio.Event() for _ in range(buyers)]
            names = [f"chain-buyer-{n}" for n in range(buyers)]
            tasks += [
                asyncio.create_task(
                    _buyer_stream(http, f"http://127.0.0.1:{sse_port}/buyers/{name}", finals, o)
                )
                for name, o in zip(names, opened, strict=True)
            ]
            await asyncio.wait_for(asyncio.gather(*(o.wait() for o in opened)), 30)
            progress(f"same-work chain: {buyers} buyer streams; {rate:g} taps/s, {seconds:g} s")
            sent: dict[str, float] = {}
            errors = 0
            taps = round(rate * seconds)
            door_url = f"{door.base_url}/api/checkouts"

            async def tap(n: int) -> None:
                nonlocal errors
                body = {"room_id": "demo", "items": [{"sku": sku_names[n % skus], "quantity": 1}]}
                started = time.perf_counter()
                try:
                    async with http.post(
                        door_url, json=body, headers={"X-Buyer": names[n % buyers]}
                    ) as answer:
                        reply = await answer.json()
                        if answer.status != 202:
                            errors += 1
                            return
                except aiohttp.ClientError:
                    errors += 1
                    return
                sent[reply["checkout_id"]] = started

            begin = time.perf_counter()
            inflight = []
            for n in range(taps):
                delay = begin + n / rate - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                inflight.append(asyncio.create_task(tap(n)))
            await asyncio.gather(*inflight)
            deadline = time.monotonic() + final_timeout
            while any(c not in finals for c in sent) and time.monotonic() < deadline:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        pipeline.stop()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        door.stop_soon()
        await asyncio.to_thread(door.terminate)
        if writer.returncode is None:
            writer.kill()
            await writer.wait()
        for conn in (db, marker):
            if conn is not None:
                await conn.close()
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        for start in range(0, len(keys), 1000):
            await redis.delete(*keys[start : start + 1000])
        await redis.aclose()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
    latencies = [finals[c] - t for c, t in sent.items() if c in finals]
    result = {
        "rate": rate,
        "seconds": seconds,
        "buyers": buyers,
        "taps": taps,
        "accepted": len(sent),
        "accept_errors": errors,
        "lost": sum(1 for c in sent if c not in finals),
        "tap_to_final_ms": latency_ms(latencies),
    }
    progress(f"same-work chain: {result}")
    return result
