"""The storefront's accept path over HTTP, against a bare FastAPI endpoint doing one XADD.

Both run as real processes side by side, with the same uvicorn settings and worker
count, and are driven in turn by the same load: many concurrent aiohttp keep-alive
clients, each tap a `POST /api/checkouts` with a buyer's token (from the storefront's
`POST /api/sessions`). Reports taps accepted/s, accept latency p50/p99, non-202 answers
by status, each server's CPU per tap, and storefront/bare as the ratio. The storefront
writes to its own Redis stream prefix and showcase database; every key is deleted after.

    python -m tests.load.accept --taps 20000 --concurrency 200 --workers 1 2 --rounds 2
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

from contracts import Streams
from infra.local.processes import start_background
from infra.local.redis_server import free_port
from services.storefront.config import StorefrontSettings
from services.storefront.seed import seed_demo
from tests.support import demo
from tests.support.stack import ROOT, ServiceProcess, service_env

Progress = Callable[[str], None]
SESSIONS_PATH, CHECKOUTS_PATH = "/api/sessions", "/api/checkouts"


@dataclass
class Driven:
    """What one load run saw from the client's side."""

    taps: int
    seconds: float
    latencies: list[float] = field(default_factory=list)  # of the 202 answers, seconds
    statuses: Counter[str] = field(default_factory=Counter)
    client_cpu_seconds: float = 0.0

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies)
        accepted = len(ordered)
        return {
            "taps": self.taps,
            "seconds": round(self.seconds, 3),
            "accepted": accepted,
            "accepted_per_second": round(accepted / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(_quantile(ordered, 0.50) * 1000, 2),
            "p99_ms": round(_quantile(ordered, 0.99) * 1000, 2),
            "max_ms": round(ordered[-1] * 1000, 2) if ordered else 0.0,
            "not_accepted": {k: v for k, v in sorted(self.statuses.items()) if k != "202"},
            "client_cpu_share": round(self.client_cpu_seconds / self.seconds, 2)
            if self.seconds
            else 0.0,
        }


def _quantile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def tap_body(n: int) -> dict[str, Any]:
    """A buyer's tap on one of the demo room's pinned products."""
    product = demo.DEMO_PRODUCTS[n % len(demo.DEMO_PRODUCTS)]
    return {"room_id": demo.DEMO_ROOM_ID, "items": [{"sku": product.sku, "quantity": 1}]}


async def drive(
    base_url: str, *, taps: int, concurrency: int, tokens: list[str], first: int = 0
) -> Driven:
    """Fire `taps` checkouts from `concurrency` keep-alive clients; time each answer."""
    headers = [{"Authorization": f"Bearer {token}"} for token in tokens]
    bodies = [json.dumps(tap_body(n)).encode() for n in range(len(demo.DEMO_PRODUCTS))]
    result = Driven(taps=taps, seconds=0.0)
    issued = 0

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal issued
        while issued < taps:
            n = first + issued
            issued += 1
            started = time.perf_counter()
            try:
                async with session.post(
                    CHECKOUTS_PATH,
                    data=bodies[n % len(bodies)],
                    headers=headers[n % len(headers)] | {"Content-Type": "application/json"},
                ) as answer:
                    await answer.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                result.statuses[f"error:{type(exc).__name__}"] += 1
                continue
            if answer.status == 202:
                result.latencies.append(time.perf_counter() - started)
            result.statuses[str(answer.status)] += 1

    async with _session(base_url, concurrency) as session:
        cpu, started = time.process_time(), time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(concurrency)))
        result.seconds = time.perf_counter() - started
        result.client_cpu_seconds = time.process_time() - cpu
    return result


def _session(base_url: str, concurrency: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    timeout = aiohttp.ClientTimeout(total=60)
    # Cookies off: the token goes in the header, as a buyer's app sends it.
    jar = aiohttp.DummyCookieJar()
    return aiohttp.ClientSession(base_url, connector=connector, timeout=timeout, cookie_jar=jar)


async def open_sessions(base_url: str, buyers: int, concurrency: int) -> list[str]:
    """`buyers` buyer tokens from the storefront's `POST /api/sessions`."""

    async def one(session: aiohttp.ClientSession) -> str:
        async with session.post(SESSIONS_PATH) as answer:
            if answer.status != 201:
                raise RuntimeError(f"POST {SESSIONS_PATH}: {answer.status} {await answer.text()}")
            token: str = (await answer.json())["token"]
            return token

    async with _session(base_url, concurrency) as session:
        return list(await asyncio.gather(*(one(session) for _ in range(buyers))))


class BareProcess(ServiceProcess):
    """tests/load/bare_accept.py as a process of its own."""

    def start(self) -> "BareProcess":
        command = [sys.executable, "-m", "tests.load.bare_accept"]
        self.process = start_background(command, cwd=ROOT, env=self.env, log=self.log)
        return self


def cpu_seconds(pid: int) -> float:
    """User + system CPU of `pid` and its descendants (uvicorn's workers), from /proc."""
    total, todo = 0.0, [pid]
    tick = os.sysconf("SC_CLK_TCK")
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError, IndexError):
            continue
    return total


@dataclass
class Target:
    """One HTTP service under load and what each round of load saw."""

    name: str
    process: ServiceProcess
    rounds: list[dict[str, Any]] = field(default_factory=list)

    def best(self) -> dict[str, Any]:
        """The round least disturbed by whatever else ran on the machine."""
        return max(self.rounds, key=lambda r: r["accepted_per_second"])


async def measure_round(
    target: Target,
    *,
    taps: int,
    concurrency: int,
    tokens: list[str],
    first: int,
    progress: Progress,
) -> dict[str, Any]:
    """Drive `taps` checkouts at `target`; the client's figures and the server's CPU."""
    pid = target.process.process.pid if target.process.process else 0
    progress(f"  {target.name}: {taps} taps from {concurrency} keep-alive clients")
    cpu = cpu_seconds(pid)
    driven = await drive(
        target.process.base_url, taps=taps, concurrency=concurrency, tokens=tokens, first=first
    )
    summary = driven.summary()
    server_cpu = cpu_seconds(pid) - cpu
    summary["server_cpu_share"] = round(server_cpu / driven.seconds, 2)
    # CPU per tap says what a tap costs even when other programs share the cores.
    summary["server_cpu_ms_per_tap"] = round(server_cpu * 1000 / max(summary["accepted"], 1), 3)
    progress(
        f"  {target.name}: {summary['accepted_per_second']:,.0f} accepted/s, "
        f"p50 {summary['p50_ms']} ms, p99 {summary['p99_ms']} ms, "
        f"not accepted {summary['not_accepted']}, server {summary['server_cpu_share']} cores "
        f"= {summary['server_cpu_ms_per_tap']} ms CPU/tap, "
        f"client {summary['client_cpu_share']} cores"
    )
    target.rounds.append(summary)
    return summary


async def measure_accept_path(
    *,
    redis_url: str,
    taps: int,
    concurrency: int,
    progress: Callable[[str], None],
    workers: int | None = None,
    rounds: int = 1,
    buyers: int = 1000,
    warmup: int | None = None,
    database_url: str | None = None,
    database_schema: str | None = None,
    workdir: Path | None = None,
) -> dict[str, Any]:
    """The storefront's accept path and the bare ceiling, measured in the same run.

    Both processes run side by side and are driven in turn (storefront, bare), `rounds`
    times; each reports its best round. `workers`: uvicorn workers of both (None: the
    storefront's default). The storefront's showcase goes to `database_url`
    (+ `database_schema`), a SQLite file by default.
    """
    prefix = f"bench-accept-{uuid.uuid4().hex[:8]}"
    warmup = min(taps // 10, 2000) if warmup is None else warmup
    with tempfile.TemporaryDirectory(prefix="livecart-accept-") as tmp:
        work = workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        env = _env(redis_url, prefix, work, workers, database_url, database_schema)
        count = env["BARE_ACCEPT_WORKERS"]
        sf_port, bare_port = free_port(), free_port()
        targets = [
            Target("storefront", ServiceProcess(
                "storefront", sf_port, env | {"STOREFRONT_PORT": str(sf_port)},
                work / "storefront.log",
            )),
            Target("bare", BareProcess(
                "bare_accept", bare_port, env | {"BARE_ACCEPT_PORT": str(bare_port)},
                work / "bare.log",
            )),
        ]  # fmt: skip
        redis = Redis.from_url(redis_url)
        try:
            await _seed(env)
            progress(f"starting the storefront and the bare endpoint, {count} worker(s) each")
            for target in targets:
                target.process.start()
            for target in targets:
                await asyncio.to_thread(target.process.wait_ready, 60.0)
            tokens = await open_sessions(targets[0].process.base_url, buyers, concurrency)
            progress(f"{len(tokens)} buyer sessions opened; warm-up, {warmup} taps each")
            for target in targets:  # connections, caches; the bare endpoint ignores tokens
                await drive(
                    target.process.base_url, taps=warmup, concurrency=concurrency, tokens=tokens
                )
            for number in range(rounds):
                progress(f"round {number + 1} of {rounds}")
                for target in targets:
                    await measure_round(
                        target, taps=taps, concurrency=concurrency, tokens=tokens,
                        first=warmup + number * taps, progress=progress,
                    )  # fmt: skip
        finally:
            for target in targets:
                target.process.stop_soon()
            for target in targets:
                await asyncio.to_thread(target.process.terminate)
            entries = {
                "storefront": int(await redis.xlen(Streams(prefix).checkout_requested)),
                "bare": int(await redis.xlen(_bare_stream(prefix))),
            }
            keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
            if keys:
                await redis.delete(*keys)
            await redis.aclose()
    storefront, bare = (target.best() for target in targets)
    return {
        "machine": {"cores": os.cpu_count(), "python": sys.version.split()[0]},
        "taps": taps,
        "warmup_taps": warmup,
        "rounds": rounds,
        "concurrency": concurrency,
        "buyers": buyers,
        "workers": int(count),
        "storefront": storefront | {"entries_in_stream": entries["storefront"]},
        "bare": bare | {"entries_in_stream": entries["bare"]},
        "all_rounds": {target.name: target.rounds for target in targets},
        "ratio": _ratio(storefront["accepted_per_second"], bare["accepted_per_second"]),
        "cpu_per_tap_ratio": _ratio(
            storefront["server_cpu_ms_per_tap"], bare["server_cpu_ms_per_tap"]
        ),
    }


async def measure_bare_accept(
    *, redis_url: str, taps: int, concurrency: int, progress: Callable[[str], None]
) -> dict[str, Any]:
    """The bare front door alone (tests/load/bare_accept.py, the storefront's worker count
    and uvicorn settings), driven as `measure_accept_path` drives it: the yardstick of the
    whole-stack parts when the accept part is not in the run."""
    prefix = f"bench-bare-{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory(prefix="livecart-bare-") as tmp:
        env = _env(redis_url, prefix, Path(tmp), None, None, None)
        port = free_port()
        target = Target("bare", BareProcess(
            "bare_accept", port, env | {"BARE_ACCEPT_PORT": str(port)}, Path(tmp) / "bare.log"
        ))  # fmt: skip
        redis = Redis.from_url(redis_url)
        try:
            target.process.start()
            await asyncio.to_thread(target.process.wait_ready, 60.0)
            warmup = min(taps // 10, 2000)
            await drive(target.process.base_url, taps=warmup, concurrency=concurrency, tokens=["-"])
            summary = await measure_round(
                target, taps=taps, concurrency=concurrency, tokens=["-"], first=warmup,
                progress=progress,
            )  # fmt: skip
        finally:
            target.process.stop_soon()
            await asyncio.to_thread(target.process.terminate)
            await redis.delete(_bare_stream(prefix))
            await redis.aclose()
    return summary


def _ratio(ours: float, theirs: float) -> float | None:
    return round(ours / theirs, 3) if theirs else None


def _bare_stream(prefix: str) -> str:
    return f"{prefix}:bare-accept"


def _env(
    redis_url: str,
    prefix: str,
    work: Path,
    workers: int | None,
    database_url: str | None,
    database_schema: str | None,
) -> dict[str, str]:
    # None: the storefront's default worker count; the bare endpoint always gets the same.
    count = workers or StorefrontSettings.model_construct().worker_processes
    extra = {
        "BARE_ACCEPT_STREAM": _bare_stream(prefix),
        "STOREFRONT_WORKERS": str(count),
        "BARE_ACCEPT_WORKERS": str(count),
    }
    if database_url:
        extra["STOREFRONT_DATABASE_URL"] = database_url
    if database_schema:
        extra["STOREFRONT_DATABASE_SCHEMA"] = database_schema
    return service_env(redis_url=redis_url, stream_prefix=prefix, workdir=work, **extra)


async def _seed(env: Mapping[str, str]) -> None:
    """The demo room and its pinned products in the storefront's own database."""
    await seed_demo(env["STOREFRONT_DATABASE_URL"], schema=env.get("STOREFRONT_DATABASE_SCHEMA"))


def say(text: str) -> None:
    print(f"accept: {text}", flush=True)


async def main(args: argparse.Namespace) -> int:
    runs = []
    for workers in args.workers or [None]:
        result = await measure_accept_path(
            redis_url=args.redis_url,
            taps=args.taps,
            concurrency=args.concurrency,
            progress=say,
            workers=workers,
            rounds=args.rounds,
            buyers=args.buyers,
            database_url=args.database_url,
            database_schema=args.database_schema,
        )
        runs.append(result)
        sf, bare = result["storefront"], result["bare"]
        print(
            f"storefront accept path {sf['accepted_per_second']:,.0f}/s "
            f"(p50 {sf['p50_ms']} ms, p99 {sf['p99_ms']} ms) vs bare FastAPI + XADD "
            f"{bare['accepted_per_second']:,.0f}/s (p50 {bare['p50_ms']} ms, "
            f"p99 {bare['p99_ms']} ms) = {result['ratio']:.0%}, "
            f"{result['workers']} worker(s); CPU per tap {sf['server_cpu_ms_per_tap']} ms vs "
            f"{bare['server_cpu_ms_per_tap']} ms",
            flush=True,
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(runs if len(runs) > 1 else runs[0], indent=2) + "\n")
        say(f"wrote {args.out}")
    return 0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tests.load.accept",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--taps", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--buyers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1, help="storefront, bare: N times")
    parser.add_argument(
        "--workers", type=int, nargs="*", help="uvicorn workers; several values: one run each"
    )
    parser.add_argument(
        "--redis-url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    parser.add_argument("--database-url", help="the storefront's showcase DB (default: SQLite)")
    parser.add_argument("--database-schema")
    parser.add_argument("--out", type=Path, help="write the result(s) as JSON here")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse(sys.argv[1:]))))
