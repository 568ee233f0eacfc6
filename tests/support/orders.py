"""Run the orders service in-process against a real Redis and database, and look inside it."""

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker

from services.orders.adapters.tables import ProductRow
from services.orders.config import OrdersSettings
from services.orders.entrypoints.app import OrdersRuntime, build_runtime
from services.orders.seed import ProductStock, seed_products
from tests.conftest import Database


def orders_settings(
    database: Database, redis_url: str, stream_prefix: str, **overrides: Any
) -> OrdersSettings:
    values: dict[str, Any] = {
        "redis_url": redis_url,
        "stream_prefix": stream_prefix,
        "database_url": database.url,
        "database_schema": database.schema,
        "payment_timeout_seconds": 0.2,
        "relay_idle_seconds": 0.1,
        "claim_idle_ms": 500,
        "upkeep_seconds": 0.2,
        "expiry_scan_seconds": 0.1,
    }
    values.update(overrides)
    return OrdersSettings(**values)


@contextlib.asynccontextmanager
async def running_orders(
    settings: OrdersSettings, stock: dict[str, int]
) -> AsyncIterator[OrdersRuntime]:
    """The orders service's runtime (consumer group, relay, expiry, upkeep), stock seeded."""
    runtime = build_runtime(settings)
    await seed_products(
        runtime.engine,
        [ProductStock(sku, f"Product {sku}", 1000, "EUR", units) for sku, units in stock.items()],
    )
    async with runtime.running():
        yield runtime


async def product(runtime: OrdersRuntime, sku: str) -> ProductRow:
    async with async_sessionmaker(runtime.engine)() as session:
        row = await session.get(ProductRow, sku)
        assert row is not None
        return row


async def count(runtime: OrdersRuntime, model: Any) -> int:
    async with async_sessionmaker(runtime.engine)() as session:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def break_payments(monkeypatch: pytest.MonkeyPatch, gateway: Any) -> Callable[[], None]:
    """Make every charge raise, as a bug in the payment adapter would; returns the fix."""
    real = {name: getattr(gateway, name) for name in ("charge", "charge_many")}

    async def broken(*_: Any) -> Any:
        raise RuntimeError("payment adapter bug")

    for name in real:
        monkeypatch.setattr(gateway, name, broken)

    def fix() -> None:
        for name, method in real.items():
            monkeypatch.setattr(gateway, name, method)

    return fix
