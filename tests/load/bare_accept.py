"""The ceiling of the storefront's accept path: a bare FastAPI endpoint that validates a
small JSON body and does one XADD, served exactly as the storefront is (same uvicorn
settings and worker count, services/common/serve.py). Not livecart code: the
yardstick `tests/load/accept.py` divides the storefront's figures by.

`python -m tests.load.bare_accept` reads `BARE_ACCEPT_PORT`, `BARE_ACCEPT_WORKERS`,
`BARE_ACCEPT_STREAM` and `REDIS_URL`.
"""

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict
from redis.asyncio import Redis

from services.common.serve import serve_workers
from services.common.settings import ServiceSettings


class BareSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BARE_ACCEPT_")

    port: int = 8099
    workers: int = Field(default=1, ge=1)
    stream: str = "bare-accept:checkouts"
    max_connections: int = 4096


class ItemIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(ge=1, le=99)


class TapIn(BaseModel):
    room_id: str = Field(min_length=1, max_length=64)
    items: list[ItemIn] = Field(min_length=1, max_length=20)
    idempotency_key: str | None = Field(default=None, max_length=128)


def create_app(settings: BareSettings) -> FastAPI:
    """One endpoint that takes a tap and XADDs it; `/ready` once Redis answers."""
    # A connection per request in flight: redis-py's default pool (100) would refuse
    # the rest under the benchmark's concurrency.
    redis = Redis.from_url(str(settings.redis_url), max_connections=settings.max_connections)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await redis.aclose()

    app = FastAPI(lifespan=lifespan)

    @app.post("/api/checkouts", status_code=status.HTTP_202_ACCEPTED)
    async def accept(tap: TapIn) -> dict[str, str]:
        checkout_id = uuid.uuid4().hex
        body = {"checkout_id": checkout_id, **tap.model_dump()}
        await redis.xadd(settings.stream, {"__data__": json.dumps(body)})
        return {"checkout_id": checkout_id, "status": "accepted"}

    @app.get("/ready")
    async def ready(_request: Request) -> JSONResponse:
        return JSONResponse({"ready": bool(await redis.ping())})

    return app


def main() -> None:
    # Imported by its own name: when run with -m this module is `__main__`, and the
    # spawned workers must find `create_app` under a name they can import.
    from tests.load import bare_accept

    settings = bare_accept.BareSettings()
    serve_workers(bare_accept.create_app, settings, port=settings.port, workers=settings.workers)


if __name__ == "__main__":
    main()
