"""Composition root of the orders service: settings, engine, broker, relay and HTTP app."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from fastapi import FastAPI
from faststream.redis import RedisBroker
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts import CheckoutRequestedEvent
from services.common.db import create_tables, make_engine
from services.common.http import add_operational_routes, broker_check, database_check
from services.orders.adapters.outbox import OutboxRelay
from services.orders.adapters.payments import SandboxWalletGateway
from services.orders.adapters.repository import unit_of_work_factory
from services.orders.adapters.tables import OrdersTable
from services.orders.config import OrdersSettings
from services.orders.entrypoints.messaging import build_orders_broker, ensure_group
from services.orders.service import place_order


@dataclass
class OrdersRuntime:
    """Everything the running service holds; tests reach it through `app.state.runtime`."""

    settings: OrdersSettings
    engine: AsyncEngine
    gateway: SandboxWalletGateway
    broker: RedisBroker = field(init=False)
    relay: OutboxRelay | None = None

    def __post_init__(self) -> None:
        self.uow = unit_of_work_factory(
            self.engine, status_stream=self.settings.streams.order_status
        )
        self.broker = build_orders_broker(self.settings, self.on_checkout)

    async def on_checkout(self, event: CheckoutRequestedEvent) -> None:
        await place_order(
            uow=self.uow,
            gateway=self.gateway,
            checkout=event.data,
            max_quantity=self.settings.max_quantity_per_item,
        )
        if self.relay is not None:
            self.relay.wake()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        await create_tables(self.engine, OrdersTable.metadata)
        client = await self.broker.connect()
        await ensure_group(client, self.settings)
        self.relay = OutboxRelay(
            self.engine,
            client,
            batch_size=self.settings.relay_batch_size,
            idle_seconds=self.settings.relay_idle_seconds,
        )
        relay_task = asyncio.create_task(self.relay.run(), name="outbox-relay")
        await self.broker.start()
        try:
            yield
        finally:
            # Stop fetching and let in-flight handlers finish, then flush the outbox.
            await self.broker.stop()
            relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relay_task
            with contextlib.suppress(Exception):
                while await self.relay.publish_pending():
                    pass
            await self.engine.dispose()


def build_runtime(settings: OrdersSettings) -> OrdersRuntime:
    engine = make_engine(settings.database_url, schema=settings.database_schema)
    gateway = SandboxWalletGateway(
        engine,
        demo_balance_minor=settings.demo_wallet_balance_minor,
        timeout_seconds=settings.payment_timeout_seconds,
    )
    return OrdersRuntime(settings=settings, engine=engine, gateway=gateway)


def create_app(settings: OrdersSettings | None = None) -> FastAPI:
    """The orders HTTP app (health, readiness, metrics); its lifespan runs the consumer."""
    runtime = build_runtime(settings or OrdersSettings())

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with runtime.running():
            yield

    app = FastAPI(title="livecart orders", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.runtime = runtime
    add_operational_routes(
        app, {"redis": broker_check(runtime.broker), "database": database_check(runtime.engine)}
    )
    return app
