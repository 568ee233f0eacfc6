"""The storefront's composition root: settings, database, broker and HTTP app wired together."""

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from faststream.redis import RedisBroker
from sqlalchemy.exc import SQLAlchemyError

from contracts import ProductSnapshot, RoomChangedEvent, RoomSalesChangedEvent
from services.common.db import make_engine
from services.common.http import add_operational_routes, broker_check, database_check
from services.common.rate_limits import install_rate_limits
from services.common.streams.faststream_internals import mark_broker_running
from services.common.tracing import http_telemetry
from services.storefront import service
from services.storefront.adapters.catalog_start import reader_starts
from services.storefront.adapters.idempotency import RedisIdempotencyLedger
from services.storefront.adapters.publisher import StreamCheckoutPublisher, StreamEventPublisher
from services.storefront.adapters.repository import (
    CachedRoomReader,
    SqlFiguresWriter,
    SqlRoomRepository,
    SqlShowcaseWriter,
    SqlViewerLog,
)
from services.storefront.adapters.room_directory import SqlRoomDirectory
from services.storefront.adapters.sellers import SqlLiveControl, SqlSellerAccounts
from services.storefront.adapters.tokens import RememberedTokens
from services.storefront.config import StorefrontSettings
from services.storefront.entrypoints import (
    buyer_orders,
    chat_routes,
    pages,
    routes,
    seller_api,
    seller_pages,
    seller_session,
    sessions,
)
from services.storefront.entrypoints.checkout_metrics import CheckoutMetrics
from services.storefront.entrypoints.deps import StorefrontDeps
from services.storefront.entrypoints.errors import install_error_handlers
from services.storefront.entrypoints.messaging import build_broker
from services.storefront.entrypoints.rate_limits import storefront_rate_limits
from services.storefront.live_catalog import LiveCatalog
from services.storefront.live_control import LiveControl, announce_rooms
from services.storefront.migrations import STOREFRONT_MIGRATIONS
from services.storefront.service import EventUnavailable, LiveEventPublisher

log = logging.getLogger(__name__)

ANNOUNCE_SECONDS = 15.0


def create_app(settings: StorefrontSettings | None = None) -> FastAPI:
    """The storefront app. Builds its engine but connects nothing until the lifespan starts,
    which migrates (or checks) the database, finds where to read the catalog from, and
    starts the broker."""
    settings = settings or StorefrontSettings()
    engine = make_engine(
        settings.database_url,
        schema=settings.database_schema,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    catalog = LiveCatalog()
    showcase = SqlShowcaseWriter(engine)
    figures = SqlFiguresWriter(engine)
    rooms = CachedRoomReader(SqlRoomRepository(engine), ttl=settings.room_cache_seconds)
    rate_limits = storefront_rate_limits(settings)

    async def on_catalog_changed(products: Sequence[ProductSnapshot]) -> None:
        await service.apply_catalog_change(catalog=catalog, showcase=showcase, products=products)

    async def on_room_sales(event: RoomSalesChangedEvent) -> None:
        await service.apply_room_sales(figures=figures, event=event)

    async def on_room_changed(event: RoomChangedEvent) -> None:
        rooms.forget(event.data.room_id)  # another replica changed it: read it afresh

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Production refuses a database not at head; development migrates it (see Migrations).
        await STOREFRONT_MIGRATIONS.prepare(engine, production=settings.is_production)
        # The readers' starts are found now (newest entries), so the broker is built here.
        broker = build_broker(
            settings,
            on_catalog_changed=on_catalog_changed,
            on_room_sales=on_room_sales,
            on_room_changed=on_room_changed,
            starts=await reader_starts(settings),
        )
        app.state.broker = broker
        events = StreamEventPublisher(settings.streams, client=broker.connect)
        app.state.deps = StorefrontDeps(
            settings=settings,
            rooms=rooms,
            stock=catalog,
            publisher=StreamCheckoutPublisher(
                settings.streams,
                client=broker.connect,
                wait_seconds=settings.checkout_wait_seconds,
            ),
            ledger=RedisIdempotencyLedger(
                settings.streams,
                client=broker.connect,
                ttl_seconds=settings.idempotency_ttl_seconds,
                wait_seconds=settings.checkout_wait_seconds,
            ),
            tokens=RememberedTokens(settings.buyer_tokens),
            events=events,
            viewers=SqlViewerLog(engine),
            accounts=SqlSellerAccounts(engine),
            control=LiveControl(store=SqlLiveControl(engine), events=events, cache=rooms),
        )
        await start_broker(broker)
        # Behind the start: with Redis away it would hold up serving for nothing.
        announcing = asyncio.create_task(announce_rooms_at_start(SqlRoomDirectory(engine), events))
        try:
            yield
        finally:
            announcing.cancel()
            await broker.stop()
            await engine.dispose()
            await rate_limits.close()

    app = FastAPI(
        title="livecart storefront",
        summary="Live rooms, pinned products and the buy button; checkouts go to the marketplace. "
        "Sellers run their lives here: rooms, pins, flash deals, reports.",
        lifespan=lifespan,
        # Starlette refuses a larger body from its Content-Length, before reading it,
        # and counts the bytes of a chunked one as they arrive.
        max_body_size=settings.max_body_bytes,
        telemetry=http_telemetry(settings.service_name),
    )
    app.state.broker = None
    app.add_middleware(CheckoutMetrics)
    install_error_handlers(app)
    install_rate_limits(app, rate_limits)
    app.include_router(sessions.router)
    app.include_router(routes.router)
    app.include_router(seller_session.router)
    app.include_router(seller_api.router)
    app.include_router(seller_pages.router)
    chat_routes.install(app)
    app.include_router(pages.router)
    app.include_router(buyer_orders.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")

    async def broker_ready() -> bool:
        broker = app.state.broker
        return broker is not None and await broker_check(broker)()

    add_operational_routes(app, {"redis": broker_ready, "database": database_check(engine)})
    return app


async def announce_rooms_at_start(directory: SqlRoomDirectory, events: LiveEventPublisher) -> None:
    """Announce every room on `room.changed` (the notifier streams announced rooms only);
    best effort: with Redis or the database away the storefront serves anyway, and the
    rooms are announced at its next start or with their next change."""
    try:
        async with asyncio.timeout(ANNOUNCE_SECONDS):
            count = await announce_rooms(directory=directory, events=events)
    except (TimeoutError, EventUnavailable, SQLAlchemyError) as exc:
        log.warning("rooms not announced at start-up: %r", exc)
        return
    log.info("announced %d rooms on room.changed", count)


async def start_broker(broker: RedisBroker) -> None:
    """Start the broker, even with Redis unreachable: serve anyway (checkouts answer 503,
    /ready says why) while FastStream retries each reader until Redis answers.

    FastStream's start gives up at the first reader whose first read does not return
    within a few seconds, leaving the readers after it unstarted: they are started here,
    together, so a storefront that came up without Redis follows every stream once it is
    back.
    """
    try:
        await broker.start()
        return
    except TimeoutError:
        log.warning("Redis unreachable at start-up; serving, and retrying the readers")
    waiting = [sub for sub in broker.subscribers if not sub.running]
    outcomes = await asyncio.gather(*(sub.start() for sub in waiting), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException) and not isinstance(outcome, TimeoutError):
            raise outcome
    for publisher in broker.publishers:
        await publisher.start()
    mark_broker_running(broker)
