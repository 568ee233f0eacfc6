"""Notifier fan-out benchmark: one room, many SSE viewers, one notifier process.

Starts a real notifier (`python -m services.notifier`, real Redis, its own stream
prefix), opens `viewers` connections to `/events/rooms/{room}` from several load
generator processes (tests/load/fanout_client.py), then XADDs room-visible events as
the orders service does: confirmed statuses on `order.status` (the room's purchase
ticker, `total_minor` = event number) alternating with stock snapshots on
`catalog.changed` (`version` = event number). Push latency is publish (just before the
XADD) to the moment a client read the event's bytes, over every (event, client) pair.
Memory per connection is the notifier's VmRSS growth over the connections.

    python -m tests.load.fanout --viewers 10000 --events 20
"""

import argparse
import asyncio
import json
import math
import resource
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from contracts import (
    CatalogChanged,
    CatalogChangedEvent,
    CheckoutItem,
    OrderStatus,
    OrderStatusChanged,
    OrderStatusChangedEvent,
    ProductSnapshot,
    RoomChanged,
    RoomChangedEvent,
    Streams,
    encode_entry,
    utc_now,
)
from infra.local.redis_server import free_port
from tests.support.stack import ROOT, ServiceProcess, service_env

SKU = "FANOUT-SKU"
FIRST_NUMBER = 1_000_000
"""Event numbers start here so that no stray number in a payload looks like one of ours."""


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


def raise_file_limit() -> int:
    """Soft open-files limit up to the hard one (children inherit it); the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def purchase_entry(room_id: str, number: int) -> dict[Any, Any]:
    checkout_id = f"fanout-{uuid.uuid4().hex[:12]}"
    status = OrderStatusChanged(
        checkout_id=checkout_id, order_id=f"order-{checkout_id}", buyer_id="fanout-buyer",
        room_id=room_id, status=OrderStatus.CONFIRMED, previous_status=OrderStatus.PAID,
        sequence=4, total_minor=number, currency="EUR",
        items=[CheckoutItem(sku=SKU, quantity=1)], requested_at=utc_now(),
    )  # fmt: skip
    event = OrderStatusChangedEvent.new(correlation_id=checkout_id, producer="orders", data=status)
    return dict(encode_entry(event))


def room_announcement(room_id: str) -> dict[Any, Any]:
    """The room as the storefront announces one it creates: the notifier streams announced
    rooms only."""
    change = RoomChanged(room_id=room_id, state="live", skus=[SKU])
    return dict(
        encode_entry(
            RoomChangedEvent.new(correlation_id=room_id, producer="storefront", data=change)
        )
    )


def stock_entry(number: int) -> dict[Any, Any]:
    product = ProductSnapshot(
        sku=SKU, title="Fan-out mug", price_minor=1250, currency="EUR", available=number % 1000,
        sold=0, version=number,
    )  # fmt: skip
    event = CatalogChangedEvent.new(
        correlation_id="catalog", producer="orders", data=CatalogChanged(products=[product])
    )
    return dict(encode_entry(event))


class LoadClients:
    """The load-generator processes and their progress lines."""

    def __init__(self, port: int, path: str, viewers: int, processes: int) -> None:
        shares = [viewers // processes + (i < viewers % processes) for i in range(processes)]
        self.shares = [s for s in shares if s]
        self.port, self.path = port, path
        self.procs: list[asyncio.subprocess.Process] = []
        self.connected = [0] * len(self.shares)
        self.failed = [0] * len(self.shares)

    async def start(self) -> None:
        for share in self.shares:
            self.procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "tests.load.fanout_client",
                    "127.0.0.1",
                    str(self.port),
                    self.path,
                    str(share),
                    cwd=ROOT,
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    limit=256 * 1024 * 1024,
                )
            )

    async def wait_connected(self, progress: Callable[[str], None]) -> float:
        started = time.monotonic()
        readers = [asyncio.create_task(self._until_ready(i)) for i in range(len(self.procs))]
        while not all(r.done() for r in readers):
            await asyncio.sleep(1.0)
            progress(f"connected {sum(self.connected)}, failed {sum(self.failed)}")
        await asyncio.gather(*readers)
        return time.monotonic() - started

    async def _until_ready(self, index: int) -> None:
        stdout = self.procs[index].stdout
        assert stdout is not None
        while line := (await stdout.readline()).decode().split():
            if line[0] == "ready":
                return
            if line[0] == "progress":
                self.connected[index], self.failed[index] = int(line[1]), int(line[2])
        raise RuntimeError("a load-generator process ended before it was ready")

    async def results(self) -> list[dict[str, Any]]:
        out = []
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.write(b"stop\n")
            await proc.stdin.drain()
        for proc in self.procs:
            assert proc.stdout is not None
            out.append(json.loads(await proc.stdout.readline()))
            await proc.wait()
        return out

    async def kill(self) -> None:
        for proc in self.procs:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()


def percentile(values: list[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


async def measure_fanout(
    *,
    redis_url: str,
    viewers: int,
    events: int,
    progress: Callable[[str], None],
    client_processes: int = 4,
    interval: float = 0.5,
    settle: float = 3.0,
    kinds: str = "both",
    server: str = "notifier",
) -> dict[str, Any]:
    """Open `viewers` SSE connections to one room of one notifier process, publish `events`
    room-visible events `interval` seconds apart, and measure push latency and memory.
    `kinds`: "both" (purchases and stock snapshots, alternating), "purchase" or "stock".
    `server`: "notifier", or "bare" for the bare uvloop writer (tests/load/bare_sse.py) under
    the same clients and events, the yardstick of the push latency."""
    file_limit = raise_file_limit()
    prefix = f"fanout-{uuid.uuid4().hex[:8]}"
    streams = Streams(prefix)
    room_id = f"room-{uuid.uuid4().hex[:8]}"
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="fanout-"))
    env = service_env(
        redis_url=redis_url, stream_prefix=prefix, workdir=workdir, NOTIFIER_PORT=str(port)
    )
    notifier = ServiceProcess("notifier", port, env, ROOT / "run" / "fanout" / "notifier.log")
    bare: asyncio.subprocess.Process | None = None
    redis = Redis.from_url(redis_url)
    clients: LoadClients | None = None
    try:
        await redis.xadd(streams.room_changed, room_announcement(room_id))
        if server == "notifier":
            notifier.start()
            notifier.wait_ready()
            assert notifier.process is not None
            pid = notifier.process.pid
        else:  # the bare uvloop writer: stock frames and the room's purchases, nothing else
            bare = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.load.bare_sse", redis_url, streams.catalog_changed,
                "10", streams.order_status, cwd=ROOT, stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            assert bare.stdout is not None
            word, bare_port = (await bare.stdout.readline()).decode().split()
            assert word == "ready", word
            port, pid = int(bare_port), bare.pid
        clients = LoadClients(port, f"/events/rooms/{room_id}", viewers, client_processes)
        rss_before = rss_kib(pid)
        progress(f"{server} pid {pid} ready, RSS {rss_before / 1024:.1f} MiB; opening {viewers}")
        await clients.start()
        connect_seconds = await clients.wait_connected(progress)
        await asyncio.sleep(settle)  # the viewer-count pushes of the ramp die down
        rss_connected = rss_kib(pid)
        progress(f"all attempted in {connect_seconds:.1f} s; RSS {rss_connected / 1024:.1f} MiB")
        published: dict[str, float] = {}
        for i in range(events):
            number = FIRST_NUMBER + i
            is_purchase = kinds == "purchase" or (kinds == "both" and i % 2 == 0)
            entry = purchase_entry(room_id, number) if is_purchase else stock_entry(number)
            stream = streams.order_status if is_purchase else streams.catalog_changed
            published[("p" if is_purchase else "s") + str(number)] = time.monotonic()
            await redis.xadd(stream, entry)
            await asyncio.sleep(interval)
        await asyncio.sleep(max(2.0, interval))  # the last event's stragglers
        rss_after = rss_kib(pid)
        reports = await clients.results()
    finally:
        if clients is not None:
            await clients.kill()
        if bare is None:
            notifier.terminate()
        elif bare.returncode is None:
            bare.kill()
            await bare.wait()
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
    return summarize(
        reports, published, viewers=viewers, rss=(rss_before, rss_connected, rss_after),
        connect_seconds=connect_seconds, file_limit=file_limit,
    )  # fmt: skip


def summarize(
    reports: list[dict[str, Any]],
    published: dict[str, float],
    *,
    viewers: int,
    rss: tuple[int, int, int],
    connect_seconds: float,
    file_limit: int,
) -> dict[str, Any]:
    connected = sum(r["connected"] for r in reports)
    latencies: list[float] = []
    by_event: dict[str, list[float]] = {key: [] for key in published}
    for report in reports:
        for key, times in report["received"].items():
            if key in published:
                by_event[key].extend(t - published[key] for t in times)
    for values in by_event.values():
        latencies.extend(values)
    expected = connected * len(published)
    failures: dict[str, int] = {}
    for report in reports:
        for reason, n in report["failures"].items():
            failures[reason] = failures.get(reason, 0) + n
    rss_before, rss_connected, rss_after = rss
    return {
        "viewers": viewers,
        "connected": connected,
        "connect_failures": sum(r["failed"] for r in reports),
        "failure_reasons": failures,
        "dropped_after_connect": sum(r["dropped"] for r in reports),
        "connect_seconds": round(connect_seconds, 2),
        "events": len(published),
        "pushes_expected": expected,
        "pushes_received": len(latencies),
        "pushes_missed": expected - len(latencies),
        "latency_ms": {
            name: round(percentile(latencies, q) * 1000, 1)
            for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
        },
        "per_event_ms": [
            f"{key[0]} n={len(v)} first={min(v) * 1000:.0f} p50={percentile(v, 0.5) * 1000:.0f}"
            f" last={max(v) * 1000:.0f}"
            for key, v in by_event.items()
            if v
        ],
        "rss_mib": {
            "before": round(rss_before / 1024, 1),
            "connected": round(rss_connected / 1024, 1),
            "after_events": round(rss_after / 1024, 1),
        },
        "rss_kib_per_connection": round((rss_connected - rss_before) / max(connected, 1), 1),
        "client_processes": len(reports),
        "open_files_limit": file_limit,
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--viewers", type=int, default=10_000)
    parser.add_argument("--events", type=int, default=20)
    parser.add_argument("--client-processes", type=int, default=4)
    parser.add_argument("--interval", type=float, default=0.5, help="seconds between events")
    parser.add_argument("--kinds", choices=("both", "purchase", "stock"), default="both")
    parser.add_argument("--json", type=Path, help="also write the result here")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    result = asyncio.run(
        measure_fanout(
            redis_url=args.redis_url,
            viewers=args.viewers,
            events=args.events,
            progress=lambda text: print(f"fanout: {text}", flush=True),
            client_processes=args.client_processes,
            interval=args.interval,
            kinds=args.kinds,
        )
    )
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    latency = result["latency_ms"]
    print(
        f"fanout: {result['connected']}/{result['viewers']} viewers, push p50 {latency['p50']} ms"
        f" p95 {latency['p95']} ms p99 {latency['p99']} ms, "
        f"{result['rss_kib_per_connection']} KiB RSS per connection, "
        f"{result['connect_failures']} connect failures, {result['pushes_missed']} pushes missed",
        flush=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
