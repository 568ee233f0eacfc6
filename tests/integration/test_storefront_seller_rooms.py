"""The seller's live control over HTTP: rooms, go live / end, pins and flash deals, each
change on its real stream before the answer; the buyer's cancel request; who may touch
which room; and what bad input gets. Real Redis, SQLite and PostgreSQL."""

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis

from contracts import (
    CancellationRequestedEvent,
    FlashDealRequestedEvent,
    RoomChangedEvent,
    decode_entry,
    utc_now,
)
from infra.local.redis_server import free_port
from tests.conftest import Database
from tests.integration.test_storefront_api import stream_entries
from tests.integration.test_storefront_seller_auth import (
    SellerStorefront,
    SignedIn,
    running_seller_storefront,
    seller_settings,
)
from tests.support import demo

HOODIE, MUG, CAP = demo.DEMO_PRODUCTS


@pytest.fixture
async def sellers(
    redis_url: str, stream_prefix: str, database: Database
) -> AsyncIterator[SellerStorefront]:
    """On SQLite and on PostgreSQL."""
    async for running in running_seller_storefront(
        seller_settings(redis_url, stream_prefix, database)
    ):
        yield running


async def room_changes(redis: aioredis.Redis, sellers: SellerStorefront) -> list[RoomChangedEvent]:
    entries = await stream_entries(redis, sellers.settings.streams.room_changed)
    return [decode_entry(fields, RoomChangedEvent) for fields in entries]


async def new_room(sellers: SellerStorefront, seller: SignedIn, **body: Any) -> dict[str, Any]:
    answer = await sellers.client.post(
        "/api/seller/rooms", json={"title": "Sunday drop"} | body, headers=seller.headers
    )
    assert answer.status_code == 201, answer.text
    room: dict[str, Any] = answer.json()
    return room


async def buy(sellers: SellerStorefront, room_id: str, auth: dict[str, str] | None = None) -> Any:
    auth = auth or (await sellers.buyer())[1]
    body = {"room_id": room_id, "items": [{"sku": MUG.sku, "quantity": 1}]}
    return await sellers.client.post("/api/checkouts", json=body, headers=auth)


async def test_a_room_goes_live_with_pins_and_a_deal_and_every_change_is_on_its_stream(
    sellers: SellerStorefront, redis_client: aioredis.Redis
) -> None:
    seller, streams = await sellers.sign_in(), sellers.settings.streams
    planned = (utc_now() + timedelta(hours=2)).replace(microsecond=0)
    room = await new_room(
        sellers, seller, scheduled_at=planned.isoformat(), stream_url="https://video.test/mia"
    )
    room_id, api = room["room_id"], f"/api/seller/rooms/{room['room_id']}"
    assert room["state"] == "scheduled"

    pinned = await sellers.client.post(
        f"{api}/pins", json={"sku": MUG.sku, "max_per_checkout": 3}, headers=seller.headers
    )
    assert pinned.status_code == 200, pinned.text
    assert [p["sku"] for p in pinned.json()["products"]] == [MUG.sku]
    not_live = await buy(sellers, room_id)
    assert not_live.status_code == 422
    assert not_live.json()["detail"][0]["type"] == "room_not_live"

    live = await sellers.client.post(f"{api}/go-live", headers=seller.headers)
    assert live.json()["state"] == "live"
    shown = (await sellers.client.get(f"/api/rooms/{room_id}")).json()
    assert (shown["state"], shown["stream_url"]) == ("live", "https://video.test/mia")
    assert datetime.fromisoformat(shown["scheduled_at"]) == planned
    assert [(p["sku"], p["max_per_checkout"], p["deal"]) for p in shown["products"]] == [
        (MUG.sku, 3, None)
    ]
    buyer_id, buyer = await sellers.buyer()
    bought = await buy(sellers, room_id, buyer)
    assert bought.status_code == 202

    deal = await sellers.client.post(
        f"{api}/deals",
        json={"sku": MUG.sku, "price_minor": 990, "units_cap": 10, "per_buyer_limit": 2,
              "starts_in_seconds": 30},
        headers=seller.headers,
    )  # fmt: skip
    assert deal.status_code == 202, deal.text
    deal_id = deal.json()["deal_id"]
    second = await sellers.client.post(
        f"{api}/deals",
        json={"sku": MUG.sku, "price_minor": 890, "units_cap": 5, "per_buyer_limit": 1},
        headers=seller.headers,
    )
    assert second.status_code == 409
    assert second.json()["reason"] == "deal_running"
    ended = await sellers.client.post(f"{api}/deals/{deal_id}/end", headers=seller.headers)
    assert ended.status_code == 202

    cancel = await sellers.client.post(
        f"/api/checkouts/{bought.json()['checkout_id']}/cancellation",
        headers=buyer,
    )
    assert cancel.status_code == 202, cancel.text
    assert cancel.json() == {"checkout_id": bought.json()["checkout_id"], "status": "requested"}

    over = await sellers.client.post(f"{api}/end", headers=seller.headers)
    assert over.json()["state"] == "ended"
    assert (await buy(sellers, room_id)).json()["detail"][0]["type"] == "room_not_live"
    late = await sellers.client.post(f"{api}/pins", json={"sku": CAP.sku}, headers=seller.headers)
    assert late.status_code == 409

    changes = await room_changes(redis_client, sellers)
    assert [(c.data.room_id, c.data.state, c.data.skus) for c in changes] == [
        (room_id, "scheduled", []),  # created: announced, so the notifier streams it
        (room_id, "scheduled", [MUG.sku]),
        (room_id, "live", [MUG.sku]),
        (room_id, "ended", [MUG.sku]),
    ]
    assert {c.correlation_id for c in changes} == {room_id}
    deals = [
        decode_entry(fields, FlashDealRequestedEvent)
        for fields in await stream_entries(redis_client, streams.flash_deals)
    ]
    assert [d.data.deal_id for d in deals] == [deal_id, deal_id]
    started, stopped = deals[0].data, deals[1].data
    assert (started.seller_id, started.room_id, started.sku) == (
        demo.DEMO_SELLER_ID,
        room_id,
        MUG.sku,
    )
    assert (started.price_minor, started.units_cap, started.per_buyer_limit) == (990, 10, 2)
    assert timedelta(seconds=25) < started.starts_at - deals[0].occurred_at <= timedelta(seconds=30)
    assert started.ends_at is None
    assert stopped.ends_at is not None
    assert stopped.ends_at <= datetime.now(UTC)
    assert deals[0].correlation_id == deal_id
    [cancellation] = [
        decode_entry(fields, CancellationRequestedEvent)
        for fields in await stream_entries(redis_client, streams.cancellations)
    ]
    assert (
        cancellation.data.checkout_id == bought.json()["checkout_id"] == cancellation.correlation_id
    )
    assert cancellation.data.buyer_id == buyer_id


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_another_sellers_room_is_403_on_every_control_and_an_unknown_one_404(
    sellers: SellerStorefront, redis_client: aioredis.Redis
) -> None:
    rival = await sellers.rival()
    demo_api = f"/api/seller/rooms/{demo.DEMO_ROOM_ID}"
    attempts = {
        "room": sellers.client.get(demo_api, headers=rival.cookie),
        "go-live": sellers.client.post(f"{demo_api}/go-live", headers=rival.headers),
        "end": sellers.client.post(f"{demo_api}/end", headers=rival.headers),
        "pin": sellers.client.post(
            f"{demo_api}/pins", json={"sku": MUG.sku}, headers=rival.headers
        ),
        "unpin": sellers.client.delete(f"{demo_api}/pins/{MUG.sku}", headers=rival.headers),
        "deal": sellers.client.post(
            f"{demo_api}/deals",
            json={"sku": MUG.sku, "price_minor": 1, "units_cap": 1, "per_buyer_limit": 1},
            headers=rival.headers,
        ),
        "report": sellers.client.get(f"{demo_api}/report", headers=rival.cookie),
        "control page": sellers.client.get("/seller/rooms/demo", headers=rival.cookie),
        "report page": sellers.client.get("/seller/rooms/demo/report", headers=rival.cookie),
        "dashboard": sellers.client.get("/rooms/demo/dashboard", headers=rival.cookie),
        "pin form": sellers.client.post(
            "/seller/rooms/demo/pins",
            data={"sku": MUG.sku, "csrf_token": rival.csrf_token},
            headers=rival.cookie,
        ),
    }
    for what, attempt in attempts.items():
        answer = await attempt
        assert answer.status_code == 403, (what, answer.text)
    unknown = await sellers.client.get("/api/seller/rooms/no-such-room", headers=rival.cookie)
    odd = await sellers.client.post("/api/seller/rooms/%00%ff/go-live", headers=rival.headers)
    page = await sellers.client.get("/seller/rooms/no-such-room", headers=rival.cookie)
    assert unknown.status_code == odd.status_code == page.status_code == 404
    assert await redis_client.xlen(sellers.settings.streams.room_changed) == 0
    room = (await sellers.client.get(f"/api/rooms/{demo.DEMO_ROOM_ID}")).json()
    assert (room["state"], len(room["products"])) == ("live", len(demo.DEMO_PRODUCTS))


BAD_ROOMS = [
    {"title": "Drop", "colour": "red"},
    {"title": ""},
    {"title": "   "},
    {"title": "Drop\x00"},
    {"title": "Drop\nNight"},
    {"title": 42},
    {"title": "x" * 201},
    {"title": "Drop", "stream_url": "http://video.test/x"},
    {"title": "Drop", "stream_url": "javascript:alert(1)"},
    {"title": "Drop", "stream_url": "https://"},
    {"title": "Drop", "scheduled_at": "tomorrow"},
    {"title": "Drop", "scheduled_at": "2026-12-24T20:00:00"},
    {"title": "Drop", "scheduled_at": "9999-12-31T23:59:59-05:00"},
    {"title": "Drop", "scheduled_at": "2001-01-01T00:00:00Z"},
]
BAD_PINS = [
    {"sku": MUG.sku, "max_per_checkout": "3"},
    {"sku": MUG.sku, "max_per_checkout": True},
    {"sku": MUG.sku, "max_per_checkout": 0},
    {"sku": MUG.sku, "max_per_checkout": 101},
    {"sku": MUG.sku, "max_per_checkout": 2.5},
    {"sku": "NOT-IN-CATALOG"},
    {"sku": "bad sku!"},
    {},
]
DEAL = {"sku": MUG.sku, "price_minor": 990, "units_cap": 10, "per_buyer_limit": 2}
BAD_DEALS = [
    DEAL | {"price_minor": -1},
    DEAL | {"price_minor": "9.90"},
    DEAL | {"units_cap": 0},
    DEAL | {"units_cap": 1_000_001},
    DEAL | {"per_buyer_limit": 101},
    DEAL | {"starts_in_seconds": -5},
    DEAL | {"starts_in_seconds": 10, "starts_at": "2030-01-01T00:00:00Z"},
    DEAL | {"starts_at": "1999-01-01T00:00:00Z"},
    DEAL | {"sku": "NOT-PINNED"},
    DEAL | {"extra": 1},
]


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_bad_bodies_get_a_4xx_naming_the_problem_and_change_nothing(
    sellers: SellerStorefront, redis_client: aioredis.Redis
) -> None:
    seller = await sellers.sign_in()
    room = await new_room(sellers, seller)
    api = f"/api/seller/rooms/{room['room_id']}"
    await sellers.client.post(f"{api}/pins", json={"sku": MUG.sku}, headers=seller.headers)
    cases = [("/api/seller/rooms", body) for body in BAD_ROOMS]
    cases += [(f"{api}/pins", body) for body in BAD_PINS]
    cases += [(f"{api}/deals", body) for body in BAD_DEALS]
    for path, body in cases:
        answer = await sellers.client.post(path, json=body, headers=seller.headers)
        assert answer.status_code == 422, (path, body, answer.text)
        assert all(error["msg"] for error in answer.json()["detail"]), answer.text
    raw = [b'{"title": "\\ud800"}', b'{"title": "Drop"', b"[]", b'"Drop"']
    for content in raw:
        answer = await sellers.client.post(
            "/api/seller/rooms", content=content,
            headers=seller.headers | {"content-type": "application/json"},
        )  # fmt: skip
        assert answer.status_code == 422, (content, answer.text)
    rooms = (await sellers.client.get("/api/seller/rooms", headers=seller.cookie)).json()
    assert len(rooms) == 2  # the demo room and the one made above
    # The room's creation and the one pin.
    assert await redis_client.xlen(sellers.settings.streams.room_changed) == 2
    assert await redis_client.xlen(sellers.settings.streams.flash_deals) == 0


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
async def test_the_pages_run_the_same_live_with_plain_forms(
    sellers: SellerStorefront, redis_client: aioredis.Redis
) -> None:
    seller = await sellers.sign_in()
    csrf = {"csrf_token": seller.csrf_token}
    day = (utc_now() + timedelta(days=30)).date().isoformat()
    form = {"title": "Form drop", "scheduled_at": f"{day}T20:00", "tz_offset_minutes": "-120"}
    made = await sellers.client.post(
        "/seller/rooms", data=csrf | form | {"stream_url": ""}, headers=seller.cookie
    )
    assert made.status_code == 303, made.text
    page_url = made.headers["location"]
    room_id = page_url.rsplit("/", 1)[1]
    control = await sellers.client.get(page_url, headers=seller.cookie)
    for testid in ("go-live", "catalog-product", "pin", "pin-max-per-checkout", "report-link",
                   "dashboard-link", "nothing-pinned"):  # fmt: skip
        assert f'data-testid="{testid}"' in control.text, testid
    assert f'data-sku="{HOODIE.sku}"' in control.text
    assert f"{day}T18:00:00+00:00" in control.text  # 20:00 at UTC+2

    steps = [
        (f"{page_url}/pins", {"sku": HOODIE.sku, "max_per_checkout": "2"}),
        (f"{page_url}/go-live", {}),
        (f"{page_url}/deals", {"sku": HOODIE.sku, "price": "39.90", "units_cap": "20",
                               "per_buyer_limit": "1", "starts_in_seconds": "", "starts_at": ""}),
    ]  # fmt: skip
    for path, form in steps:
        answer = await sellers.client.post(path, data=csrf | form, headers=seller.cookie)
        assert answer.status_code == 303, (path, answer.text)
    control = await sellers.client.get(page_url, headers=seller.cookie)
    for testid in ("pinned-product", "unpin", "deal", "end-deal", "end-live"):
        assert f'data-testid="{testid}"' in control.text, testid
    [deal] = [
        decode_entry(fields, FlashDealRequestedEvent).data
        for fields in await stream_entries(redis_client, sellers.settings.streams.flash_deals)
    ]
    assert (deal.room_id, deal.sku, deal.price_minor, deal.units_cap) == (
        room_id,
        HOODIE.sku,
        3990,
        20,
    )

    bad_price = await sellers.client.post(
        f"{page_url}/deals",
        data=csrf
        | {"sku": HOODIE.sku, "price": "39.999", "units_cap": "1", "per_buyer_limit": "1"},
        headers=seller.cookie,
    )
    bad_cap = await sellers.client.post(
        f"{page_url}/pins", data=csrf | {"sku": HOODIE.sku, "max_per_checkout": "lots"},
        headers=seller.cookie,
    )  # fmt: skip
    assert bad_price.status_code == bad_cap.status_code == 422
    assert 'data-testid="error-message"' in bad_price.text
    ended = await sellers.client.post(
        f"{page_url}/deals/{deal.deal_id}/end", data=csrf, headers=seller.cookie
    )
    unpinned = await sellers.client.post(
        f"{page_url}/pins/{HOODIE.sku}/unpin", data=csrf, headers=seller.cookie
    )
    assert ended.status_code == unpinned.status_code == 303
    assert (await sellers.client.get(f"/api/rooms/{room_id}")).json()["products"] == []
    mine = await sellers.client.get("/seller", headers=seller.cookie)
    assert f'data-room-id="{room_id}"' in mine.text


async def test_a_change_that_cannot_reach_its_stream_is_answered_503_and_not_kept(
    stream_prefix: str, sqlite_database: Database
) -> None:
    settings = seller_settings(f"redis://127.0.0.1:{free_port()}/0", stream_prefix, sqlite_database)
    async for sellers in running_seller_storefront(settings):
        seller = await sellers.sign_in()
        room = await new_room(sellers, seller)
        api = f"/api/seller/rooms/{room['room_id']}"
        live = await sellers.client.post(f"{api}/go-live", headers=seller.headers)
        pin = await sellers.client.post(
            f"{api}/pins", json={"sku": MUG.sku}, headers=seller.headers
        )
        _buyer, auth = await sellers.buyer()
        cancel = await sellers.client.post("/api/checkouts/co-1/cancellation", headers=auth)
        after = await sellers.client.get(api, headers=seller.cookie)

    assert live.status_code == pin.status_code == cancel.status_code == 503
    assert live.headers["retry-after"]
    assert "Traceback" not in live.text
    assert (after.json()["state"], after.json()["products"]) == ("scheduled", [])
