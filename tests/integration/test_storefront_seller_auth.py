"""Seller sign-in on the storefront: the sign-in page and its JSON twin, the session cookie,
CSRF on every change, sign-out, and the `add-seller` / `seed-demo` commands. Real Redis
and a real database. (Also the helpers the other seller tests share.)"""

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path

import httpx
import pytest

from services.common.db import make_engine
from services.storefront.adapters.sellers import SqlSellerAccounts
from services.storefront.config import StorefrontSettings
from services.storefront.entrypoints.app import create_app
from services.storefront.seed import seed_demo
from tests.conftest import Database
from tests.support import demo
from tests.support.stack import ROOT
from tests.support.storefront import NoCookies

PASSWORD = "correct horse battery staple"
RIVAL = ("rival-seller", "rival@shop.test", "Rival Shop")


@dataclass(frozen=True)
class SignedIn:
    seller_id: str
    token: str
    csrf_token: str

    @property
    def cookie(self) -> dict[str, str]:
        """Enough to read: the session cookie."""
        return {"Cookie": f"livecart_seller={self.token}"}

    @property
    def headers(self) -> dict[str, str]:
        """Enough to change: the cookie and the session's CSRF token."""
        return self.cookie | {"X-CSRF-Token": self.csrf_token}


@dataclass
class SellerStorefront:
    client: httpx.AsyncClient
    settings: StorefrontSettings

    async def sign_in(
        self, email: str = demo.DEMO_SELLER_EMAIL, password: str = PASSWORD
    ) -> SignedIn:
        answer = await self.client.post(
            "/api/seller/session", json={"email": email, "password": password}
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        return SignedIn(
            body["seller_id"], set_cookies(answer)["livecart_seller"].value, body["csrf_token"]
        )

    async def rival(self) -> SignedIn:
        return await self.sign_in(RIVAL[1])

    async def buyer(self) -> tuple[str, dict[str, str]]:
        answer = await self.client.post("/api/sessions")
        assert answer.status_code == 201, answer.text
        return answer.json()["buyer_id"], {"Authorization": f"Bearer {answer.json()['token']}"}


def set_cookies(response: httpx.Response) -> SimpleCookie:
    cookies = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        cookies.load(header)
    return cookies


def seller_settings(
    redis_url: str, stream_prefix: str, database: Database, **extra: object
) -> StorefrontSettings:
    values: dict[str, object] = {
        "redis_url": redis_url, "stream_prefix": stream_prefix, "database_url": database.url,
        "database_schema": database.schema, "notifier_public_url": "http://notifier.test",
    }  # fmt: skip
    return StorefrontSettings.model_validate(values | extra)


async def running_seller_storefront(
    settings: StorefrontSettings,
) -> AsyncIterator[SellerStorefront]:
    """The storefront app in-process with the demo seeded, the demo seller's account
    (password PASSWORD) and a rival seller's."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        url, schema = settings.database_url, settings.database_schema
        await seed_demo(url, schema=schema, seller_password=PASSWORD)
        engine = make_engine(url, schema=schema)
        try:
            seller_id, email, name = RIVAL
            await SqlSellerAccounts(engine).create(
                seller_id=seller_id, email=email, name=name, password=PASSWORD
            )
        finally:
            await engine.dispose()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://storefront.test", cookies=NoCookies()
        ) as client:
            yield SellerStorefront(client, settings)


@pytest.fixture
async def sellers(
    redis_url: str, stream_prefix: str, sqlite_database: Database
) -> AsyncIterator[SellerStorefront]:
    async for running in running_seller_storefront(
        seller_settings(redis_url, stream_prefix, sqlite_database)
    ):
        yield running


async def login_form(sellers: SellerStorefront, next_path: str = "") -> tuple[str, str]:
    """The sign-in page's form token: in its cookie and in its hidden field (the same)."""
    page = await sellers.client.get(f"/seller/login{next_path}")
    assert page.status_code == 200
    field = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert field is not None
    return set_cookies(page)["livecart_seller_login"].value, field[1]


async def submit_login(
    sellers: SellerStorefront,
    *,
    password: str = PASSWORD,
    next_path: str = "",
    token: str | None = None,
) -> httpx.Response:
    cookie, field = await login_form(sellers)
    form = {"email": demo.DEMO_SELLER_EMAIL, "password": password, "csrf_token": token or field}
    if next_path:
        form["next"] = next_path
    return await sellers.client.post(
        "/seller/login", data=form, headers={"Cookie": f"livecart_seller_login={cookie}"}
    )


# ---- tests -----------------------------------------------------------------------------------


async def test_the_sign_in_page_signs_the_seller_in_with_a_strict_http_only_cookie(
    sellers: SellerStorefront,
) -> None:
    answer = await submit_login(sellers, next_path="/seller/rooms/demo")

    assert answer.status_code == 303
    assert answer.headers["location"] == "/seller/rooms/demo"
    cookie = set_cookies(answer)["livecart_seller"]
    assert cookie["httponly"]
    assert cookie["secure"]
    assert cookie["samesite"].lower() == "strict"
    assert cookie["path"] == "/"
    page = await sellers.client.get(
        "/seller", headers={"Cookie": f"livecart_seller={cookie.value}"}
    )
    assert page.status_code == 200
    assert 'data-testid="seller-rooms"' in page.text
    assert demo.DEMO_ROOM_TITLE in page.text


async def test_a_wrong_password_or_email_gets_401_wrong_email_or_password(
    sellers: SellerStorefront,
) -> None:
    page = await submit_login(sellers, password="not the password")
    unknown = await sellers.client.post(
        "/api/seller/session", json={"email": "nobody@shop.test", "password": PASSWORD}
    )
    wrong = await sellers.client.post(
        "/api/seller/session", json={"email": demo.DEMO_SELLER_EMAIL, "password": "nope-nope-nope"}
    )

    assert page.status_code == 401
    assert "Wrong email or password" in page.text
    assert "livecart_seller" not in set_cookies(page)
    for answer in (unknown, wrong):
        assert answer.status_code == 401
        assert answer.json()["detail"] == "Wrong email or password"
        assert "livecart_seller" not in set_cookies(answer)


async def test_the_sign_in_form_without_its_own_token_is_refused_403(
    sellers: SellerStorefront,
) -> None:
    forged = await submit_login(sellers, token="not-the-forms-token")
    no_cookie = await sellers.client.post(
        "/seller/login",
        data={"email": demo.DEMO_SELLER_EMAIL, "password": PASSWORD, "csrf_token": "x"},
    )

    assert forged.status_code == no_cookie.status_code == 403
    assert "livecart_seller" not in set_cookies(forged)


@pytest.mark.parametrize(
    "target",
    ["//evil.test/x", "https://evil.test/", "/\\evil.test", "javascript:alert(1)", "seller"],
)
async def test_after_signing_in_the_seller_never_leaves_the_site(
    sellers: SellerStorefront, target: str
) -> None:
    answer = await submit_login(sellers, next_path=target)

    assert answer.status_code == 303
    assert answer.headers["location"] == "/seller"


async def test_the_json_sign_in_gives_the_seller_and_a_csrf_token_the_session_reads_back(
    sellers: SellerStorefront,
) -> None:
    seller = await sellers.sign_in()
    again = await sellers.client.get("/api/seller/session", headers=seller.cookie)
    nobody = await sellers.client.get("/api/seller/session")

    assert seller.seller_id == demo.DEMO_SELLER_ID
    assert again.status_code == 200
    assert again.json() == {
        "seller_id": demo.DEMO_SELLER_ID,
        "name": demo.DEMO_SELLER_NAME,
        "csrf_token": seller.csrf_token,
    }
    assert nobody.status_code == 401


async def test_without_a_session_the_api_answers_401_and_the_pages_send_to_the_sign_in_page(
    sellers: SellerStorefront,
) -> None:
    api = await sellers.client.get("/api/seller/rooms")
    change = await sellers.client.post("/api/seller/rooms", json={"title": "x"})
    forged = await sellers.client.get(
        "/api/seller/rooms", headers={"Cookie": "livecart_seller=forged"}
    )
    pages = {
        path: await sellers.client.get(path)
        for path in (
            "/seller",
            "/seller/rooms/demo",
            "/seller/rooms/demo/report",
            "/rooms/demo/dashboard",
        )
    }
    form = await sellers.client.post("/seller/rooms/demo/go-live", data={"csrf_token": "x"})

    assert api.status_code == change.status_code == forged.status_code == 401
    for path, page in pages.items():
        assert page.status_code == 303, path
        assert page.headers["location"] == f"/seller/login?next={path}"
    assert form.status_code == 303
    assert form.headers["location"] == "/seller/login?next=/seller"


async def test_every_change_without_the_sessions_csrf_token_is_refused_403(
    sellers: SellerStorefront,
) -> None:
    seller = await sellers.sign_in()
    other = await sellers.rival()
    body = {"title": "Sunday drop"}

    missing = await sellers.client.post("/api/seller/rooms", json=body, headers=seller.cookie)
    wrong = await sellers.client.post(
        "/api/seller/rooms", json=body, headers=seller.cookie | {"X-CSRF-Token": other.csrf_token}
    )
    form = await sellers.client.post(
        "/seller/rooms", data={"title": "Sunday drop"}, headers=seller.cookie
    )
    live = await sellers.client.post("/api/seller/rooms/demo/end", headers=seller.cookie)
    rooms = await sellers.client.get("/api/seller/rooms", headers=seller.cookie)

    assert missing.status_code == wrong.status_code == form.status_code == live.status_code == 403
    assert missing.json()["reason"] == "csrf"
    assert "text/html" in form.headers["content-type"]
    assert [room["room_id"] for room in rooms.json()] == [demo.DEMO_ROOM_ID]
    assert rooms.json()[0]["state"] == "live"


async def test_signing_out_ends_the_session_for_good(sellers: SellerStorefront) -> None:
    page_session, api_session = await sellers.sign_in(), await sellers.sign_in()

    refused = await sellers.client.post("/seller/logout", headers=page_session.cookie)
    out = await sellers.client.post(
        "/seller/logout", data={"csrf_token": page_session.csrf_token}, headers=page_session.cookie
    )
    deleted = await sellers.client.delete("/api/seller/session", headers=api_session.headers)

    assert refused.status_code == 403
    assert out.status_code == 303
    assert out.headers["location"] == "/seller/login"
    assert set_cookies(out)["livecart_seller"].value == ""
    assert deleted.status_code == 204
    for gone in (page_session, api_session):
        assert (
            await sellers.client.get("/api/seller/session", headers=gone.cookie)
        ).status_code == 401


async def run_storefront(*args: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.storefront", *args,
        cwd=ROOT, env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await process.communicate()
    return process.returncode or 0, out.decode()


async def test_add_seller_and_seed_demo_make_accounts_that_sign_in(
    redis_url: str, stream_prefix: str, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'storefront.db'}"
    env = {"STOREFRONT_DATABASE_URL": url}
    demo_env = env | {"LIVECART_DEMO_SELLER_PASSWORD": PASSWORD}
    seeded = [await run_storefront("seed-demo", env=demo_env) for _ in range(2)]  # idempotent
    added = await run_storefront(
        "add-seller",
        "mo-shop",
        "Mo@Shop.test",
        "Mo's Shop",
        env=env | {"LIVECART_SELLER_PASSWORD": "mo-password-1"},
    )
    again = await run_storefront(
        "add-seller",
        "mo-shop",
        "mo@shop.test",
        "Mo",
        env=env | {"LIVECART_SELLER_PASSWORD": "mo-password-1"},
    )
    short = await run_storefront(
        "add-seller", "al", "al@shop.test", "Al", env=env | {"LIVECART_SELLER_PASSWORD": "short"}
    )

    assert [code for code, _ in seeded] == [0, 0], seeded
    assert added[0] == 0, added[1]
    assert again[0] == 1
    assert "exists" in again[1]
    assert short[0] != 0
    assert "at least" in short[1]
    settings = seller_settings(redis_url, stream_prefix, Database(url=url))
    app = create_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://storefront.test"
        ) as client,
    ):
        mo = await client.post(
            "/api/seller/session", json={"email": "mo@shop.test", "password": "mo-password-1"}
        )
        mia = await client.post(
            "/api/seller/session", json={"email": demo.DEMO_SELLER_EMAIL, "password": PASSWORD}
        )
    assert mo.status_code == mia.status_code == 200
    assert (mo.json()["seller_id"], mo.json()["name"]) == ("mo-shop", "Mo's Shop")
    assert mia.json()["seller_id"] == demo.DEMO_SELLER_ID
