"""The seller console's sign-in, sessions and CSRF checks, over HTTP against the real
orders app, real Redis and SQLite and PostgreSQL."""

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import async_sessionmaker

from contracts import utc_now
from services.orders.adapters.tables import SellerSessionRow
from tests.conftest import Database
from tests.integration.test_orders_console_support import PASSWORD, Bench, running_bench
from tests.support.orders import orders_settings

SESSION_COOKIE = "livecart_marketplace_seller"


@pytest.fixture
async def bench(database: Database, redis_url: str, stream_prefix: str) -> AsyncIterator[Bench]:
    async with running_bench(orders_settings(database, redis_url, stream_prefix)) as running:
        yield running


async def login_form(client: httpx.AsyncClient, next_url: str = "/seller") -> str:
    """Open the sign-in page; the CSRF token its form carries."""
    page = await client.get("/seller/login", params={"next": next_url})
    assert page.status_code == 200
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def page_csrf(page: httpx.Response) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


async def test_a_seller_signs_in_with_the_form_and_lands_on_the_page_asked_for(
    bench: Bench,
) -> None:
    seller = await bench.seller(sign_in=False)
    client = seller.client
    token = await login_form(client, "/seller/orders?status=confirmed")
    answer = await client.post(
        "/seller/login",
        data={
            "email": seller.email.upper(),
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/seller/orders?status=confirmed",
        },
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == "/seller/orders?status=confirmed"
    cookie = next(h for h in answer.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
    attributes = cookie.lower()
    assert "httponly" in attributes
    assert "samesite=strict" in attributes
    assert "; secure" in attributes
    page = await client.get("/seller/orders", params={"status": "confirmed"})
    assert page.status_code == 200
    assert f'data-seller-id="{seller.seller_id}"' in page.text
    assert "Signed in as" in page.text  # the flash, once
    assert "Signed in as" not in (await client.get("/seller/orders")).text


@pytest.mark.parametrize("wrong", ["password", "email"])
async def test_wrong_credentials_get_the_same_401_whichever_was_wrong(
    bench: Bench, wrong: str
) -> None:
    seller = await bench.seller(sign_in=False)
    email = "nobody@example.test" if wrong == "email" else seller.email
    password = PASSWORD if wrong == "email" else PASSWORD + "x"
    token = await login_form(seller.client)
    page = await seller.client.post(
        "/seller/login", data={"email": email, "password": password, "csrf_token": token}
    )
    api = await seller.client.post(
        "/api/seller/session", json={"email": email, "password": password}
    )

    assert page.status_code == 401
    assert "Wrong email or password" in page.text
    assert SESSION_COOKIE not in page.headers.get("set-cookie", "")
    assert (api.status_code, api.json()) == (401, {"detail": "Wrong email or password"})


async def test_sign_in_never_redirects_to_another_site(bench: Bench) -> None:
    seller = await bench.seller(sign_in=False)
    token = await login_form(seller.client)
    answer = await seller.client.post(
        "/seller/login",
        data={
            "email": seller.email,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "//evil.example/phish",
        },
    )

    assert (answer.status_code, answer.headers["location"]) == (303, "/seller")


async def test_the_sign_in_form_needs_the_token_of_its_own_cookie(bench: Bench) -> None:
    seller = await bench.seller(sign_in=False)
    await login_form(seller.client)
    forged = await seller.client.post(
        "/seller/login",
        data={"email": seller.email, "password": PASSWORD, "csrf_token": "forged"},
    )

    assert forged.status_code == 403
    assert 'data-testid="error-page"' in forged.text
    assert SESSION_COOKIE not in forged.headers.get("set-cookie", "")


async def test_without_a_session_pages_redirect_to_sign_in_and_the_api_answers_401(
    bench: Bench,
) -> None:
    client = await bench.client()
    page = await client.get("/seller/orders", params={"status": "confirmed"})
    post = await client.post("/seller/products", data={"sku": "X", "csrf_token": "x"})

    assert page.status_code == 303
    assert page.headers["location"] == "/seller/login?next=/seller/orders%3Fstatus%3Dconfirmed"
    assert (post.status_code, post.headers["location"]) == (303, "/seller/login?next=/seller")
    for method, path in [
        ("GET", "/api/seller/session"),
        ("GET", "/api/seller/products"),
        ("POST", "/api/seller/products"),
        ("GET", "/api/seller/orders"),
        ("POST", "/api/seller/orders/o-1/cancel"),
    ]:
        answer = await client.request(method, path, json={})
        assert answer.status_code == 401, (method, path, answer.text)
        assert "detail" in answer.json()


async def test_api_writes_need_the_sessions_own_csrf_token(bench: Bench) -> None:
    seller, other = await bench.seller(), await bench.seller()
    body = {"sku": "CSRF-1", "title": "Mug", "price_minor": 100}
    for headers in ({}, {"X-CSRF-Token": "wrong"}, other.writes):
        answer = await seller.client.post("/api/seller/products", json=body, headers=headers)
        assert answer.status_code == 403, answer.text
        assert "X-CSRF-Token" in answer.json()["detail"]
    listed = await seller.client.get("/api/seller/products")  # reading needs none

    assert (listed.status_code, listed.json()) == (200, [])


async def test_a_form_post_with_a_wrong_csrf_token_is_a_403_page_and_changes_nothing(
    bench: Bench,
) -> None:
    seller = await bench.seller()
    sku = await bench.product(seller, stock=5)
    answer = await seller.client.post(
        f"/seller/products/{sku}/stock",
        data={"quantity": "99", "mode": "set", "csrf_token": "not-the-token"},
    )
    missing = await seller.client.post(
        f"/seller/products/{sku}/stock", data={"quantity": "99", "mode": "set"}
    )

    assert answer.status_code == missing.status_code == 403
    assert "This form has expired" in answer.text
    products = (await seller.client.get("/api/seller/products")).json()
    assert [p["available"] for p in products] == [5]


async def test_signing_out_ends_the_session_for_good(bench: Bench) -> None:
    seller = await bench.seller()
    token = seller.client.cookies[SESSION_COOKIE]
    page = await seller.client.get("/seller")
    answer = await seller.client.post("/seller/logout", data={"csrf_token": page_csrf(page)})

    assert (answer.status_code, answer.headers["location"]) == (303, "/seller/login")
    assert not seller.client.cookies.get(SESSION_COOKIE)
    replay = await seller.client.get(
        "/api/seller/session", headers={"Cookie": f"{SESSION_COOKIE}={token}"}
    )
    assert replay.status_code == 401


async def test_an_expired_session_opens_nothing_and_its_row_is_swept(bench: Bench) -> None:
    seller = await bench.seller()
    sessions = async_sessionmaker(bench.runtime.engine)
    async with sessions.begin() as session:
        await session.execute(
            update(SellerSessionRow)
            .where(SellerSessionRow.seller_id == seller.seller_id)  # type: ignore[arg-type]
            .values(expires_at=utc_now() - timedelta(seconds=1))
        )

    assert (await seller.client.get("/api/seller/session")).status_code == 401
    async with sessions() as session:
        left = await session.scalar(select(func.count()).select_from(SellerSessionRow))
    assert left == 0


async def test_the_json_session_names_the_seller_and_its_csrf_token(bench: Bench) -> None:
    seller = await bench.seller()
    answer = await seller.client.get("/api/seller/session")

    assert answer.status_code == 200
    assert answer.json() == {
        "seller_id": seller.seller_id,
        "name": f"Shop {seller.seller_id}",
        "csrf_token": seller.csrf,
    }
    assert answer.headers["cache-control"] == "no-store"
    ended = await seller.client.delete("/api/seller/session", headers=seller.writes)
    assert ended.status_code == 204
    assert (await seller.client.get("/api/seller/session")).status_code == 401


async def test_console_pages_carry_a_strict_csp_and_are_never_cached(bench: Bench) -> None:
    seller = await bench.seller()
    for path in ("/seller", "/seller/orders", "/seller/login"):
        page = await seller.client.get(path)
        csp = page.headers["content-security-policy"]
        assert "default-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert page.headers["cache-control"] == "no-store"
        assert "<script>" not in page.text  # scripts come from /static only
        assert " onclick=" not in page.text
    assert (await seller.client.get("/static/console.css")).status_code == 200
