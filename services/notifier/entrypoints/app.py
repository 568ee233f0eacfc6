"""Composition root of the notifier: settings, hub, broker and the FastAPI app."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from services.common.http import add_operational_routes, broker_check
from services.notifier.config import NotifierSettings
from services.notifier.entrypoints.messaging import build_broker
from services.notifier.entrypoints.routes import build_router
from services.notifier.hub import StatusHub


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    """The notifier app; the broker connects when the lifespan starts, not before."""
    settings = settings or NotifierSettings()
    hub = StatusHub(max_checkouts=settings.max_checkouts, history_seconds=settings.history_seconds)
    broker = build_broker(settings, hub)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await broker.start()
        try:
            yield
        finally:
            await broker.stop()
            # Nothing feeds the hub any more: open streams end, and browsers
            # reconnect to another replica with their Last-Event-ID.
            hub.close()

    app = FastAPI(
        title="livecart notifier",
        summary="Order statuses pushed to live rooms over Server-Sent Events.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.hub = hub
    app.state.broker = broker
    # The live room page is served by the storefront on another origin.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET"],
        allow_headers=["Last-Event-ID"],
    )
    app.include_router(build_router(hub, heartbeat_seconds=settings.heartbeat_seconds))
    add_operational_routes(app, {"redis": broker_check(broker)})
    return app
