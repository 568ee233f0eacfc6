"""Memory per SSE connection under idle and slow clients: one notifier process against a
bare uvloop SSE writer (tests/load/bare_sse.py), both measured in the same run.

For each server: its RSS at rest, after `idle` room connections that read but are sent
nothing but pings and viewer counts (they watch a sku that does not change), after
`slow` connections that take their snapshot and then stop reading with a tiny receive
buffer (tests/load/fanout_client.py `slow`), and at its peak while the room's stock of
100 skus changes ten times a second: the slow clients' buffers fill, their writes wait,
and past the send timeout they are dropped. Then how many were dropped (the notifier's
`livecart_sse_dropped_total`), and whether every idle one stayed.

    python -m tests.load.sse_memory --idle 10000 --slow 1000
"""

import argparse
import asyncio
import functools
import json
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from redis.asyncio import Redis

from contracts import (
    CatalogChanged,
    CatalogChangedEvent,
    ProductSnapshot,
    RoomChanged,
    RoomChangedEvent,
    Streams,
    encode_entry,
)
from infra.local.redis_server import free_port
from tests.load.fanout import LoadClients, raise_file_limit, rss_kib
from tests.support.stack import ROOT, ServiceProcess, service_env

PRODUCTS = 100
"""Skus whose stock changes: one push to a slow client is about 20 KB."""
IDLE_SKU = "IDLE-SKU"
PUSH_INTERVAL = 0.1
SEND_TIMEOUT = 10.0
"""The notifier's default `send_timeout_seconds`, given to the baseline too."""
Progress = Callable[[str], None]
Stats = Callable[[], Awaitable[tuple[int, int]]]
"""(open connections, dropped connections) as the server counts them."""


class SlowClients(LoadClients):
    """Load-generator processes whose connections stop reading after their snapshot."""

    async def start(self) -> None:
        for share in self.shares:
            self.procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "tests.load.fanout_client", "127.0.0.1",
                    str(self.port), self.path, str(share), "slow",
                    cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
                    limit=256 * 1024 * 1024,
                )
            )  # fmt: skip


def stock_entry(version: int) -> dict[Any, Any]:
    title = "A product of the live room, with the long title sellers like to give " + "x" * 60
    products = [
        ProductSnapshot(
            sku=f"MEM-{n}",
            title=title,
            price_minor=1250,
            currency="EUR",
            sold=0,
            available=version % 1000,
            version=version,
        )
        for n in range(PRODUCTS)
    ]
    event = CatalogChangedEvent.new(
        correlation_id="catalog", producer="orders", data=CatalogChanged(products=products)
    )
    return dict(encode_entry(event))


def room_announcement(room_id: str) -> dict[Any, Any]:
    change = RoomChanged(room_id=room_id, state="live", skus=[IDLE_SKU])
    event = RoomChangedEvent.new(correlation_id=room_id, producer="storefront", data=change)
    return dict(encode_entry(event))


async def notifier_stats(base_url: str) -> tuple[int, int]:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        text = (await client.get("/metrics/")).text
    open_, dropped = 0.0, 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("kind") != "room":
                continue
            if sample.name == "livecart_sse_connections":
                open_ += sample.value
            elif sample.name == "livecart_sse_dropped_total":
                dropped += sample.value
    return int(open_), int(dropped)


async def bare_stats(port: int) -> tuple[int, int]:
    async with httpx.AsyncClient(timeout=10) as client:
        stats = (await client.get(f"http://127.0.0.1:{port}/stats")).json()
    return int(stats["open"]), int(stats["dropped"])


async def measure_server(
    name: str,
    *,
    pid: int,
    port: int,
    stats: Stats,
    redis: Redis,
    streams: Streams,
    room_id: str,
    idle: int,
    slow: int,
    client_processes: int,
    progress: Progress,
) -> dict[str, Any]:
    """RSS of `pid` at rest, with the idle clients, with the slow ones too, and at its peak
    while stock changes until every slow client is dropped (or a deadline)."""
    rss_before = rss_kib(pid)
    idle_clients = LoadClients(
        port, f"/events/rooms/{room_id}?skus={IDLE_SKU}", idle, client_processes
    )
    slow_clients = SlowClients(port, f"/events/rooms/{room_id}", slow, 2)
    try:
        progress(f"{name}: RSS {rss_before / 1024:.1f} MiB; opening {idle} idle connections")
        await idle_clients.start()
        await idle_clients.wait_connected(lambda text: progress(f"  idle {text}"))
        await asyncio.sleep(3.0)  # the viewer-count pushes of the ramp die down
        rss_idle = rss_kib(pid)
        progress(f"{name}: RSS {rss_idle / 1024:.1f} MiB; opening {slow} slow connections")
        await slow_clients.start()
        await slow_clients.wait_connected(lambda text: progress(f"  slow {text}"))
        rss_slow = peak = rss_kib(pid)
        slow_connected = sum(slow_clients.connected)
        _, dropped_before = await stats()
        started, version, dropped = time.monotonic(), 0, 0
        while time.monotonic() - started < SEND_TIMEOUT + 20:
            version += 1
            await redis.xadd(streams.catalog_changed, stock_entry(version))
            await asyncio.sleep(PUSH_INTERVAL)
            peak = max(peak, rss_kib(pid))
            if version % 10 == 0:
                _, dropped = await stats()
                dropped -= dropped_before
                progress(f"  {name}: RSS {peak / 1024:.1f} MiB at most, {dropped} dropped")
                if dropped >= slow_connected:
                    break
        await asyncio.sleep(1.0)
        rss_after = rss_kib(pid)
        open_after, dropped = await stats()
        dropped -= dropped_before
        idle_reports = await idle_clients.results()
    finally:
        await idle_clients.kill()
        await slow_clients.kill()
    idle_connected = sum(r["connected"] for r in idle_reports)
    return {
        "idle_connected": idle_connected,
        "slow_connected": slow_connected,
        "slow_dropped": dropped,
        "idle_dropped": sum(r["dropped"] for r in idle_reports),
        "open_after": open_after,
        "push_seconds": round(time.monotonic() - started, 1),
        "rss_mib": {
            "before": round(rss_before / 1024, 1),
            "idle": round(rss_idle / 1024, 1),
            "slow_connected": round(rss_slow / 1024, 1),
            "peak": round(peak / 1024, 1),
            "after_drops": round(rss_after / 1024, 1),
        },
        "idle_kib_per_connection": round((rss_idle - rss_before) / max(idle_connected, 1), 1),
        "slow_kib_per_connection": round((peak - rss_idle) / max(slow_connected, 1), 1),
        "kib_per_connection": round(
            (peak - rss_before) / max(idle_connected + slow_connected, 1), 1
        ),
    }


async def measure_sse_memory(
    *, redis_url: str, idle: int, slow: int, progress: Progress, client_processes: int = 4
) -> dict[str, Any]:
    """The bare writer, then the notifier, each with its own room and stream prefix."""
    file_limit = raise_file_limit()
    redis = Redis.from_url(redis_url)
    results: dict[str, Any] = {}
    try:
        for name in ("bare", "livecart"):
            prefix = f"ssemem-{uuid.uuid4().hex[:8]}"
            streams, room_id = Streams(prefix), f"room-{uuid.uuid4().hex[:8]}"
            await redis.xadd(streams.room_changed, room_announcement(room_id))
            run = _bare if name == "bare" else _livecart
            measure = functools.partial(
                measure_server, name, redis=redis, streams=streams, room_id=room_id, idle=idle,
                slow=slow, client_processes=client_processes, progress=progress,
            )  # fmt: skip
            try:
                results[name] = await run(redis_url, streams, prefix, measure)
            finally:
                keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
                if keys:
                    await redis.delete(*keys)
    finally:
        await redis.aclose()
    live, bare = results["livecart"], results["bare"]
    return {
        "idle": idle,
        "slow": slow,
        "send_timeout_seconds": SEND_TIMEOUT,
        "open_files_limit": file_limit,
        **results,
        "ratio_idle": round(live["idle_kib_per_connection"] / bare["idle_kib_per_connection"], 2),
        "ratio_slow": round(live["slow_kib_per_connection"] / bare["slow_kib_per_connection"], 2),
        "ratio": round(live["kib_per_connection"] / bare["kib_per_connection"], 2),
    }


Measure = Callable[..., Awaitable[dict[str, Any]]]
"""`measure_server` with everything but `pid`, `port` and `stats`."""


async def _livecart(redis_url: str, streams: Streams, prefix: str, measure: Measure) -> Any:
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="ssemem-"))
    env = service_env(
        redis_url=redis_url, stream_prefix=prefix, workdir=workdir, NOTIFIER_PORT=str(port),
        NOTIFIER_SEND_TIMEOUT_SECONDS=str(SEND_TIMEOUT),
    )  # fmt: skip
    notifier = ServiceProcess("notifier", port, env, ROOT / "run" / "bench" / "ssemem.log")
    notifier.log.parent.mkdir(parents=True, exist_ok=True)
    try:
        notifier.start()
        notifier.wait_ready()
        assert notifier.process is not None
        pid = notifier.process.pid
        return await measure(pid=pid, port=port, stats=lambda: notifier_stats(notifier.base_url))
    finally:
        notifier.terminate()


async def _bare(redis_url: str, streams: Streams, prefix: str, measure: Measure) -> Any:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.load.bare_sse", redis_url, streams.catalog_changed,
        str(SEND_TIMEOUT), cwd=ROOT, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        word, port = (await proc.stdout.readline()).decode().split()
        assert word == "ready", word
        return await measure(pid=proc.pid, port=int(port), stats=lambda: bare_stats(int(port)))
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def summary(result: dict[str, Any]) -> str:
    live, bare = result["livecart"], result["bare"]
    return (
        f"SSE memory: {live['idle_connected']} idle + {live['slow_connected']} slow: "
        f"{live['kib_per_connection']} KiB per connection (idle {live['idle_kib_per_connection']},"
        f" slow {live['slow_kib_per_connection']}) vs bare uvloop writer "
        f"{bare['kib_per_connection']} (idle {bare['idle_kib_per_connection']}, slow "
        f"{bare['slow_kib_per_connection']}) = {result['ratio']:.1f}x; slow dropped "
        f"{live['slow_dropped']}/{live['slow_connected']} (bare {bare['slow_dropped']}), "
        f"idle dropped {live['idle_dropped']}, {live['open_after']} still open"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--idle", type=int, default=10_000)
    parser.add_argument("--slow", type=int, default=1_000)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    result = asyncio.run(
        measure_sse_memory(
            redis_url=args.redis_url,
            idle=args.idle,
            slow=args.slow,
            progress=lambda text: print(f"sse-memory: {text}", flush=True),
        )
    )
    print(json.dumps(result, indent=2))
    print(summary(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
