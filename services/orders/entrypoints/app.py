"""Composition root of the orders service: settings, engine, broker, relay and HTTP app."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from fastapi import FastAPI
from faststream.redis import RedisBroker
from sqlalchemy.ext.asyncio import AsyncEngine

from contracts import CancellationRequestedEvent, CheckoutRequestedEvent, FlashDealRequestedEvent
from services.common.db import make_engine
from services.common.http import add_operational_routes, broker_check, database_check
from services.common.logs import correlated
from services.common.streams.delivery import PoisonEntry
from services.common.tasks import Stopping, finish_tasks, stop_tasks
from services.common.tracing import http_telemetry
from services.orders.adapters.outbox import OutboxRelay
from services.orders.adapters.payments import SandboxWalletGateway
from services.orders.adapters.repository import unit_of_work_factory
from services.orders.adapters.snapshots import SnapshotPublisher
from services.orders.config import OrdersSettings
from services.orders.domain import (
    CancelWindowClosed,
    DealRefused,
    IllegalTransition,
    NotFound,
    NotYours,
)
from services.orders.entrypoints.messaging import (
    build_orders_broker,
    checkout_consumers,
    live_request_consumers,
    register_live_requests,
)
from services.orders.migrations import ORDERS_MIGRATIONS
from services.orders.payment_page import PaymentLinks, PaymentTickets
from services.orders.seller_service import record_flash_deal
from services.orders.service import (
    cancel_for_buyer,
    expire_overdue_reservations,
    place_order,
    place_orders,
    refund_cancellations,
)

log = logging.getLogger(__name__)

STOP_LOOPS_SECONDS = 5.0
"""How long the background loops get to end their round at shutdown."""

REFUND_GRACE_SECONDS = 2.0
"""A cancelled order older than this without its refund was left by a crash: the expiry
loop refunds it (a younger one is still on its way from cancel to refund)."""


@dataclass
class OrdersRuntime:
    """Everything the running service holds; tests reach it through `app.state.runtime`."""

    settings: OrdersSettings
    engine: AsyncEngine
    gateway: SandboxWalletGateway
    broker: RedisBroker = field(init=False)
    relay: OutboxRelay | None = None
    snapshots: SnapshotPublisher | None = None
    stopping: Stopping = field(default_factory=Stopping)

    def __post_init__(self) -> None:
        self.uow = unit_of_work_factory(self.engine, streams=self.settings.streams)
        self.payment_link = payment_link_of(self.settings)
        self.groups = checkout_consumers(self.settings)
        self.broker = build_orders_broker(
            self.settings, self.groups, self.on_checkout, self.on_checkouts
        )
        consumer = self.groups[0].consumer
        self.live_groups = live_request_consumers(self.settings, consumer=consumer)
        register_live_requests(
            self.settings, self.broker, self.live_groups, self.on_flash_deal, self.on_cancellation
        )

    async def on_checkout(self, event: CheckoutRequestedEvent) -> None:
        with correlated(event.data.checkout_id):
            await place_order(
                uow=self.uow,
                gateway=self.gateway,
                checkout=event.data,
                max_quantity=self.settings.max_quantity_per_item,
                requested_at=event.occurred_at,
                payment_link=self.payment_link,
            )
        self.note_change(event.data.room_id, [item.sku for item in event.data.items])
        self.wake_relay()

    async def on_checkouts(self, events: Sequence[CheckoutRequestedEvent]) -> None:
        await place_orders(
            uow=self.uow,
            gateway=self.gateway,
            checkouts=[(event.data, event.occurred_at) for event in events],
            max_quantity=self.settings.max_quantity_per_item,
            payment_link=self.payment_link,
        )
        for event in events:
            self.note_change(event.data.room_id, [item.sku for item in event.data.items])
        self.wake_relay()

    async def on_flash_deal(self, event: FlashDealRequestedEvent) -> None:
        request = event.data
        with correlated(request.deal_id):
            try:
                await record_flash_deal(uow=self.uow, request=request)
            except DealRefused as exc:
                # It can never succeed: dead-lettered at once with the reason, not retried.
                raise PoisonEntry(exc.reason, str(exc)) from exc
        self.note_change(None, [request.sku])

    async def on_cancellation(self, event: CancellationRequestedEvent) -> None:
        request = event.data
        with correlated(request.checkout_id):
            try:
                order = await cancel_for_buyer(
                    uow=self.uow,
                    gateway=self.gateway,
                    checkout_id=request.checkout_id,
                    buyer_id=request.buyer_id,
                    window=timedelta(seconds=self.settings.buyer_cancel_window_seconds),
                )
            except (NotFound, NotYours, IllegalTransition, CancelWindowClosed) as exc:
                # A refusal is an answer, not bad input: acknowledged, nothing changes.
                log.info("cancellation of %s by %s refused: %s (%s)", request.checkout_id,
                         request.buyer_id, exc.reason, exc)  # fmt: skip
                return
        self.changed(skus=[line.sku for line in order.lines], room_id=order.room_id)

    def note_change(self, room_id: str | None, skus: Iterable[str]) -> None:
        if self.snapshots is not None:
            self.snapshots.touched(room_id=room_id, skus=skus)

    def changed(self, *, skus: Iterable[str], room_id: str | None = None) -> None:
        """Products (`skus`), stock, deals or a room's orders changed outside a checkout
        (the seller console): their snapshots go out in the next round, the statuses at once."""
        self.note_change(room_id, skus)
        self.wake_relay()

    async def expire_reservations(self) -> None:
        """Expire reservations left unpaid past the hold time, until stopping."""
        while not self.stopping:
            await self.stopping.wait(self.settings.expiry_scan_seconds)
            try:
                expired = await expire_overdue_reservations(
                    uow=self.uow, hold_seconds=self.settings.hold_seconds
                )
                refunded = await refund_cancellations(
                    uow=self.uow, gateway=self.gateway, older_than_seconds=REFUND_GRACE_SECONDS
                )
                for order in [*expired, *refunded]:
                    self.note_change(order.room_id, [line.sku for line in order.lines])
                if expired or refunded:
                    self.wake_relay()
            except Exception:
                log.warning("reservation expiry failed; retrying", exc_info=True)

    async def sample_outbox(self) -> None:
        """Outbox backlog gauges, every few seconds (never per request)."""
        while not self.stopping:
            await self.stopping.wait(self.settings.metrics_sample_seconds)
            if self.relay is not None:
                with contextlib.suppress(Exception):
                    await self.relay.sample_backlog()

    def wake_relay(self) -> None:
        if self.relay is not None:
            self.relay.wake()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        # Production refuses a database not at head; development migrates it (see Migrations).
        await ORDERS_MIGRATIONS.prepare(self.engine, production=self.settings.is_production)
        client = await self.broker.connect()
        for group in [*self.groups, *self.live_groups]:
            await group.ensure_group(client)
        self.relay = OutboxRelay(
            self.engine,
            client,
            batch_size=self.settings.relay_batch_size,
            idle_seconds=self.settings.relay_idle_seconds,
            history_maxlen=self.settings.buyer_history_maxlen,
            history_ttl_seconds=self.settings.buyer_history_ttl_seconds,
        )
        self.snapshots = SnapshotPublisher(
            self.engine,
            client,
            self.settings.streams,
            interval=self.settings.snapshot_interval_seconds,
        )
        await self.broker.start()
        upkeep = [
            asyncio.create_task(
                group.run_upkeep(self.broker, client), name=f"upkeep {group.stream}"
            )
            for group in [*self.groups, *self.live_groups]
        ]
        tasks = [
            asyncio.create_task(self.snapshots.run(self.stopping), name="snapshots"),
            asyncio.create_task(self.sample_outbox(), name="outbox-metrics"),
            asyncio.create_task(self.relay.run(self.stopping), name="outbox-relay"),
            asyncio.create_task(self.expire_reservations(), name="reservation-expiry"),
        ]
        try:
            yield
        finally:
            # The group upkeep first: it would take the subscribers stopping below for
            # lost ones and start them again on a closing connection.
            await stop_tasks(upkeep)
            # Stop fetching and let in-flight handlers finish (what was fetched but not
            # started stays pending for the other replicas), then flush the outbox.
            await self.broker.stop()
            # The loops end their round (a transaction cancelled halfway would leave a
            # SQLite file locked); one that outlasts the bound is cancelled.
            await finish_tasks(tasks, self.stopping, within=STOP_LOOPS_SECONDS)
            try:
                while await self.relay.publish_pending():
                    pass
            except Exception:
                log.warning("outbox not flushed at shutdown; another replica will", exc_info=True)
            await self.engine.dispose()


def payment_link_of(settings: OrdersSettings) -> PaymentLinks | None:
    """The hosted payment page's links (None in `wallet` mode: charged at once)."""
    if settings.payment_mode != "hosted":
        return None
    tickets = PaymentTickets(
        settings.payment_ticket_secret.get_secret_value(),
        timedelta(seconds=settings.hold_seconds),
    )
    return PaymentLinks(settings.public_url, tickets)


def build_runtime(settings: OrdersSettings) -> OrdersRuntime:
    engine = make_engine(
        settings.database_url,
        schema=settings.database_schema,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    gateway = SandboxWalletGateway(
        engine,
        demo_balance_minor=settings.demo_wallet_balance_minor,
        timeout_seconds=settings.payment_timeout_seconds,
    )
    return OrdersRuntime(settings=settings, engine=engine, gateway=gateway)


def create_app(settings: OrdersSettings | None = None) -> FastAPI:
    """The orders HTTP app (health, readiness, metrics, the seller console); its lifespan
    runs the consumer."""
    runtime = build_runtime(settings or OrdersSettings())

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with runtime.running():
            yield

    app = FastAPI(
        title="livecart orders",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        telemetry=http_telemetry(runtime.settings.service_name),
    )
    app.state.runtime = runtime
    add_operational_routes(
        app, {"redis": broker_check(runtime.broker), "database": database_check(runtime.engine)}
    )
    from services.orders.entrypoints.console import install_console  # it imports this module
    from services.orders.entrypoints.payment import install_payment_page  # this one too

    install_console(app, runtime)
    install_payment_page(app, runtime)
    return app
