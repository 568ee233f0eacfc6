"""`make bench`: livecart against its same-work ceilings, each measured in the same run,
every figure printed as a ratio with issue 14's target next to it (PASS/MISS).

Parts (`--parts`, all by default, in this order):
- order: the orders service as a real process on PostgreSQL, checkouts XADDed in the
  storefront's wire format until every one has a final status, against the same-work
  pipeline (tests/load/same_work.py: plain redis-py + asyncpg leaving exactly the same
  rows and stream entries); after both, what each left is compared (orders per status,
  stock per sku, statuses per checkout on both streams, payload sizes); target >= 0.9;
- accept: the storefront's accept path over HTTP against the bare front door
  (tests/load/bare_accept.py: the same validation and XADD, the same uvicorn settings;
  tests/load/accept.py); target >= 0.9;
- flash: the whole stack, N taps on one hot sku; the tap -> final rate (finals seen on
  SSE per second) against the bare front door's accept rate; target >= 0.7;
- steady: the whole stack, a ramp from 100 taps/s (`--rates`) until the p99 tap -> final
  passes 3x the p99 at 100/s or a tap is lost or refused; the knee (the highest clean
  step) against the bare front door's rate, target >= 0.35; and the p99 at 100/s against
  the same-work pipeline's (tests/load/same_work_chain.py: bare front door + same-work
  orders + bare SSE writer), target <= 2;
- fanout: one room of one notifier with thousands of SSE viewers, then the same on the
  bare uvloop SSE writer (tests/load/fanout.py); push p99 target <= 1.5x the bare
  writer's, memory <= 4 KiB per connection;
- memory: the notifier's memory per SSE connection under 10,000 idle and 1,000 slow
  clients against a bare uvloop SSE writer, and the slow ones dropped (tests/load/sse_memory.py).
The bare front door's rate comes from the accept part, or is measured alone once when
that part is not in the run. Prints progress and one line per part, writes a JSON result
file. Exits 1 on a wrong result (oversold, lost, not one order per tap, the order part's
two sides disagreeing), never on a missed ratio.
"""

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
from redis.asyncio import Redis

from contracts import CheckoutRequested, Streams
from infra.local.redis_server import free_port
from services.common.db import make_engine
from services.orders.seed import ProductStock, seed_products
from tests.load.accept import measure_accept_path, measure_bare_accept
from tests.load.fanout import measure_fanout
from tests.load.same_work import FINAL, compare, observe, run_same_work, wait_for_finals
from tests.load.same_work_chain import measure_same_work_chain
from tests.load.sse_memory import measure_sse_memory
from tests.load.sse_memory import summary as sse_memory_summary
from tests.load.stack_load import measure_stack
from tests.support.flow import checkout, publish_checkouts
from tests.support.services import LOCAL_POSTGRES
from tests.support.stack import ROOT, ServiceProcess

TARGETS = {
    "order": 0.9,  # order path / same-work ceiling
    "accept": 0.9,  # storefront accept rate / bare front door
    "flash": 0.7,  # flash sale tap -> final rate / bare front door's accept rate
    "knee": 0.35,  # whole stack's knee rate / bare front door's accept rate
    "p99_100": 2.0,  # whole stack's p99 tap -> final at 100/s / same-work pipeline's (at most)
    "fanout_p99": 1.5,  # notifier push p99 / bare SSE writer's (at most)
    "fanout_kib": 4.0,  # KiB per SSE connection (at most)
}
"""Issue 14's targets, each a same-run ratio (the last an absolute bound)."""
DEFAULT_RATES = "100,200,300,400,600,800,1000,1300,1600,2000,2500,3000"


def say(text: str) -> None:
    print(f"bench: {text}", flush=True)


def verdict(value: float | None, target: float, *, at_most: bool = False) -> str:
    """PASS or MISS of a ratio against its issue-14 target (`at_most`: lower is better)."""
    if value is None:
        return "n/a"
    return "PASS" if (value <= target if at_most else value >= target) else "MISS"


def ratio_line(name: str, value: float | None, target: float, *, at_most: bool = False) -> str:
    sign = "<=" if at_most else ">="
    shown = "n/a" if value is None else f"{value:.2f}"
    return f"{name} {shown} (target {sign} {target:g}: {verdict(value, target, at_most=at_most)})"


async def _seed_schema(dsn: str, schema: str, skus: dict[str, int]) -> None:
    """livecart's tables and products in `schema` (both sides of the order part alike)."""
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = make_engine(url, schema=schema)
    await seed_products(engine, [ProductStock(s, s, 1000, "EUR", n) for s, n in skus.items()])
    await engine.dispose()


async def _drop_keys(redis: Redis, prefix: str) -> None:
    keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
    for start in range(0, len(keys), 1000):
        await redis.delete(*keys[start : start + 1000])


def _publisher(redis: Redis, stream: str, items: list[CheckoutRequested]) -> Any:
    async def publish() -> None:
        for start in range(0, len(items), 1000):
            await publish_checkouts(redis, stream, items[start : start + 1000])

    return publish


async def livecart_order_path(
    args: argparse.Namespace, dsn: str, schema: str, items: list[CheckoutRequested]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The orders service draining `items`: its figures, and what it left (`observe`)."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    streams = Streams(prefix)
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    env = dict(
        os.environ,
        REDIS_URL=args.redis_url,
        LIVECART_STREAM_PREFIX=prefix,
        ORDERS_DATABASE_URL=url,
        ORDERS_DATABASE_SCHEMA=schema,
        ORDERS_PAYMENT_MODE="wallet",  # charged at once, as the same-work ceiling does
        PYTHONUNBUFFERED="1",
    )
    replicas = [
        ServiceProcess(
            "orders", port, {**env, "ORDERS_PORT": str(port)},
            ROOT / "run" / "bench" / f"orders-{n}.log",
        )
        for n, port in enumerate(free_port() for _ in range(args.orders_replicas))
    ]  # fmt: skip
    replicas[0].log.parent.mkdir(parents=True, exist_ok=True)
    redis = Redis.from_url(args.redis_url)
    try:
        for orders in replicas:
            orders.start()
        for orders in replicas:
            orders.wait_ready()
        started = time.perf_counter()
        await _publisher(redis, streams.checkout_requested, items)()
        finals = await wait_for_finals(redis, streams.order_status, len(items), args.timeout, say)
        seconds = time.perf_counter() - started
        seen = await observe(redis, dsn, schema, streams)
    finally:
        for orders in replicas:
            orders.stop_soon()
        for orders in replicas:
            orders.terminate()
        await _drop_keys(redis, prefix)
        await redis.aclose()
    return {"events": len(items), "seconds": seconds, "per_second": finals / seconds}, seen


async def same_work_order_path(
    args: argparse.Namespace, dsn: str, schema: str, items: list[CheckoutRequested]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same-work pipeline draining `items`: its figures, and what it left."""
    prefix = f"bench-base-{uuid.uuid4().hex[:8]}"
    streams = Streams(prefix)
    redis = Redis.from_url(args.redis_url)
    try:
        run = await run_same_work(
            redis_url=args.redis_url, dsn=dsn, schema=schema, streams=streams,
            events=len(items), publish=_publisher(redis, streams.checkout_requested, items),
            timeout=args.timeout, progress=say,
        )  # fmt: skip
        seen = await observe(redis, dsn, schema, streams)
    finally:
        await _drop_keys(redis, prefix)
        await redis.aclose()
    return {"events": run.events, "seconds": run.seconds, "per_second": run.per_second}, seen


def _order_correctness(seen: dict[str, Any], skus: dict[str, int], events: int) -> dict[str, int]:
    """Oversold units (sold beyond the initial stock, or stock that does not add up) and
    lost checkouts (no order, or no final status) of one side."""
    oversold = sum(
        max(0, sold - skus[sku]) + abs(available + reserved + sold - skus[sku])
        for sku, (available, reserved, sold) in seen["stock"].items()
    )
    orders = sum(seen["orders"].values())
    finals = sum(n for path, n in seen["status_paths"].items() if path.rsplit(",", 1)[-1] in FINAL)
    return {"oversold": oversold, "lost": max(0, events - finals), "orders": orders}


async def order_path(
    args: argparse.Namespace, results: dict[str, Any] | None = None
) -> dict[str, Any]:
    dsn = args.dsn
    run = uuid.uuid4().hex[:8]
    # A schema each: the orders service refuses a database holding tables it does not own.
    schema, base_schema = f"bench_{run}", f"bench_base_{run}"
    skus = {f"SKU-{i}": args.stock for i in range(args.skus)}
    # The same checkouts (ids, buyers, skus) for both sides, so what they leave compares.
    items = [checkout(items=[(f"SKU-{n % args.skus}", 1)]) for n in range(args.events)]
    admin = await asyncpg.connect(dsn)
    for name in (schema, base_schema):
        await admin.execute(f'CREATE SCHEMA "{name}"')
    try:
        for name in (schema, base_schema):
            await _seed_schema(dsn, name, skus)
        say(f"same-work baseline: {args.events} checkouts, plain redis-py + asyncpg")
        base, base_seen = await same_work_order_path(args, dsn, base_schema, items)
        say(f"  {base['per_second']:,.0f} checkouts/s {base_seen['orders']}")
        say(f"livecart order path: {args.events} checkouts, {args.orders_replicas} replica(s)")
        live, live_seen = await livecart_order_path(args, dsn, schema, items)
        say(f"  {live['per_second']:,.0f} checkouts/s {live_seen['orders']}")
    finally:
        for name in (schema, base_schema):
            await admin.execute(f'DROP SCHEMA "{name}" CASCADE')
        await admin.close()
    problems = compare(live_seen, base_seen)
    checks = {
        side: _order_correctness(seen, skus, args.events)
        for side, seen in (("livecart", live_seen), ("same_work", base_seen))
    }
    for side, check in checks.items():
        if check["orders"] != args.events:
            problems.append(f"{side}: {check['orders']} orders for {args.events} checkouts")
    say(
        "  same results: "
        + ("yes" if not problems else "NO: " + "; ".join(problems))
        + f"; status payload bytes livecart {live_seen['payload_bytes']}, "
        f"same-work {base_seen['payload_bytes']}"
    )
    ratio = live["per_second"] / base["per_second"] if base["per_second"] else None
    oversold = max(c["oversold"] for c in checks.values())
    lost = max(c["lost"] for c in checks.values())
    return {
        "events": args.events,
        "orders_replicas": args.orders_replicas,
        "skus": args.skus,
        "stock": args.stock,
        "same_work": base,
        "livecart": live,
        "observed": {"livecart": live_seen, "same_work": base_seen},
        "identical": not problems,
        "problems": problems,
        "ratio": ratio,
        "target": TARGETS["order"],
        "verdict": verdict(ratio, TARGETS["order"]),
        "oversold": oversold,
        "lost": lost,
        "correctness_failed": bool(problems),
        "summary": (
            f"order path {live['per_second']:,.0f}/s vs same-work "
            f"{base['per_second']:,.0f}/s: "
            + ratio_line("ratio", ratio, TARGETS["order"])
            + f"; same results {'yes' if not problems else 'NO'}; oversold {oversold}, "
            f"lost {lost}"
        ),
    }


async def bare_front_door(args: argparse.Namespace, results: dict[str, Any]) -> float:
    """The bare front door's accept rate of this run: the accept part's, or measured now
    (once) when the accept part is not in the run."""
    if "accept" in results:
        return float(results["accept"]["bare"]["accepted_per_second"])
    if "bare_front_door" not in results:
        say(f"bare front door alone (the yardstick): {args.taps} taps")
        results["bare_front_door"] = await measure_bare_accept(
            redis_url=args.redis_url, taps=args.taps, concurrency=args.concurrency, progress=say
        )
    return float(results["bare_front_door"]["accepted_per_second"])


def _share(ours: float | None, theirs: float | None) -> float | None:
    return ours / theirs if ours is not None and theirs else None


async def accept_path(args: argparse.Namespace, results: dict[str, Any]) -> dict[str, Any]:
    say(f"accept path: {args.taps} taps from {args.concurrency} keep-alive clients")
    result = await measure_accept_path(
        redis_url=args.redis_url, taps=args.taps, concurrency=args.concurrency, progress=say
    )
    sf, bare = result["storefront"], result["bare"]
    result["verdict"] = verdict(result["ratio"], TARGETS["accept"])
    result["summary"] = (
        f"accept path {sf['accepted_per_second']:,.0f}/s (p50 {sf['p50_ms']} ms, p99 "
        f"{sf['p99_ms']} ms) vs bare front door {bare['accepted_per_second']:,.0f}/s: "
        + ratio_line("ratio", result["ratio"], TARGETS["accept"])
    )
    return result


def _stack_correctness(result: dict[str, Any]) -> bool:
    """False when a whole-stack run oversold, lost a tap or has not one order per tap."""
    db = result["db"]
    if result["oversold"] or result["lost"]:
        return False
    if db.get("checked"):
        return db["orders_total"] == db["accepted_taps"] and not db["stock_mismatches"]
    return True


async def flash_sale(args: argparse.Namespace, results: dict[str, Any]) -> dict[str, Any]:
    params = {"taps": args.flash_taps, "units": args.flash_units}
    say(f"whole stack, flash: {params}")
    result = await measure_stack(
        shape="flash", redis_url=args.redis_url, dsn=args.dsn,
        progress=lambda text: say(f"  {text}"), **params,
    )  # fmt: skip
    bare = await bare_front_door(args, results)
    rate = result["result"]["finals_per_second"]
    ratio = _share(rate, bare)
    result.update(
        bare_front_door_per_second=bare, ratio=ratio, target=TARGETS["flash"],
        verdict=verdict(ratio, TARGETS["flash"]), correctness_failed=not _stack_correctness(result),
    )  # fmt: skip
    result["summary"] = (
        f"flash tap->final {rate}/s vs bare front door {bare:,.0f}/s: "
        + ratio_line("ratio", ratio, TARGETS["flash"])
        + f"; {result['summary']}"
    )
    return result


async def steady_ramp(args: argparse.Namespace, results: dict[str, Any]) -> dict[str, Any]:
    """The whole stack's knee: 100/s, then rising steps while the p99 tap -> final stays
    within 3x the p99 at 100/s and nothing is lost or refused."""
    rates = tuple(float(r) for r in args.rates.split(","))
    say(f"whole stack, steady ramp: {args.rates} taps/s, {args.step_seconds:g} s each")
    result = await measure_stack(
        shape="ramp", redis_url=args.redis_url, dsn=args.dsn,
        progress=lambda text: say(f"  {text}"), rates=rates, step_seconds=args.step_seconds,
        p99_limit_ms=1e9, p99_limit_factor=3.0, max_error_share=0.0,
    )  # fmt: skip
    steps = result["steps"]
    clean = [s for s in steps if s["tap_to_final_ms"]["p99"] is not None]
    limit = result.get("p99_limit_ms")
    knee_steps = [
        s for s in clean if not s["lost"] and not s["accept_errors"]
        and (limit is None or s["tap_to_final_ms"]["p99"] <= limit)
    ]  # fmt: skip
    knee = knee_steps[-1]["offered_per_second"] if knee_steps else None
    if knee_steps and knee_steps[-1] is steps[-1] and result["stopped_because"] == "all steps run":
        say("  the ramp never broke: the knee is at least the last step (add higher --rates)")
    bare = await bare_front_door(args, results)
    say(f"same-work pipeline (bare front door + same-work orders + bare SSE) at {rates[0]:g}/s")
    results["same_work_chain"] = await measure_same_work_chain(
        redis_url=args.redis_url, dsn=args.dsn, rate=rates[0], seconds=args.step_seconds,
        buyers=500,  # as many buyer streams as the steady part opens
        progress=say,
    )  # fmt: skip
    at_100 = steps[0]["tap_to_final_ms"]["p99"] if steps else None
    knee_ratio = _share(knee, bare)
    chain = results.get("same_work_chain", {}).get("tap_to_final_ms", {}).get("p99")
    p99_ratio = _share(at_100, chain)
    result.update(
        knee_per_second=knee, bare_front_door_per_second=bare, knee_ratio=knee_ratio,
        p99_at_first_step_ms=at_100, same_work_p99_ms=chain, p99_ratio=p99_ratio,
        verdicts={
            "knee": verdict(knee_ratio, TARGETS["knee"]),
            "p99_100": verdict(p99_ratio, TARGETS["p99_100"], at_most=True),
        },
        correctness_failed=not _stack_correctness(result),
    )  # fmt: skip
    result["summary"] = (
        f"steady knee {knee}/s (p99 at {rates[0]:g}/s {at_100} ms, limit {limit} ms; "
        f"stopped: {result['stopped_because']}) vs bare front door {bare:,.0f}/s: "
        + ratio_line("knee ratio", knee_ratio, TARGETS["knee"])
        + f"; p99 at {rates[0]:g}/s vs same-work pipeline {chain} ms: "
        + ratio_line("p99 ratio", p99_ratio, TARGETS["p99_100"], at_most=True)
        + f"; {result['summary']}"
    )
    return result


async def fanout(args: argparse.Namespace, results: dict[str, Any]) -> dict[str, Any]:
    say(f"fan-out: {args.viewers} SSE viewers in one room of one notifier")
    result = await measure_fanout(
        redis_url=args.redis_url, viewers=args.viewers, events=20, progress=say
    )
    say(f"fan-out: the same {args.viewers} viewers and events on the bare uvloop SSE writer")
    result["bare"] = await measure_fanout(
        redis_url=args.redis_url, viewers=args.viewers, events=20, progress=say, server="bare"
    )
    latency = result["latency_ms"]
    bare = result.get("bare", {}).get("latency_ms", {}).get("p99")
    ratio = _share(latency["p99"], bare)
    kib = result["rss_kib_per_connection"]
    result.update(
        p99_ratio=ratio,
        verdicts={
            "p99": verdict(ratio, TARGETS["fanout_p99"], at_most=True),
            "kib": verdict(kib, TARGETS["fanout_kib"], at_most=True),
        },
    )
    result["summary"] = (
        f"fan-out {result['connected']}/{result['viewers']} viewers, push p50 "
        f"{latency['p50']} ms p99 {latency['p99']} ms vs bare writer p99 {bare} ms: "
        + ratio_line("p99 ratio", ratio, TARGETS["fanout_p99"], at_most=True)
        + f"; {result['pushes_missed']} missed (bare {result['bare']['pushes_missed']}); "
        + ratio_line("KiB per connection", kib, TARGETS["fanout_kib"], at_most=True)
    )
    return result


async def sse_memory(args: argparse.Namespace, results: dict[str, Any]) -> dict[str, Any]:
    say(f"SSE memory: {args.idle} idle and {args.slow} slow room connections, notifier vs bare")
    result = await measure_sse_memory(
        redis_url=args.redis_url, idle=args.idle, slow=args.slow, progress=say
    )
    result["summary"] = sse_memory_summary(result)
    return result


async def main(args: argparse.Namespace) -> int:
    runs = {
        "order": order_path,
        "accept": accept_path,
        "flash": flash_sale,
        "steady": steady_ramp,
        "fanout": fanout,
        "memory": sse_memory,
    }
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if unknown := [p for p in parts if p not in runs]:
        raise SystemExit(f"unknown parts {unknown}: choose from {', '.join(runs)}")
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    results: dict[str, Any] = {}
    for part in parts:
        results[part] = await runs[part](args, results)
        say(f"{part}: {results[part]['summary']}")
    result = {
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
        "command": "make bench" + (f" ARGS='{' '.join(sys.argv[1:])}'" if sys.argv[1:] else ""),
        "started": started,
        **results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print("; ".join(results[part]["summary"] for part in parts) + f" -> {args.out}")
    bad = [
        p
        for p in parts
        if results[p].get("oversold")
        or results[p].get("lost")
        or results[p].get("correctness_failed")
    ]
    if bad:
        say(f"CORRECTNESS FAILED in {', '.join(bad)}")
    return 1 if bad else 0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make bench", description=__doc__)
    parser.add_argument("--parts", default="order,accept,flash,steady,fanout,memory")
    parser.add_argument("--events", type=int, default=10_000, help="order: checkouts")
    parser.add_argument("--skus", type=int, default=20, help="order: skus")
    parser.add_argument("--stock", type=int, default=100, help="order: units per sku")
    parser.add_argument("--timeout", type=float, default=300, help="order: for every final")
    parser.add_argument("--orders-replicas", type=int, default=1, help="order: replicas")
    parser.add_argument("--taps", type=int, default=10_000, help="accept: taps")
    parser.add_argument("--concurrency", type=int, default=200, help="accept: clients")
    parser.add_argument("--flash-taps", type=int, default=10_000)
    parser.add_argument("--flash-units", type=int, default=500)
    parser.add_argument(
        "--rates", default=DEFAULT_RATES, help="steady: the ramp's taps/s, 100/s first"
    )
    parser.add_argument("--step-seconds", type=float, default=5.0, help="steady: per step")
    parser.add_argument("--viewers", type=int, default=10_000, help="fanout: SSE viewers")
    parser.add_argument("--idle", type=int, default=10_000, help="memory: idle SSE clients")
    parser.add_argument("--slow", type=int, default=1_000, help="memory: slow SSE clients")
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument(
        "--dsn", default=os.environ.get("BENCH_DATABASE_URL", LOCAL_POSTGRES), help="PostgreSQL"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "run" / "bench" / "result.json")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse(sys.argv[1:]))))
