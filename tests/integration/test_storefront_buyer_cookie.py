"""The buyer cookie as a real HTTP server sends it: HttpOnly, SameSite=Lax, Secure unless
LIVECART_BUYER_COOKIE_SECURE says local http, and the configured Domain. The storefront
runs under uvicorn on real Redis and a SQLite file."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn

from services.storefront.config import StorefrontSettings
from services.storefront.entrypoints.app import create_app
from tests.conftest import Database


@contextlib.asynccontextmanager
async def served(settings: StorefrontSettings) -> AsyncIterator[str]:
    """The storefront under uvicorn on a free port; its base URL."""
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=0, log_level="warning", lifespan="on",
        timeout_graceful_shutdown=2,
    )  # fmt: skip
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    async with asyncio.timeout(20):
        while not server.started:
            if serving.done():
                await serving  # raises what stopped it
                pytest.fail("uvicorn stopped before it started")
            await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await serving


def attributes(set_cookie: str) -> dict[str, str]:
    """`Set-Cookie`'s attributes after the value, lower-cased names ("" for flags)."""
    _value, *rest = (part.strip() for part in set_cookie.split(";"))
    return {name.lower(): value for name, _, value in (part.partition("=") for part in rest)}


@pytest.mark.parametrize(
    ("secure", "domain"), [(True, None), (True, "shop.example"), (False, None)]
)
async def test_a_new_session_sets_an_httponly_lax_cookie_secure_unless_local_http(
    redis_url: str, stream_prefix: str, sqlite_database: Database, secure: bool, domain: str | None
) -> None:
    settings = StorefrontSettings(
        redis_url=redis_url, stream_prefix=stream_prefix, database_url=sqlite_database.url,
        buyer_cookie_secure=secure, buyer_cookie_domain=domain,
    )  # fmt: skip
    async with served(settings) as base_url, httpx.AsyncClient(base_url=base_url) as client:
        answer = await client.post("/api/sessions")

    assert answer.status_code == 201
    [set_cookie] = answer.headers.get_list("set-cookie")
    assert set_cookie.startswith(f"livecart_buyer={answer.json()['token']};")
    cookie = attributes(set_cookie)
    assert cookie["httponly"] == ""
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    assert ("secure" in cookie) is secure
    assert cookie.get("domain") == domain
