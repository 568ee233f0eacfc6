"""The storefront app in-process (ASGI) against real Redis and a real database, with
the demo room seeded, and the `storefront` fixture the storefront's tests share."""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from services.storefront.config import StorefrontSettings
from services.storefront.entrypoints.app import create_app
from services.storefront.seed import seed_demo


@dataclass
class Storefront:
    client: httpx.AsyncClient
    settings: StorefrontSettings

    async def session(self) -> tuple[str, dict[str, str]]:
        """A new buyer: their id and the header that authenticates them."""
        answer = await self.client.post("/api/sessions")
        assert answer.status_code == 201, answer.text
        body = answer.json()
        return body["buyer_id"], {"Authorization": f"Bearer {body['token']}"}


async def running_storefront(settings: StorefrontSettings) -> AsyncIterator[Storefront]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await seed_demo(settings.database_url)
        transport = httpx.ASGITransport(app=app)
        # Cookies are dropped: each test says which token it sends.
        async with httpx.AsyncClient(
            transport=transport, base_url="http://storefront.test", cookies=NoCookies()
        ) as client:
            yield Storefront(client, settings)


class NoCookies(httpx.Cookies):
    def extract_cookies(self, response: httpx.Response) -> None:
        return None
