"""HTTP pieces every service exposes the same way: /health, /ready and /metrics."""

from collections.abc import Awaitable, Callable, Mapping

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from faststream.redis import RedisBroker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from services.common.serve import metrics_app

ReadinessCheck = Callable[[], Awaitable[bool]]


def broker_check(broker: RedisBroker) -> ReadinessCheck:
    """Ready when Redis answers and every subscriber is still running.

    A subscriber stops on its own (e.g. NOGROUP after Redis lost its data) while
    the broker still pings, so both must be looked at.
    """

    async def check() -> bool:
        if not await broker.ping(timeout=1.0):
            return False
        return all(sub.running for sub in broker.subscribers)

    return check


def database_check(engine: AsyncEngine) -> ReadinessCheck:
    async def check() -> bool:
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    return check


def add_operational_routes(app: FastAPI, checks: Mapping[str, ReadinessCheck]) -> None:
    """`/health` (the process is up), `/ready` (each named check passes), `/metrics`."""

    @app.get("/health", tags=["operations"], summary="The process is up")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", tags=["operations"], summary="Broker, subscribers and database are usable")
    async def ready() -> JSONResponse:
        results = {name: await check() for name, check in checks.items()}
        status = 200 if all(results.values()) else 503
        body = {"status": "ready" if status == 200 else "not ready", "checks": results}
        return JSONResponse(body, status_code=status)

    add_metrics(app, metrics_app())


class _AsIs:
    """An ASGI app a `Route` calls as it is (a plain function would be taken for an
    endpoint that takes a request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def add_metrics(app: FastAPI, metrics: ASGIApp) -> None:
    """`/metrics` answered where it is asked (a mount alone answers 307 to `/metrics/`, which
    some scrapers and probes do not follow), and `/metrics/` as before."""
    app.router.routes.append(Route("/metrics", _AsIs(metrics), include_in_schema=False))
    app.mount("/metrics", metrics)
