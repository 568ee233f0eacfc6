"""The storefront's HTTP API against real Redis and a real SQLite database."""

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any, cast

import pytest
import redis.asyncio as aioredis

from contracts import CheckoutRequestedEvent, decode_entry
from infra.local.redis_server import free_port
from services.storefront.config import StorefrontSettings
from services.storefront.domain import derive_checkout_id
from services.storefront.entrypoints.sessions import BUYER_COOKIE
from services.storefront.seed import DEMO_STREAM_URL
from tests.conftest import Database, random_id
from tests.support import demo
from tests.support.storefront import Storefront, running_storefront

HOODIE = demo.DEMO_PRODUCTS[0]


async def stream_entries(client: aioredis.Redis, stream: str) -> list[dict[bytes, bytes]]:
    """The fields of every entry in `stream`, oldest first."""
    entries = await client.xrange(stream) or []
    return [cast(dict[bytes, bytes], fields) for _entry_id, fields in entries]


def checkout(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "room_id": demo.DEMO_ROOM_ID,
        "items": [{"sku": HOODIE.sku, "quantity": 2}],
    }
    return body | overrides


async def test_a_valid_checkout_is_accepted_only_with_one_json_entry_in_the_stream(
    storefront: Storefront, redis_client: aioredis.Redis
) -> None:
    buyer_id, auth = await storefront.session()
    response = await storefront.client.post("/api/checkouts", json=checkout(), headers=auth)

    assert response.status_code == 202
    accepted = response.json()
    checkout_id = accepted["checkout_id"]
    assert accepted == {
        "checkout_id": checkout_id,
        "status": "accepted",
        # No token in them: URLs end up in access logs.
        "events_url": f"http://notifier.test/events/checkouts/{checkout_id}",
        "buyer_events_url": "http://notifier.test/events/buyers/me",
    }
    entries = await stream_entries(redis_client, storefront.settings.streams.checkout_requested)
    assert len(entries) == 1
    fields = entries[0]
    assert fields[b"__data__"].decode().startswith("{")
    event = decode_entry(fields, CheckoutRequestedEvent)
    assert event.data.checkout_id == checkout_id == event.correlation_id
    assert event.producer == "storefront"
    assert event.data.buyer_id == buyer_id
    assert [(i.sku, i.quantity) for i in event.data.items] == [(HOODIE.sku, 2)]


async def test_a_burst_of_concurrent_checkouts_is_accepted_with_one_entry_each(
    storefront: Storefront, redis_client: aioredis.Redis
) -> None:
    # More at once than redis-py's default pool has connections (100).
    _buyer, auth = await storefront.session()
    answers = await asyncio.gather(
        *(
            storefront.client.post("/api/checkouts", json=checkout(), headers=auth)
            for _ in range(300)
        )
    )

    assert {answer.status_code for answer in answers} == {202}
    accepted = {answer.json()["checkout_id"] for answer in answers}
    entries = await stream_entries(redis_client, storefront.settings.streams.checkout_requested)
    stored = [decode_entry(fields, CheckoutRequestedEvent).data.checkout_id for fields in entries]
    assert len(accepted) == len(stored) == 300
    assert set(stored) == accepted


async def test_the_same_idempotency_key_from_the_same_buyer_gives_the_same_checkout_id(
    storefront: Storefront,
) -> None:
    body = checkout(idempotency_key="tap-1")
    buyer_id, auth = await storefront.session()
    _other_buyer, other_auth = await storefront.session()
    # The same buyer with a re-issued token (as a page reload gives): still the same buyer.
    reissued = storefront.settings.buyer_tokens.issue(buyer_id)

    first = await storefront.client.post("/api/checkouts", json=body, headers=auth)
    again = await storefront.client.post(
        "/api/checkouts", json=body, headers={"Authorization": f"Bearer {reissued}"}
    )
    other_buyer = await storefront.client.post("/api/checkouts", json=body, headers=other_auth)

    assert first.status_code == again.status_code == other_buyer.status_code == 202
    assert first.json()["checkout_id"] == again.json()["checkout_id"]
    assert first.json()["checkout_id"] == derive_checkout_id(
        buyer_id=buyer_id, idempotency_key="tap-1"
    )
    assert other_buyer.json()["checkout_id"] != first.json()["checkout_id"]


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"room_id": "no-such-room"}, ["body", "room_id"]),
        ({"items": [{"sku": "NOT-PINNED", "quantity": 1}]}, ["body", "items", 0, "sku"]),
        ({"items": [{"sku": HOODIE.sku, "quantity": 0}]}, ["body", "items", 0, "quantity"]),
        (
            {"items": [{"sku": HOODIE.sku, "quantity": HOODIE.max_per_checkout + 1}]},
            ["body", "items", 0, "quantity"],
        ),
        ({"items": [{"sku": HOODIE.sku, "quantity": 1}] * 2}, ["body", "items", 1, "sku"]),
        ({"items": []}, ["body", "items"]),
    ],
    ids=[
        "unknown-room",
        "unpinned-sku",
        "quantity-0",
        "over-the-limit",
        "duplicate-sku",
        "no-items",
    ],
)
async def test_an_invalid_checkout_gets_422_naming_the_field_and_writes_nothing(
    storefront: Storefront,
    redis_client: aioredis.Redis,
    overrides: dict[str, Any],
    loc: list[str | int],
) -> None:
    _buyer, auth = await storefront.session()
    body = {k: v for k, v in checkout(**overrides).items() if v is not None}
    response = await storefront.client.post("/api/checkouts", json=body, headers=auth)

    assert response.status_code == 422
    errors = response.json()["detail"]
    assert loc in [error["loc"] for error in errors]
    assert all(error["msg"] for error in errors)
    assert await redis_client.xlen(storefront.settings.streams.checkout_requested) == 0


async def test_a_body_that_is_not_json_gets_422_with_a_clear_message(
    storefront: Storefront,
) -> None:
    _buyer, auth = await storefront.session()
    for content_type in ("application/json", "text/plain"):
        headers = auth | {"content-type": content_type}
        response = await storefront.client.post("/api/checkouts", content=b"buy!", headers=headers)
        assert response.status_code == 422
        assert "JSON" in response.json()["detail"][0]["msg"]


async def test_an_oversized_body_is_refused_with_413_before_it_is_read_whole(
    storefront: Storefront,
) -> None:
    big = checkout(idempotency_key="k") | {"padding": "x" * storefront.settings.max_body_bytes}
    declared = await storefront.client.post("/api/checkouts", json=big)
    assert declared.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:
        # No Content-Length: the limit must count the bytes as they arrive.
        for _ in range(64):
            yield b" " * 1024

    streamed = await storefront.client.post(
        "/api/checkouts", content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413


async def test_an_unreachable_redis_gives_503_with_a_retry_message_and_no_traceback(
    sqlite_database: Database, stream_prefix: str
) -> None:
    settings = StorefrontSettings(
        redis_url=f"redis://127.0.0.1:{free_port()}/0",
        stream_prefix=stream_prefix,
        database_url=sqlite_database.url,
    )
    auth = {"Authorization": f"Bearer {settings.buyer_tokens.issue(random_id('buyer'))}"}
    async for storefront in running_storefront(settings):
        response = await storefront.client.post("/api/checkouts", json=checkout(), headers=auth)
        ready = await storefront.client.get("/ready")

    assert response.status_code == 503
    assert response.json() == {"detail": "checkout service temporarily unavailable, please retry"}
    assert "Traceback" not in response.text
    assert "Error" not in response.text
    assert ready.status_code == 503
    assert ready.json()["checks"] == {"redis": False, "database": True}


async def test_the_room_api_lists_the_pinned_products_with_price_strings(
    storefront: Storefront,
) -> None:
    response = await storefront.client.get("/api/rooms/demo")

    assert response.status_code == 200
    assert response.json() == {
        "room_id": demo.DEMO_ROOM_ID,
        "title": demo.DEMO_ROOM_TITLE,
        "seller": {"seller_id": demo.DEMO_SELLER_ID, "name": demo.DEMO_SELLER_NAME},
        "state": "live",
        "stream_url": DEMO_STREAM_URL,  # the demo's own HLS loop
        "scheduled_at": None,
        "products": [
            {
                "sku": "LC-HOODIE-YEL",
                "title": "Yellow Cart Hoodie",
                "price": "49.90",
                "currency": "EUR",
                "max_per_checkout": 5,
                "available": None,
                "image_url": "/static/demo-images/hoodie.svg",
                "deal": None,
            },
            {
                "sku": "LC-MUG-LIVE",
                "title": "On-Air Mug",
                "price": "14.90",
                "currency": "EUR",
                "max_per_checkout": 5,
                "available": None,
                "image_url": "/static/demo-images/mug.svg",
                "deal": None,
            },
            {
                "sku": "LC-CAP-STREAM",
                "title": "Streamer Cap",
                "price": "24.90",
                "currency": "EUR",
                "max_per_checkout": 5,
                "available": None,
                "image_url": "/static/demo-images/cap.svg",
                "deal": None,
            },
        ],
    }


async def test_an_unknown_room_gives_404_json_and_a_404_page(storefront: Storefront) -> None:
    api = await storefront.client.get("/api/rooms/nowhere")
    page = await storefront.client.get("/rooms/nowhere")

    assert api.status_code == 404
    assert "nowhere" in api.json()["detail"]
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "This live room doesn't exist" in page.text


async def test_the_room_page_shows_the_products_and_a_buy_button(storefront: Storefront) -> None:
    home = await storefront.client.get("/")
    page = await storefront.client.get("/rooms/demo")
    script = await storefront.client.get("/static/live.js")  # opens the room's streams

    assert home.status_code == 307
    assert home.headers["location"] == "/rooms/demo"
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for product in demo.DEMO_PRODUCTS:
        assert product.title in page.text
    assert 'data-testid="buy-button"' in page.text
    assert '<label for="quantity">' in page.text
    assert demo.DEMO_SELLER_NAME.replace("'", "&#39;") in page.text
    assert "http://notifier.test" in page.headers["content-security-policy"]
    assert script.status_code == 200
    assert "new EventSource" in script.text
    assert 'data-testid="checkout-drawer"' in page.text
    assert page.headers["cache-control"] == "private, no-store"


async def test_health_and_readiness_report_a_usable_storefront(storefront: Storefront) -> None:
    health = await storefront.client.get("/health")
    ready = await storefront.client.get("/ready")
    metrics = await storefront.client.get("/metrics/")

    assert health.json() == {"status": "ok"}
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"redis": True, "database": True}
    assert metrics.status_code == 200


async def test_every_checkout_attempt_is_counted_by_outcome(storefront: Storefront) -> None:
    from prometheus_client import REGISTRY

    def count(outcome: str, reason: str) -> float:
        labels = {"outcome": outcome, "reason": reason}
        return REGISTRY.get_sample_value("livecart_checkouts_total", labels) or 0.0

    before = {
        key: count(*key)
        for key in [("accepted", ""), ("rejected", "invalid"), ("rejected", "unauthenticated"),
                    ("rejected", "too_large")]
    }  # fmt: skip
    _, auth = await storefront.session()
    await storefront.client.post("/api/checkouts", json=checkout(), headers=auth)
    await storefront.client.post("/api/checkouts", json=checkout(room_id="nope!"), headers=auth)
    storefront.client.cookies.clear()  # no token at all
    await storefront.client.post("/api/checkouts", json=checkout())
    big = checkout() | {"padding": "x" * storefront.settings.max_body_bytes}
    await storefront.client.post("/api/checkouts", json=big, headers=auth)

    assert {key: count(*key) - value for key, value in before.items()} == {
        ("accepted", ""): 1,
        ("rejected", "invalid"): 1,
        ("rejected", "unauthenticated"): 1,
        ("rejected", "too_large"): 1,
    }


async def test_with_several_notifiers_the_room_page_streams_from_the_buyers_own(
    redis_url: str, stream_prefix: str, sqlite_database: Database
) -> None:
    """Viewers spread over the notifier replicas: the page's live stream goes where the
    buyer's checkout events go, the same notifier on every visit."""
    notifiers = ["http://notifier-a.test", "http://notifier-b.test"]
    settings = StorefrontSettings(
        redis_url=redis_url,
        stream_prefix=stream_prefix,
        database_url=sqlite_database.url,
        notifier_public_urls=notifiers,
    )
    async for storefront in running_storefront(settings):
        seen: dict[str, str] = {}
        for _ in range(12):
            buyer_id, headers = await storefront.session()
            token = headers["Authorization"].removeprefix("Bearer ")
            storefront.client.cookies.set(BUYER_COOKIE, token)
            for _visit in range(2):
                page = await storefront.client.get("/rooms/demo")
                chosen = re.search(r'data-notifier-url="([^"]+)"', page.text)
                assert chosen is not None
                assert seen.setdefault(buyer_id, chosen[1]) == chosen[1]
            assert seen[buyer_id] == settings.notifier_for(buyer_id)
        assert set(seen.values()) == set(notifiers)
