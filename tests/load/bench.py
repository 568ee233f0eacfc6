"""`make bench`: livecart's order path against the raw ceiling, measured in the same run.

1. baseline — plain redis-py + asyncpg, batched (tests/load/baseline.py);
2. livecart — the orders service as a real process on PostgreSQL: checkouts XADDed
   in the storefront's wire format, timed until every one has a final status.
Prints progress, a one-line summary with the ratio, and writes a JSON result file.
"""

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg
from redis.asyncio import Redis

from contracts import Streams
from infra.local.redis_server import free_port
from services.common.db import make_engine
from services.orders.seed import ProductStock, seed_products
from tests.load.baseline import run_baseline
from tests.support.flow import checkout, publish_checkouts, statuses_by_checkout
from tests.support.services import LOCAL_POSTGRES
from tests.support.stack import ROOT, ServiceProcess


def say(text: str) -> None:
    print(f"bench: {text}", flush=True)


async def livecart_order_path(args: argparse.Namespace, dsn: str, schema: str) -> dict[str, Any]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    streams = Streams(prefix)
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = make_engine(url, schema=schema)
    skus = {f"SKU-{i}": args.stock for i in range(args.skus)}
    await seed_products(engine, [ProductStock(s, s, 1000, "EUR", n) for s, n in skus.items()])
    await engine.dispose()
    env = dict(
        os.environ,
        REDIS_URL=args.redis_url,
        LIVECART_STREAM_PREFIX=prefix,
        ORDERS_DATABASE_URL=url,
        ORDERS_DATABASE_SCHEMA=schema,
        ORDERS_PORT=str(free_port()),
        PYTHONUNBUFFERED="1",
    )
    orders = ServiceProcess(
        "orders", int(env["ORDERS_PORT"]), env, ROOT / "run" / "bench" / "orders.log"
    )
    orders.log.parent.mkdir(parents=True, exist_ok=True)
    redis = Redis.from_url(args.redis_url)
    items = [checkout(items=[(f"SKU-{n % args.skus}", 1)]) for n in range(args.events)]
    try:
        orders.start()
        orders.wait_ready()
        started = time.perf_counter()
        for start in range(0, len(items), 1000):
            await publish_checkouts(redis, streams.checkout_requested, items[start : start + 1000])
        finals = await _wait_for_finals(redis, streams.order_status, len(items), args.timeout)
        seconds = time.perf_counter() - started
        statuses = await statuses_by_checkout(redis, streams.order_status)
    finally:
        orders.terminate()
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()
    outcomes = Counter(s[-1].status.value for s in statuses.values() if s[-1].is_final)
    return {
        "events": len(items),
        "seconds": seconds,
        "per_second": finals / seconds,
        "confirmed": outcomes["confirmed"],
        "outcomes": dict(outcomes),
        "oversold": max(0, outcomes["confirmed"] - sum(skus.values())),
        "lost": len(items) - sum(outcomes.values()),
    }


async def _wait_for_finals(redis: Redis, stream: str, expected: int, timeout: float) -> int:
    deadline, last = time.monotonic() + timeout, "0-0"
    finals = 0
    while finals < expected and time.monotonic() < deadline:
        reply = await redis.xread({stream: last}, count=5000, block=500)
        for _, entries in reply or []:
            for entry_id, fields in entries:
                last = entry_id
                status = json.loads(fields[b"__data__"])["data"]["status"]
                finals += status in ("confirmed", "rejected", "expired")
        say(f"  {finals}/{expected} final statuses")
    return finals


async def main(args: argparse.Namespace) -> int:
    dsn = os.environ.get("BENCH_DATABASE_URL", LOCAL_POSTGRES)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    try:
        say(f"baseline: {args.events} checkouts, plain redis-py + asyncpg, batches of 100")
        base = await run_baseline(
            redis_url=args.redis_url,
            dsn=dsn,
            schema=schema,
            events=args.events,
            skus=args.skus,
            stock_per_sku=args.stock,
        )
        say(f"  {base.per_second:,.0f} checkouts/s ({base.confirmed} confirmed)")
        say(f"livecart order path: {args.events} checkouts through the orders service")
        live = await livecart_order_path(args, dsn, schema)
        say(f"  {live['per_second']:,.0f} checkouts/s {live['outcomes']}")
    finally:
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
    ratio = live["per_second"] / base.per_second
    result = {
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
        "command": "make bench",
        "events": args.events,
        "skus": args.skus,
        "stock": args.stock,
        "baseline_per_second": base.per_second,
        "livecart": live,
        "ratio": ratio,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"livecart order path {live['per_second']:,.0f}/s vs baseline {base.per_second:,.0f}/s "
        f"= {ratio:.0%}; oversold {live['oversold']}, lost {live['lost']} -> {args.out}"
    )
    return 0 if live["oversold"] == 0 and live["lost"] == 0 else 1


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--skus", type=int, default=20)
    parser.add_argument("--stock", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--out", type=Path, default=ROOT / "run" / "bench" / "result.json")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse(sys.argv[1:]))))
