"""Buyer sessions: the storefront issues signed tokens, and a checkout's buyer is the token's
buyer, never a body field. Real Redis and a real SQLite database."""

from datetime import timedelta
from http.cookies import SimpleCookie

import httpx
import pytest
import redis.asyncio as aioredis

from contracts import CheckoutRequestedEvent, decode_entry
from services.common.tokens import BuyerTokens
from services.storefront.seed import seed_demo
from tests.conftest import random_id
from tests.integration.test_storefront_api import checkout, stream_entries
from tests.integration.test_storefront_seller_auth import PASSWORD, set_cookies
from tests.support import demo
from tests.support.storefront import Storefront


def buyer_cookie(response: httpx.Response) -> SimpleCookie:
    cookie = SimpleCookie()
    cookie.load(response.headers["set-cookie"])
    assert "livecart_buyer" in cookie
    return cookie


async def stream_length(client: aioredis.Redis, storefront: Storefront) -> int:
    return int(await client.xlen(storefront.settings.streams.checkout_requested))


async def test_a_new_session_gives_a_new_buyer_a_signed_token_and_the_same_token_as_a_cookie(
    storefront: Storefront,
) -> None:
    first = await storefront.client.post("/api/sessions")
    second = await storefront.client.post("/api/sessions")

    assert first.status_code == second.status_code == 201
    body = first.json()
    assert body["buyer_id"] != second.json()["buyer_id"]
    assert body["buyer_id"].startswith("buyer-")
    assert body["expires_in"] == storefront.settings.token_ttl_seconds
    assert storefront.settings.buyer_tokens.buyer_of(body["token"]) == body["buyer_id"]
    morsel = buyer_cookie(first)["livecart_buyer"]
    assert morsel.value == body["token"]
    assert (morsel["path"], morsel["samesite"].lower()) == ("/", "lax")
    assert int(morsel["max-age"]) == storefront.settings.token_ttl_seconds
    # No script reads it; https only (LIVECART_BUYER_COOKIE_SECURE is on by default).
    assert morsel["httponly"]
    assert morsel["secure"]
    assert not morsel["domain"]
    assert first.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing"),
        ({"Authorization": "Bearer " + BuyerTokens("another-secret-" * 3).issue("b-1")}, "invalid"),
        ({"Authorization": "Bearer not-a-token"}, "invalid"),
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "invalid"),
    ],
    ids=["missing", "forged", "malformed", "not-bearer"],
)
async def test_a_checkout_without_a_valid_token_gets_401_naming_why_and_writes_nothing(
    storefront: Storefront,
    redis_client: aioredis.Redis,
    headers: dict[str, str],
    reason: str,
) -> None:
    response = await storefront.client.post("/api/checkouts", json=checkout(), headers=headers)

    assert response.status_code == 401
    assert response.json()["reason"] == reason
    assert response.json()["detail"].startswith(f"buyer token {reason}")
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert await stream_length(redis_client, storefront) == 0


async def test_an_expired_token_gets_401_saying_it_expired(
    storefront: Storefront, redis_client: aioredis.Redis
) -> None:
    secret = storefront.settings.token_secret.get_secret_value()
    expired = BuyerTokens(secret, ttl=timedelta(seconds=-1)).issue(random_id("buyer"))

    response = await storefront.client.post(
        "/api/checkouts", json=checkout(), headers={"Authorization": f"Bearer {expired}"}
    )

    assert response.status_code == 401
    assert response.json() == {
        "detail": "buyer token expired: start a new session with POST /api/sessions",
        "reason": "expired",
    }
    assert await stream_length(redis_client, storefront) == 0


async def test_a_buyer_id_in_the_body_is_refused_with_422_saying_the_buyer_comes_from_the_token(
    storefront: Storefront, redis_client: aioredis.Redis
) -> None:
    _buyer, auth = await storefront.session()
    for claimed in ("somebody-else", None):
        response = await storefront.client.post(
            "/api/checkouts", json=checkout(buyer_id=claimed), headers=auth
        )

        assert response.status_code == 422
        [error] = response.json()["detail"]
        assert (error["loc"], error["type"]) == (["body", "buyer_id"], "buyer_from_token")
        assert "the buyer comes from the token" in error["msg"]
    assert await stream_length(redis_client, storefront) == 0


async def test_the_cookie_alone_authenticates_and_a_bearer_header_wins_over_it(
    storefront: Storefront, redis_client: aioredis.Redis
) -> None:
    cookie_buyer, _ = await storefront.session()
    header_buyer, auth = await storefront.session()
    cookie = storefront.settings.buyer_tokens.issue(cookie_buyer)

    by_cookie = await storefront.client.post(
        "/api/checkouts", json=checkout(), headers={"Cookie": f"livecart_buyer={cookie}"}
    )
    both = await storefront.client.post(
        "/api/checkouts", json=checkout(), headers=auth | {"Cookie": f"livecart_buyer={cookie}"}
    )

    assert by_cookie.status_code == both.status_code == 202
    assert "token" not in by_cookie.json()["events_url"]
    entries = await stream_entries(redis_client, storefront.settings.streams.checkout_requested)
    buyers = [decode_entry(fields, CheckoutRequestedEvent).data.buyer_id for fields in entries]
    assert buyers == [cookie_buyer, header_buyer]


async def test_a_first_visit_to_the_room_page_sets_a_buyer_cookie_that_can_buy_at_once(
    storefront: Storefront,
) -> None:
    page = await storefront.client.get("/rooms/demo")
    token = buyer_cookie(page)["livecart_buyer"].value

    response = await storefront.client.post(
        "/api/checkouts", json=checkout(), headers={"Cookie": f"livecart_buyer={token}"}
    )

    assert response.status_code == 202
    assert storefront.settings.buyer_tokens.buyer_of(token).startswith("buyer-")


async def test_a_returning_visitor_keeps_their_buyer_and_a_forged_cookie_gets_a_new_one(
    storefront: Storefront,
) -> None:
    tokens = storefront.settings.buyer_tokens
    buyer_id, _ = await storefront.session()
    forged = BuyerTokens("another-secret-" * 3).issue(buyer_id)

    returning = await storefront.client.get(
        "/rooms/demo", headers={"Cookie": f"livecart_buyer={tokens.issue(buyer_id)}"}
    )
    impostor = await storefront.client.get(
        "/rooms/demo", headers={"Cookie": f"livecart_buyer={forged}"}
    )

    assert tokens.buyer_of(buyer_cookie(returning)["livecart_buyer"].value) == buyer_id
    assert tokens.buyer_of(buyer_cookie(impostor)["livecart_buyer"].value) != buyer_id


async def test_the_dashboard_and_a_missing_room_set_no_buyer_cookie(
    storefront: Storefront,
) -> None:
    await seed_demo(storefront.settings.database_url, seller_password=PASSWORD)
    signed_in = await storefront.client.post(
        "/api/seller/session", json={"email": demo.DEMO_SELLER_EMAIL, "password": PASSWORD}
    )
    seller = {"Cookie": f"livecart_seller={set_cookies(signed_in)['livecart_seller'].value}"}
    dashboard = await storefront.client.get(f"/rooms/{demo.DEMO_ROOM_ID}/dashboard", headers=seller)
    missing = await storefront.client.get("/rooms/nowhere")

    assert dashboard.status_code == 200
    assert missing.status_code == 404
    assert "set-cookie" not in dashboard.headers
    assert "set-cookie" not in missing.headers
