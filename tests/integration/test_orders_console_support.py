"""The seller console's test bench: the real orders app (lifespan: migrations, consumer
group, relay, snapshots) over ASGI, against real Redis and a real database, with
signed-in sellers, each in a client of their own (its own cookie jar)."""

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import redis.asyncio as aioredis

from services.orders.adapters.sellers import SellerAccounts
from services.orders.config import OrdersSettings
from services.orders.entrypoints.app import OrdersRuntime, create_app
from tests.conftest import random_id
from tests.support.flow import checkout, final_statuses, publish_checkouts

BASE_URL = "https://orders.test"  # https, so the client sends the Secure cookies back
PASSWORD = "a long enough password"


@dataclass
class Seller:
    seller_id: str
    email: str
    client: httpx.AsyncClient
    csrf: str = ""

    @property
    def writes(self) -> dict[str, str]:
        """The header every unsafe API call needs."""
        return {"X-CSRF-Token": self.csrf}


@dataclass
class Bench:
    app_transport: httpx.ASGITransport
    runtime: OrdersRuntime
    stack: contextlib.AsyncExitStack
    sellers: list[Seller] = field(default_factory=list)

    @property
    def settings(self) -> OrdersSettings:
        return self.runtime.settings

    async def client(self) -> httpx.AsyncClient:
        """A browser of its own: no session, its own cookies, redirects not followed."""
        client = httpx.AsyncClient(transport=self.app_transport, base_url=BASE_URL)
        return await self.stack.enter_async_context(client)

    async def seller(self, *, sign_in: bool = True) -> Seller:
        """A new seller account (and, by default, a client signed in as them)."""
        seller_id = random_id("seller")
        email = f"{seller_id}@Example.TEST"  # stored lower-case; signs in in any case
        await SellerAccounts(self.runtime.engine).create(
            seller_id=seller_id, email=email, name=f"Shop {seller_id}", password=PASSWORD
        )
        seller = Seller(seller_id, email, await self.client())
        if sign_in:
            answer = await seller.client.post(
                "/api/seller/session", json={"email": email.lower(), "password": PASSWORD}
            )
            assert answer.status_code == 200, answer.text
            seller.csrf = answer.json()["csrf_token"]
        return seller

    async def product(self, seller: Seller, *, stock: int = 10, price_minor: int = 1000) -> str:
        sku = f"SKU-{uuid.uuid4().hex[:10]}"
        body = {"sku": sku, "title": f"Product {sku}", "price_minor": price_minor, "stock": stock}
        answer = await seller.client.post("/api/seller/products", json=body, headers=seller.writes)
        assert answer.status_code == 201, answer.text
        return sku

    async def confirmed_order(
        self, redis: aioredis.Redis, seller: Seller, sku: str, quantity: int = 1
    ) -> tuple[str, str]:
        """A checkout for `sku` through the real stream, confirmed: (order id, checkout id)."""
        order = checkout(items=[(sku, quantity)])
        await publish_checkouts(redis, self.settings.streams, [order])
        statuses = await final_statuses(
            redis, self.settings.streams.order_status, [order.checkout_id]
        )
        last = statuses[order.checkout_id][-1]
        assert last.status == "confirmed", last
        return last.order_id, order.checkout_id


@contextlib.asynccontextmanager
async def running_bench(settings: OrdersSettings) -> AsyncIterator[Bench]:
    app = create_app(settings)
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(app.router.lifespan_context(app))
        yield Bench(httpx.ASGITransport(app=app), app.state.runtime, stack)
