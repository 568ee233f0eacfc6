"""Run the orders service in-process against a real Redis and database, and look inside it."""

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any, TypeVar

import pytest
from redis.asyncio import Redis
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col

from contracts import (
    CancellationRequested,
    CancellationRequestedEvent,
    Envelope,
    FlashDealRequested,
    FlashDealRequestedEvent,
    encode_entry,
    utc_now,
)
from services.orders.adapters.tables import OrderRow, ProductRow
from services.orders.config import OrdersSettings
from services.orders.entrypoints.app import OrdersRuntime, build_runtime
from services.orders.seed import ProductStock, seed_products
from tests.conftest import Database

T = TypeVar("T")


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
        "payment_mode": "wallet",  # charged at once; hosted payment's tests say hosted
    }
    values.update(overrides)
    return OrdersSettings(**values)


@contextlib.asynccontextmanager
async def running_orders(
    settings: OrdersSettings, stock: dict[str, int], *, seller_id: str | None = None
) -> AsyncIterator[OrdersRuntime]:
    """The orders service's runtime (consumer group, relay, expiry, upkeep), stock seeded
    (each product at 1000 EUR minor units, of `seller_id` if given)."""
    runtime = build_runtime(settings)
    await seed_products(
        runtime.engine,
        [
            ProductStock(sku, f"Product {sku}", 1000, "EUR", units, seller_id)
            for sku, units in stock.items()
        ],
    )
    async with runtime.running():
        yield runtime


async def product(runtime: OrdersRuntime, sku: str) -> ProductRow:
    async with async_sessionmaker(runtime.engine)() as session:
        row = await session.get(ProductRow, sku)
        assert row is not None
        return row


async def row(runtime: OrdersRuntime, model: type[T], key: str) -> T | None:
    """The row of `model` with primary key `key`, as stored now."""
    async with async_sessionmaker(runtime.engine)() as session:
        return await session.get(model, key)


async def order_of(runtime: OrdersRuntime, checkout_id: str) -> OrderRow:
    async with async_sessionmaker(runtime.engine)() as session:
        found: OrderRow | None = await session.scalar(
            select(OrderRow).where(col(OrderRow.checkout_id) == checkout_id)
        )
        assert found is not None, f"no order for {checkout_id}"
        return found


async def publish_event(client: Redis, stream: str, event: Envelope[Any]) -> None:
    """XADD `event` as the storefront would (the language-neutral wire format)."""
    await client.xadd(stream, encode_entry(event))  # type: ignore[arg-type]


def flash_deal(
    *, sku: str, seller_id: str, room_id: str = "room-1", **overrides: Any
) -> FlashDealRequestedEvent:
    """A `flash_deal.requested` running from a minute ago for an hour, unless overridden."""
    now = utc_now()
    values: dict[str, Any] = {
        "deal_id": f"deal-{uuid.uuid4().hex[:12]}",
        "seller_id": seller_id,
        "room_id": room_id,
        "sku": sku,
        "price_minor": 600,
        "units_cap": 10,
        "per_buyer_limit": 2,
        "starts_at": now - timedelta(minutes=1),
        "ends_at": now + timedelta(hours=1),
    }
    values.update(overrides)
    data = FlashDealRequested(**values)
    return FlashDealRequestedEvent.new(correlation_id=data.deal_id, producer="test", data=data)


def cancellation(*, checkout_id: str, buyer_id: str) -> CancellationRequestedEvent:
    data = CancellationRequested(checkout_id=checkout_id, buyer_id=buyer_id)
    return CancellationRequestedEvent.new(correlation_id=checkout_id, producer="test", data=data)


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
