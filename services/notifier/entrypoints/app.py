"""Composition root of the notifier: settings, hubs, Redis reads, readers and the FastAPI app."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError
from sse_starlette import EventSourceResponse

from services.common.http import add_operational_routes, broker_check
from services.common.rate_limits import (
    TOO_MANY_REQUESTS,
    RateLimit,
    SharedRateLimits,
    install_rate_limits,
    per_address,
    redis_storage,
)
from services.common.streams.broker import redis_client
from services.common.tracing import http_telemetry
from services.common.validation import invalid_request
from services.notifier.adapters.buyer_history import RedisBuyerHistory
from services.notifier.adapters.reader_start import reader_start
from services.notifier.adapters.room_directory import learn_announced_rooms
from services.notifier.capacity import ConnectionSlots
from services.notifier.config import NotifierSettings
from services.notifier.entrypoints.auth import Refused, refused_response
from services.notifier.entrypoints.connections import (
    TOO_MANY_CONNECTIONS,
    ConnectionCap,
    NotifierApp,
)
from services.notifier.entrypoints.messaging import build_broker
from services.notifier.entrypoints.room_routes import build_room_router
from services.notifier.entrypoints.routes import build_router
from services.notifier.hub import StatusHub
from services.notifier.known_rooms import KnownRooms
from services.notifier.rooms import RoomHub


def _history_client(settings: NotifierSettings) -> Redis:
    """The client that resumes buyer streams (reads their history)."""
    if settings.redis_cluster:
        # redis-py's cluster client has no blocking pool: each node's pool answers
        # "Too many connections" past `redis_max_connections`.
        return redis_client(
            str(settings.redis_url), cluster=True, max_connections=settings.redis_max_connections
        )
    # A burst of reconnects resumes thousands of streams at once: they queue for a
    # connection rather than fail (a plain pool refuses the 101st with an error).
    return Redis.from_pool(  # owns the pool: closing the client closes it
        BlockingConnectionPool.from_url(
            str(settings.redis_url),
            max_connections=settings.redis_max_connections,
            timeout=settings.redis_wait_seconds,
        )
    )


CONNECTS_PER_ADDRESS = "sse_connects_per_address"


def connect_rate_limits(settings: NotifierSettings) -> SharedRateLimits:
    """`/events/...` connects per client address, counted in Redis across replicas."""
    connects = RateLimit.of(
        CONNECTS_PER_ADDRESS,
        "event-stream connects from one address",
        settings.rate_limit_connects_per_address,
    )
    return SharedRateLimits(redis_storage(settings), [connects])


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    """The notifier app; Redis is first touched when the lifespan starts, not before."""
    settings = settings or NotifierSettings()
    statuses = StatusHub(max_checkouts=settings.max_checkouts)
    rooms = RoomHub(
        interval=settings.room_push_seconds,
        max_pending=settings.max_pending_purchases,
        chat_history=settings.chat_history,
    )
    redis = _history_client(settings)
    history = RedisBuyerHistory(redis, settings.streams)
    known = KnownRooms()
    rate_limits = connect_rate_limits(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The readers start at the newest entries, found now: a restart costs a few
        # hundred entries per stream, whatever their length.
        start = await reader_start(redis, settings)
        # Which rooms exist: every announcement still in `room.changed` (bounded by its
        # trimming), before the reader takes the ones that come next.
        await learn_announced_rooms(redis, settings.streams.room_changed, known)
        broker = app.state.broker = build_broker(
            settings, statuses=statuses, rooms=rooms, start=start, known=known
        )
        await broker.start()
        upkeep = asyncio.create_task(
            rooms.keep_up(
                heartbeat=settings.heartbeat_seconds, send_timeout=settings.send_timeout_seconds
            )
        )
        # uvicorn waits for open responses before it runs the shutdown below: room
        # streams end when it is told to exit, as sse-starlette's buyer streams do.
        exit_watch = asyncio.create_task(_close_on_exit(rooms))
        try:
            yield
        finally:
            upkeep.cancel()
            exit_watch.cancel()
            await broker.stop()
            # Nothing rings any more: open streams end, and browsers reconnect to
            # another replica with their Last-Event-ID.
            statuses.close()
            rooms.close()
            await redis.aclose()
            await rate_limits.close()

    app = NotifierApp(
        send_buffer_bytes=settings.send_buffer_bytes,
        title="livecart notifier",
        summary="Order statuses, stock and sales pushed to live rooms over Server-Sent Events.",
        lifespan=lifespan,
        telemetry=http_telemetry(settings.service_name),
    )
    app.state.settings = settings
    app.state.statuses = statuses
    app.state.rooms = rooms
    app.state.history = history
    app.state.broker = None
    app.state.connections = connections = ConnectionSlots(settings.max_connections)
    # Inside CORS (added before it), so a refused page can read the reason.
    app.add_middleware(ConnectionCap, slots=connections, retry_after=settings.busy_retry_seconds)
    # The live room page is served by the storefront on another origin, and its buyer
    # stream carries the buyer cookie (EventSource `withCredentials`): browsers then want
    # the page's own origin named, which is why production refuses `*`.
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["GET"],
        allow_headers=["Authorization", "Last-Event-ID"],
    )
    app.add_exception_handler(Refused, refused_response)
    install_rate_limits(app, rate_limits)
    app.add_exception_handler(RedisError, _redis_unavailable)
    app.add_exception_handler(RequestValidationError, invalid_request)
    # Every route of both routers is an `/events/...` stream: each connect is counted.
    connects = [Depends(per_address(CONNECTS_PER_ADDRESS))]
    refusal: dict[int | str, dict[str, Any]] = {
        429: TOO_MANY_REQUESTS,
        503: TOO_MANY_CONNECTIONS,
    }
    app.include_router(
        build_router(statuses=statuses, history=history, settings=settings),
        dependencies=connects,
        responses=refusal,
    )
    app.include_router(
        build_room_router(rooms=rooms, known=known), dependencies=connects, responses=refusal
    )

    async def readers_running() -> bool:
        broker = app.state.broker
        return broker is not None and await broker_check(broker)()

    add_operational_routes(app, {"redis": readers_running})
    return app


async def _redis_unavailable(_request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"reason": "redis_unavailable", "detail": "try again shortly"}, status_code=503
    )


async def _close_on_exit(rooms: RoomHub) -> None:
    # sse-starlette's own shutdown watch (its patched uvicorn signal handler, polled).
    await EventSourceResponse._listen_for_exit_signal()
    rooms.close()
