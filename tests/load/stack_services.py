"""The stack a load run drives: storefront, orders (PostgreSQL, fresh schemas) and notifier
as real processes under their own stream prefix, seeded with a load room; torn down after
(processes stopped, stream keys deleted, schemas dropped). Also the orders-DB stock audit."""

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from redis.asyncio import Redis
from redis.exceptions import RedisError

from infra.local.redis_server import free_port
from services.common.db import make_engine
from services.orders.seed import ProductStock, seed_products
from services.storefront.seed import seed_showcase
from tests.support.demo import DemoProduct
from tests.support.stack import ServiceProcess, service_env

ROOM_ID = "load-room"
PRICE_MINOR = 100  # the sandbox wallet's demo balance buys 10,000 of these per buyer


@dataclass(frozen=True)
class StackUnderLoad:
    storefront_url: str
    notifier_url: str
    room_id: str
    orders_schema: str | None  # None: a running stack whose database we cannot see
    logs: Path | None = None
    pids: Mapping[str, int] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def managed_stack(
    *,
    redis_url: str,
    dsn: str,
    stock: Mapping[str, int],
    workdir: Path,
    extra_env: Mapping[str, str] | None = None,
) -> AsyncIterator[StackUnderLoad]:
    """Start the three services on fresh schemas with `stock` (sku -> units) pinned in one
    room; yield their URLs; stop them and delete everything they wrote."""
    run_id = uuid.uuid4().hex[:8]
    prefix, orders_schema, showcase_schema = (
        f"load-{run_id}",
        f"load_o_{run_id}",
        f"load_s_{run_id}",
    )
    url = dsn.replace("postgresql://", "postgresql+asyncpg://", 1)
    await asyncio.to_thread(workdir.mkdir, parents=True, exist_ok=True)
    ports = {name: free_port() for name in ("orders", "notifier", "storefront")}
    env = service_env(
        redis_url=redis_url, stream_prefix=prefix, workdir=workdir,
        ORDERS_DATABASE_URL=url, ORDERS_DATABASE_SCHEMA=orders_schema,
        STOREFRONT_DATABASE_URL=url, STOREFRONT_DATABASE_SCHEMA=showcase_schema,
        NOTIFIER_PUBLIC_URL=f"http://127.0.0.1:{ports['notifier']}",
        **{f"{name.upper()}_PORT": str(port) for name, port in ports.items()},
        **dict(extra_env or {}),
    )  # fmt: skip
    services = [ServiceProcess(n, p, env, workdir / f"{n}.log") for n, p in ports.items()]
    admin = await asyncpg.connect(dsn)
    try:
        for schema in (orders_schema, showcase_schema):
            await admin.execute(f'CREATE SCHEMA "{schema}"')
        await _seed(url, orders_schema, showcase_schema, stock)
        for service in services:
            service.start()
        await asyncio.gather(*(asyncio.to_thread(s.wait_ready) for s in services))
        yield StackUnderLoad(
            storefront_url=services[2].base_url,
            notifier_url=services[1].base_url,
            room_id=ROOM_ID,
            orders_schema=orders_schema,
            logs=workdir,
            pids={s.name: s.process.pid for s in services if s.process},
        )
    finally:
        for service in services:
            service.stop_soon()
        await asyncio.gather(*(asyncio.to_thread(s.terminate) for s in services))
        await _delete_streams(redis_url, prefix)
        for schema in (orders_schema, showcase_schema):
            await admin.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await admin.close()


async def _seed(
    url: str, orders_schema: str, showcase_schema: str, stock: Mapping[str, int]
) -> None:
    products = [DemoProduct(sku, f"Load {sku}", PRICE_MINOR, "EUR", n) for sku, n in stock.items()]
    orders = make_engine(url, schema=orders_schema)
    showcase = make_engine(url, schema=showcase_schema)
    try:
        await seed_products(
            orders,
            [ProductStock(p.sku, p.title, p.price_minor, p.currency, p.stock) for p in products],
        )
        await seed_showcase(
            showcase, seller_id="load-seller", seller_name="Load seller", room_id=ROOM_ID,
            room_title="Load test room", products=products,
        )  # fmt: skip
    finally:
        await orders.dispose()
        await showcase.dispose()


async def _delete_streams(redis_url: str, prefix: str) -> None:
    redis = Redis.from_url(redis_url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=1000)]
        for start in range(0, len(keys), 1000):
            await redis.delete(*keys[start : start + 1000])
    finally:
        await redis.aclose()


async def audit_orders_db(dsn: str, schema: str, stock: Mapping[str, int]) -> dict[str, Any]:
    """Per sku: sold ≤ initial and sold + available + reserved = initial; orders by outcome."""
    conn = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        rows = await conn.fetch(
            "SELECT sku, available, reserved, sold FROM products WHERE sku = ANY($1::text[])",
            list(stock),
        )
        by_outcome = await conn.fetch(
            "SELECT status, reason, count(*) AS n FROM orders GROUP BY status, reason"
        )
        # The marketplace's own pace, whatever the SSE delivery did: first order created to
        # last final state written, by the orders service's clock.
        pace = await _final_orders_pace(conn)
    finally:
        await conn.close()
    broken = [
        dict(row) for row in rows
        if row["sold"] > stock[row["sku"]]
        or row["sold"] + row["available"] + row["reserved"] != stock[row["sku"]]
    ]  # fmt: skip
    return {
        "checked": True,
        "oversold": sum(max(0, row["sold"] - stock[row["sku"]]) for row in rows),
        "stock_mismatches": broken,
        "sold": sum(row["sold"] for row in rows),
        "reserved": sum(row["reserved"] for row in rows),
        "final_orders_per_second": pace,
        "orders": {
            f"{r['status']}:{r['reason']}" if r["reason"] else r["status"]: r["n"]
            for r in by_outcome
        },
    }


async def _final_orders_pace(conn: asyncpg.Connection) -> float | None:
    """Final orders per second from the first order created to the last final state
    written; None if the orders table has no such timestamps (any more)."""
    try:
        pace = await conn.fetchrow(
            "SELECT count(*) AS n, extract(epoch FROM max(updated_at) - min(created_at)) AS s "
            "FROM orders WHERE status IN ('confirmed', 'rejected', 'expired')"
        )
    except asyncpg.UndefinedColumnError:
        return None
    return round(pace["n"] / float(pace["s"]), 1) if pace and pace["s"] else None


class CpuMeter:
    """CPU seconds used by the stack's processes (from /proc), by Redis (INFO cpu) and by
    PostgreSQL (every `postgres` process that lived through the run), to say where the
    time went. Redis and PostgreSQL may be shared: their figures count others' work too."""

    def __init__(self, pids: Mapping[str, int], redis_url: str) -> None:
        self.pids, self.redis_url = pids, redis_url

    async def snapshot(self) -> dict[str, float]:
        # A service may run several uvicorn workers: count its whole process tree.
        trees = {name: _process_tree(pid) for name, pid in self.pids.items()}
        used = {name: sum(map(_process_cpu_seconds, tree)) for name, tree in trees.items()}
        # schedstat: how long each service sat runnable, waiting for a CPU (main threads).
        used.update({f"wait:{name}": sum(map(_runqueue_seconds, t)) for name, t in trees.items()})
        # PSI "some": time any runnable task on the machine (ours or not) waited for a CPU.
        used["machine_cpu_pressure"] = _cpu_pressure_seconds()
        used.update({f"pg:{pid}": _process_cpu_seconds(pid) for pid in _postgres_pids()})
        redis = Redis.from_url(self.redis_url)
        try:
            info = await redis.info("cpu")
            used["redis"] = float(info["used_cpu_user"]) + float(info["used_cpu_sys"])
        except (RedisError, OSError):
            pass  # a running stack's Redis may be out of reach: no figure rather than a guess
        finally:
            await redis.aclose()
        return used

    @staticmethod
    def shares(
        before: Mapping[str, float], after: Mapping[str, float], seconds: float
    ) -> dict[str, Any]:
        """Share of one core each process used in between (2.0 would be two cores), and
        under `waiting_for_cpu` the share of the time each service waited for one."""
        used = {name: after[name] - before[name] for name in before if name in after}
        backends = [name for name in used if name.startswith("pg:")]
        used["postgres_shared"] = sum(used.pop(name) for name in backends)
        shares: dict[str, Any] = {"waiting_for_cpu": {}}
        for name, seconds_used in used.items():
            if name.startswith("wait:"):
                shares["waiting_for_cpu"][name[5:]] = round(seconds_used / seconds, 2)
            else:
                shares[name] = round(seconds_used / seconds, 2)
        return shares


def _process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (a worker that ends between two snapshots drops out)."""
    tree, index = [pid], 0
    while index < len(tree):
        children = Path(f"/proc/{tree[index]}/task/{tree[index]}/children")
        with contextlib.suppress(OSError):
            tree.extend(int(child) for child in children.read_text().split())
        index += 1
    return tree


def _runqueue_seconds(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def _postgres_pids() -> list[int]:
    pids = []
    for comm in Path("/proc").glob("[0-9]*/comm"):
        with contextlib.suppress(OSError):
            if comm.read_text().strip() == "postgres":
                pids.append(int(comm.parent.name))
    return pids


def _cpu_pressure_seconds() -> float:
    try:
        some = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return 0.0
    return int(some.rsplit("total=", 1)[1]) / 1e6


def _process_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
