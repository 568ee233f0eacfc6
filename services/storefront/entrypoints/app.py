"""The storefront's composition root: settings, database, broker and HTTP app wired together."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from services.common.db import create_tables, make_engine
from services.common.http import add_operational_routes, broker_check, database_check
from services.storefront.adapters.publisher import StreamCheckoutPublisher
from services.storefront.adapters.repository import CachedRoomReader, SqlRoomRepository
from services.storefront.adapters.tables import storefront_metadata
from services.storefront.config import StorefrontSettings
from services.storefront.entrypoints import pages, routes
from services.storefront.entrypoints.deps import StorefrontDeps
from services.storefront.entrypoints.errors import install_error_handlers
from services.storefront.entrypoints.messaging import build_broker


def create_app(settings: StorefrontSettings | None = None) -> FastAPI:
    """The storefront app. Builds its engine and broker but connects nothing until the
    lifespan starts (which creates the tables and starts the broker)."""
    settings = settings or StorefrontSettings()
    engine = make_engine(settings.database_url, schema=settings.database_schema)
    messaging = build_broker(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await create_tables(engine, storefront_metadata)
        await messaging.broker.start()
        try:
            yield
        finally:
            await messaging.broker.stop()
            await engine.dispose()

    app = FastAPI(
        title="livecart storefront",
        summary="Live rooms, pinned products and the buy button; checkouts go to the marketplace.",
        lifespan=lifespan,
        # Starlette refuses a larger body from its Content-Length, before reading it,
        # and counts the bytes of a chunked one as they arrive.
        max_body_size=settings.max_body_bytes,
    )
    app.state.deps = StorefrontDeps(
        settings=settings,
        rooms=CachedRoomReader(SqlRoomRepository(engine), ttl=settings.room_cache_seconds),
        publisher=StreamCheckoutPublisher(messaging.checkout_requested),
    )
    install_error_handlers(app)
    app.include_router(routes.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=pages.STATIC_DIR), name="static")
    add_operational_routes(
        app, {"redis": broker_check(messaging.broker), "database": database_check(engine)}
    )
    return app
