"""The whole stack under buyers' load over HTTP (issue 6): taps accepted/s and accept
latency, tap -> final status as seen on the notifier's SSE, finals/s at the marketplace,
oversold and lost taps, drain time.

Shapes: `steady` (open-loop rate on many skus with ample stock), `flash` (N taps as fast
as possible on one hot sku with S units), `ramp` (rate steps until accept errors, lost
taps or p99 explode). Starts storefront, orders (PostgreSQL, fresh schema) and notifier,
or drives a running stack given `--storefront-url/--notifier-url` (then the orders DB
is not checked). Prints progress, a one-line summary, and writes a JSON result.

    python -m tests.load.stack_load --shape flash --taps 1000 --units 50
"""

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp

from tests.load.stack_generator import LoadGenerator, shares
from tests.load.stack_services import StackUnderLoad, audit_orders_db, managed_stack
from tests.load.stack_shapes import brief, exploded, flash, ramp, steady
from tests.load.stack_stats import one_line
from tests.load.stack_worker import Setup
from tests.support.services import LOCAL_POSTGRES
from tests.support.stack import ROOT

HOT_SKU = "LOAD-HOT"
AMPLE = 1_000_000
DEFAULTS: dict[str, Any] = {
    "workers": 2, "buyers": None, "sse": "buyer", "concurrency": 64,
    "taps": 10_000, "units": 500, "rate": 1000.0, "seconds": 10.0, "skus": 20,
    "rates": (250.0, 500.0, 1000.0, 2000.0, 4000.0, 8000.0), "step_seconds": 5.0,
    "p99_limit_ms": 1000.0, "p99_limit_factor": None, "max_error_share": 0.01,
    "final_timeout": 120.0, "tap_timeout": 30.0, "connect_timeout": 300.0,
    "storefront_url": None, "notifier_url": None, "room": "demo", "sku": None,
    "service_env": {}, "workdir": ROOT / "run" / "bench" / "stack",
}  # fmt: skip


async def measure_stack(
    *, shape: str, redis_url: str, dsn: str, progress: Callable[[str], None], **params: Any
) -> dict[str, Any]:
    """Run one load shape against the stack; every figure measured, JSON-able.

    `params` (defaults in DEFAULTS): workers, buyers, sse ("buyer" | "checkout"),
    concurrency (per worker); flash: taps, units; steady: rate, seconds, skus; ramp: rates,
    step_seconds, p99_limit_ms, max_error_share; final_timeout, tap_timeout,
    connect_timeout; storefront_url + notifier_url (+ room, sku) to drive a running stack;
    service_env (extra environment of the started services); workdir (service logs).
    The generator's worker processes are spawned: the caller's main module must be
    import-safe (`if __name__ == "__main__":`).
    """
    if shape not in ("flash", "steady", "ramp"):
        raise ValueError(f"unknown shape {shape!r}: flash, steady or ramp")
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown parameters: {sorted(unknown)}")
    p = {**DEFAULTS, **params, "redis_url": redis_url}
    async with _stack(shape, redis_url, dsn, p, progress) as (stack, stock):
        progress(f"storefront {stack.storefront_url}, notifier {stack.notifier_url}")
        result = await _drive(shape, stack, stock, p, progress)
        if stack.orders_schema:
            result["db"] = await audit_orders_db(dsn, stack.orders_schema, stock)
        else:
            result["db"] = {"checked": False, "why": "running stack: orders DB not reachable"}
            progress("running stack given: the orders DB is NOT checked (oversold from SSE only)")
    return _conclude(shape, result, p)


@contextlib.asynccontextmanager
async def _stack(
    shape: str, redis_url: str, dsn: str, p: dict[str, Any], progress: Callable[[str], None]
) -> AsyncIterator[tuple[StackUnderLoad, dict[str, int]]]:
    if p["storefront_url"]:
        stack = StackUnderLoad(p["storefront_url"], p["notifier_url"], p["room"], None)
        yield stack, await _room_stock(stack, shape, p)
        return
    stock = (
        {HOT_SKU: p["units"]}
        if shape == "flash"
        else {f"LOAD-{i}": AMPLE for i in range(p["skus"])}
    )
    progress(f"starting storefront, orders (PostgreSQL) and notifier; stock {brief(stock)}")
    async with managed_stack(
        redis_url=redis_url, dsn=dsn, stock=stock, workdir=Path(p["workdir"]),
        extra_env=p["service_env"],
    ) as stack:  # fmt: skip
        yield stack, stock


async def _room_stock(stack: StackUnderLoad, shape: str, p: dict[str, Any]) -> dict[str, int]:
    """The running stack's room: skus to tap, with the units it shows (a display hint)."""
    url = f"{stack.storefront_url}/api/rooms/{stack.room_id}"
    async with aiohttp.ClientSession() as http, http.get(url) as answer:
        answer.raise_for_status()
        products = (await answer.json())["products"]
    # None: the storefront has not heard of the sku's stock yet; no oversold check for it.
    stock = {q["sku"]: q["available"] for q in products}
    if shape == "flash":
        sku = p["sku"] or next(iter(stock))
        return {sku: stock[sku]}
    return {p["sku"]: stock[p["sku"]]} if p["sku"] else stock


async def _drive(
    shape: str,
    stack: StackUnderLoad,
    stock: dict[str, int],
    p: dict[str, Any],
    progress: Callable[[str], None],
) -> dict[str, Any]:
    buyers = p["buyers"] or (p["taps"] if shape == "flash" else 500)
    workers = max(1, min(p["workers"], buyers))  # a worker without buyers could not tap
    generator = LoadGenerator(workers, progress).start()
    try:
        setups = [
            Setup(stack.storefront_url, stack.notifier_url, n, p["sse"], p["concurrency"],
                  p["tap_timeout"], p["connect_timeout"])
            for n in shares(buyers, workers)
        ]  # fmt: skip
        progress(f"{buyers} buyers: sessions, and {p['sse']} SSE streams, in {workers} workers")
        ready = await generator.setup(setups, timeout=p["connect_timeout"] + 600)
        setup = {
            "buyers": buyers,
            "sse": p["sse"],
            "sessions_seconds": round(max(r["sessions_seconds"] for r in ready), 2),
            "streams_seconds": round(max(r["streams_seconds"] for r in ready), 2),
            "streams_open": sum(r["streams_open"] for r in ready),
        }
        progress(f"  ready: {setup}")
        runner = {"flash": flash, "steady": steady, "ramp": ramp}[shape]
        return {"setup": setup, **await runner(generator, stack, stock, p, progress)}
    finally:
        generator.stop()


def _conclude(shape: str, result: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
    runs = result["steps"] if shape == "ramp" else [result["result"]]
    db = result["db"]
    # The same unit may show up on SSE and in the DB: the larger count, not their sum.
    oversold = max(sum(r["oversold_on_sse"] or 0 for r in runs), db.get("oversold") or 0)
    lost = sum(r["lost"] for r in runs)
    if db.get("checked"):  # every accepted tap is exactly one order: none lost, none doubled
        db["orders_total"] = sum(db["orders"].values())
        db["accepted_taps"] = sum(r["accepted"] for r in runs)
    if shape == "ramp":
        limits = {**p, "p99_limit_ms": result.get("p99_limit_ms", p["p99_limit_ms"])}
        clean = [s for s in runs if exploded(s, limits) is None]
        best = one_line("ramp, highest clean step", clean[-1]) if clean else "ramp: no clean step"
        steps = ", ".join(
            f"{s['offered_per_second']:g}/s p99 {s['tap_to_final_ms']['p99']} ms" for s in runs
        )
        line = f"{best}; steps {steps}; stopped: {result['stopped_because']}"
    else:
        line = one_line(shape, result["result"])
    params = {k: v for k, v in p.items() if k not in ("workdir", "redis_url")}
    return {
        "shape": shape,
        "params": json.loads(json.dumps(params, default=str)),
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
        **result,
        "oversold": oversold,
        "lost": lost,
        "summary": f"{line}; {_db_line(db)}",
    }


def _db_line(db: dict[str, Any]) -> str:
    if not db.get("checked"):
        return "orders DB NOT checked"
    return (
        f"orders DB: {db['orders_total']} orders for {db['accepted_taps']} accepted taps, "
        f"oversold {db['oversold']}, stock mismatches {len(db['stock_mismatches'])}, "
        f"{db['final_orders_per_second']} final orders/s"
    )


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.load.stack_load",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--shape", choices=["flash", "steady", "ramp"], default="flash")
    add("--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    add("--dsn", default=os.environ.get("BENCH_DATABASE_URL", LOCAL_POSTGRES))
    add("--storefront-url", help="drive this running stack (needs --notifier-url; no DB check)")
    add("--notifier-url")
    add("--room", default="demo", help="room of a running stack")
    add("--sku", help="sku of a running stack's room to tap (flash: the hot one)")
    add("--workers", type=int, default=2, help="load generator processes")
    add("--buyers", type=int, help="buyers, each with one SSE stream (flash: one per tap)")
    add(
        "--sse",
        choices=["buyer", "checkout"],
        default="buyer",
        help="one /events/buyers/me stream per buyer, or one /events/checkouts/{id} per tap",
    )
    add("--concurrency", type=int, default=64, help="taps in flight per worker")
    add("--taps", type=int, default=10_000, help="flash: taps")
    add("--units", type=int, default=500, help="flash: units of the hot sku")
    add("--rate", type=float, default=1000.0, help="steady: taps/s offered")
    add("--seconds", type=float, default=10.0, help="steady: duration")
    add("--skus", type=int, default=20, help="steady/ramp: skus with ample stock")
    add("--rates", default="250,500,1000,2000,4000,8000", help="ramp: taps/s per step")
    add("--step-seconds", type=float, default=5.0)
    add("--p99-limit-ms", type=float, default=1000.0, help="ramp stops above this p99")
    add("--final-timeout", type=float, default=120.0, help="a 202 without final after this is lost")
    add("--tap-timeout", type=float, default=30.0)
    add("--connect-timeout", type=float, default=300.0, help="for opening all SSE streams")
    add(
        "--service-env",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for the started services, e.g. ORDERS_CONSUMER_MAX_RECORDS=100",
    )
    add("--out", type=Path, help="JSON result (default run/bench/stack-<shape>.json)")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    if bool(args.storefront_url) != bool(args.notifier_url):
        raise SystemExit("--storefront-url and --notifier-url go together")
    params = {
        name: getattr(args, name)
        for name in ("workers", "buyers", "sse", "concurrency", "taps", "units", "rate",
                     "seconds", "skus", "step_seconds", "p99_limit_ms", "final_timeout",
                     "tap_timeout", "connect_timeout", "storefront_url", "notifier_url",
                     "room", "sku")
    }  # fmt: skip
    params["rates"] = tuple(float(r) for r in args.rates.split(","))
    params["service_env"] = dict(kv.split("=", 1) for kv in args.service_env)
    result = asyncio.run(
        measure_stack(shape=args.shape, redis_url=args.redis_url, dsn=args.dsn,
                      progress=lambda text: print(f"stack: {text}", flush=True), **params)
    )  # fmt: skip
    out = args.out or ROOT / "run" / "bench" / f"stack-{args.shape}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"{result['summary']} -> {out}")
    return 0 if result["oversold"] == 0 and result["lost"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
