"""The ceiling of the storefront's accept path: a bare FastAPI endpoint that validates the
tap's body with the storefront's constraints (the contract's room id and sku patterns,
strict quantities, the item and idempotency-key limits, unknown fields refused) and XADDs
the same wire entry (a `checkout.requested` envelope) in one XADD, served exactly as the
storefront is (same uvicorn settings and worker count, services/common/serve.py). No
session, room or rate-limit lookups: the buyer is the `X-Buyer` header (tests/load's
same-work chain sets it) or a fixed one. Not livecart code: the yardstick
`tests/load/accept.py` divides the storefront's figures by.

`python -m tests.load.bare_accept` reads `BARE_ACCEPT_PORT`, `BARE_ACCEPT_WORKERS`,
`BARE_ACCEPT_STREAM` and `REDIS_URL`.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Header, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from pydantic_settings import SettingsConfigDict
from redis.asyncio import Redis

from contracts import (
    CheckoutItem,
    CheckoutRequested,
    CheckoutRequestedEvent,
    encode_entry,
    new_event_id,
)
from contracts.events import MAX_ITEMS_PER_CHECKOUT, MAX_QUANTITY_PER_ITEM, Identifier, Sku
from services.common.serve import serve_workers
from services.common.settings import ServiceSettings


class BareSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="BARE_ACCEPT_")

    port: int = 8099
    workers: int = Field(default=1, ge=1)
    stream: str = "bare-accept:checkouts"
    max_connections: int = 4096


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sku: Sku
    quantity: StrictInt = Field(ge=1, le=MAX_QUANTITY_PER_ITEM)


class TapIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    room_id: Identifier
    items: list[ItemIn] = Field(min_length=1, max_length=MAX_ITEMS_PER_CHECKOUT)
    idempotency_key: str | None = Field(
        default=None, min_length=1, max_length=128, pattern=r"^[!-~]+$"
    )


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

    # No telemetry, as the storefront without an OTLP endpoint: the same work.
    app = FastAPI(lifespan=lifespan, telemetry={"tracing": False, "metrics": False, "logs": False})

    @app.post("/api/checkouts", status_code=status.HTTP_202_ACCEPTED)
    async def accept(tap: TapIn, x_buyer: str = Header(default="bare-buyer")) -> dict[str, str]:
        checkout_id = new_event_id()
        checkout = CheckoutRequested(
            checkout_id=checkout_id,
            room_id=tap.room_id,
            buyer_id=x_buyer,
            items=[CheckoutItem(sku=i.sku, quantity=i.quantity) for i in tap.items],
            idempotency_key=tap.idempotency_key,
        )
        event = CheckoutRequestedEvent.new(
            correlation_id=checkout_id, producer="storefront", data=checkout
        )
        await redis.xadd(settings.stream, encode_entry(event))  # type: ignore[arg-type]
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
