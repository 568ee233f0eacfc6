"""Live-room chat on real Redis: a buyer's message goes from the storefront's API onto the
chat stream and out of a real notifier to a connected room stream, without the buyer; the
room's seller deletes and mutes; refusals are clear 4xx; the chat limit answers 429."""

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from httpx_sse import ServerSentEvent, aconnect_sse
from redis.asyncio import Redis
from redis.exceptions import NoPermissionError

from contracts import (
    ChatEvent,
    ChatPosted,
    ChatPostedEvent,
    ReactionKind,
    RoomReacted,
    RoomReactedEvent,
    Streams,
    decode_entry,
    utc_now,
)
from services.notifier.config import NotifierSettings
from services.ops.acl import USERS
from services.storefront.chat import Author
from services.storefront.chat_store import RedisChatStore
from tests.conftest import Database
from tests.integration.notifier.support import (
    Notifiers,
    announce_rooms,
    browser_events,
    notifier_settings,
    take,
)
from tests.integration.test_ops_support import acl_redis
from tests.integration.test_storefront_api import stream_entries
from tests.integration.test_storefront_seller_auth import (
    SellerStorefront,
    running_seller_storefront,
    seller_settings,
)
from tests.support.demo import DEMO_ROOM_ID

CHAT = f"/api/rooms/{DEMO_ROOM_ID}/chat"
REACTIONS = f"/api/rooms/{DEMO_ROOM_ID}/reactions"
LIMITS_OFF = {f"rate_limit_{name}": "off" for name in (
    "sessions_per_address", "checkouts_per_buyer", "checkouts_per_address",
    "cancellations_per_buyer", "chat_per_buyer", "reactions_per_buyer",
)}  # fmt: skip


@pytest.fixture
async def sellers(
    redis_url: str, stream_prefix: str, sqlite_database: Database
) -> AsyncIterator[SellerStorefront]:
    settings = seller_settings(redis_url, stream_prefix, sqlite_database, **LIMITS_OFF)
    async for running in running_seller_storefront(settings):
        yield running


@pytest.fixture
async def notifier(
    redis_url: str, stream_prefix: str, redis_client: aioredis.Redis
) -> AsyncIterator[httpx.AsyncClient]:
    """A notifier on the same prefix, under uvicorn, that knows the demo room."""
    settings: NotifierSettings = notifier_settings(redis_url, stream_prefix, room_push_seconds=0.05)
    await announce_rooms(redis_client, settings.streams, DEMO_ROOM_ID)
    running = Notifiers()
    try:
        yield (await running.start(settings)).client
    finally:
        await running.close()


async def next_event(events: AsyncIterator[ServerSentEvent], name: str) -> Any:
    """The data of the next `name` event (viewer counts and the like in between skipped)."""
    while True:
        (event,) = await take(events, 1)
        if event.event == name:
            return json.loads(event.data)


async def say(sellers: SellerStorefront, auth: dict[str, str], text: str) -> httpx.Response:
    return await sellers.client.post(CHAT, json={"text": text}, headers=auth)


async def test_a_message_reaches_a_connected_room_without_the_buyer_and_stays_for_newcomers(
    sellers: SellerStorefront, notifier: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    buyer_id, auth = await sellers.buyer()
    async with aconnect_sse(notifier, "GET", f"/events/rooms/{DEMO_ROOM_ID}") as source:
        events = browser_events(source)
        assert (await next_event(events, "snapshot"))["chat"] == []
        answer = await say(sellers, auth, "  <b>Is the mug dishwasher-safe?</b>  ")
        assert answer.status_code == 201, answer.text
        sent = answer.json()
        assert sent["text"] == "<b>Is the mug dishwasher-safe?</b>"
        line = await next_event(events, "chat")
        assert {k: line[k] for k in ("id", "name", "text")} == {
            "id": sent["message_id"], "name": sent["display_name"], "text": sent["text"]
        }  # fmt: skip
        assert buyer_id not in json.dumps(line)

        assert (
            await sellers.client.post(REACTIONS, json={"kind": "heart"}, headers=auth)
        ).status_code == 202
        assert await next_event(events, "reaction") == {"counts": {"heart": 1}}

    [fields] = await stream_entries(redis_client, sellers.settings.streams.chat)
    entry = ChatEvent.model_validate_json(fields[b"__data__"]).root
    assert isinstance(entry, ChatPostedEvent)
    assert (entry.data.buyer_id, entry.correlation_id) == (buyer_id, DEMO_ROOM_ID)
    [fields] = await stream_entries(redis_client, sellers.settings.streams.reactions)
    assert decode_entry(fields, RoomReactedEvent).data.kind == "heart"

    async with aconnect_sse(notifier, "GET", f"/events/rooms/{DEMO_ROOM_ID}") as source:
        snapshot = await next_event(browser_events(source), "snapshot")
    assert [m["text"] for m in snapshot["chat"]] == [sent["text"]]


async def test_the_seller_deletes_a_message_in_every_open_room_and_mutes_its_author(
    sellers: SellerStorefront, notifier: httpx.AsyncClient
) -> None:
    _, rude = await sellers.buyer()
    _, polite = await sellers.buyer()
    seller = await sellers.sign_in()
    spam = (await say(sellers, rude, "buy my stuff elsewhere")).json()["message_id"]
    assert (await say(sellers, polite, "lovely mug")).status_code == 201
    moderation = f"/api/seller/rooms/{DEMO_ROOM_ID}/chat/{spam}"

    async with aconnect_sse(notifier, "GET", f"/events/rooms/{DEMO_ROOM_ID}") as source:
        events = browser_events(source)
        snapshot = await next_event(events, "snapshot")
        assert [m["id"] for m in snapshot["chat"]] == [spam, snapshot["chat"][1]["id"]]
        deleted = await sellers.client.delete(moderation, headers=seller.headers)
        assert deleted.status_code == 204, deleted.text
        assert await next_event(events, "chat_deleted") == {"id": spam}

    muted = await sellers.client.post(
        f"{moderation}/mute", json={"minutes": 5}, headers=seller.headers
    )
    assert muted.status_code == 200, muted.text
    refused = await say(sellers, rude, "let me talk")
    assert refused.status_code == 403
    assert refused.json()["reason"] == "muted"
    assert refused.json()["until"] == muted.json()["until"]
    assert (await say(sellers, polite, "still here")).status_code == 201

    async with aconnect_sse(notifier, "GET", f"/events/rooms/{DEMO_ROOM_ID}") as source:
        snapshot = await next_event(browser_events(source), "snapshot")
    assert [m["text"] for m in snapshot["chat"]] == ["lovely mug", "still here"]


async def test_moderation_needs_the_rooms_seller_signed_in_with_the_csrf_token(
    sellers: SellerStorefront,
) -> None:
    _, auth = await sellers.buyer()
    message_id = (await say(sellers, auth, "hello")).json()["message_id"]
    url = f"/api/seller/rooms/{DEMO_ROOM_ID}/chat/{message_id}"
    seller, rival = await sellers.sign_in(), await sellers.rival()
    assert (await sellers.client.delete(url)).status_code == 401
    assert (await sellers.client.delete(url, headers=auth)).status_code == 401
    assert (await sellers.client.delete(url, headers=seller.cookie)).status_code == 403
    assert (await sellers.client.delete(url, headers=rival.headers)).json()[
        "reason"
    ] == "not_your_room"
    mute = await sellers.client.post(f"{url}/mute", json={"minutes": 5}, headers=rival.headers)
    assert mute.status_code == 403
    unknown = await sellers.client.delete(f"{url}x", headers=seller.headers)
    assert (unknown.status_code, unknown.json()["reason"]) == (404, "message_not_found")
    for minutes in (0, 1441, "5"):
        bad = await sellers.client.post(
            f"{url}/mute", json={"minutes": minutes}, headers=seller.headers
        )
        assert bad.status_code == 422, minutes
    assert (await say(sellers, auth, "not muted by anyone")).status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        {"text": ""},
        {"text": "   "},
        {"text": "x" * 201},
        {"text": "line\nbreak"},
        {"text": "\u202eevil"},
        {"text": 5},
        {"text": "hi", "buyer_id": "someone-else"},
        {"message": "hi"},
        [],
    ],
)
async def test_bad_messages_are_refused_422_and_nothing_is_posted(
    sellers: SellerStorefront, redis_client: aioredis.Redis, body: object
) -> None:
    _, auth = await sellers.buyer()
    answer = await sellers.client.post(CHAT, json=body, headers=auth)
    assert answer.status_code == 422, answer.text
    assert await redis_client.xlen(sellers.settings.streams.chat) == 0


async def test_who_where_and_when_a_buyer_may_chat(sellers: SellerStorefront) -> None:
    _, auth = await sellers.buyer()
    assert (await sellers.client.post(CHAT, json={"text": "hi"})).status_code == 401
    unknown = await sellers.client.post("/api/rooms/nope/chat", json={"text": "hi"}, headers=auth)
    assert unknown.status_code == 404
    bad_kind = await sellers.client.post(REACTIONS, json={"kind": "poop"}, headers=auth)
    assert bad_kind.status_code == 422
    seller = await sellers.sign_in()
    room = await sellers.client.post(
        "/api/seller/rooms", json={"title": "Later"}, headers=seller.headers
    )
    later = f"/api/rooms/{room.json()['room_id']}"
    closed = await sellers.client.post(f"{later}/chat", json={"text": "hi"}, headers=auth)
    assert closed.status_code == 409
    assert (closed.json()["reason"], closed.json()["state"]) == ("room_not_live", "scheduled")
    react = await sellers.client.post(f"{later}/reactions", json={"kind": "clap"}, headers=auth)
    assert react.status_code == 409


async def test_past_the_chat_limit_a_buyer_gets_429_with_retry_after(
    redis_url: str, stream_prefix: str, sqlite_database: Database
) -> None:
    limits = LIMITS_OFF | {"rate_limit_chat_per_buyer": "2/minute"}
    settings = seller_settings(redis_url, stream_prefix, sqlite_database, **limits)
    async for sellers in running_seller_storefront(settings):
        _, auth = await sellers.buyer()
        _, other = await sellers.buyer()
        assert [(await say(sellers, auth, f"m{n}")).status_code for n in range(2)] == [201, 201]
        refused = await say(sellers, auth, "one too many")
        assert refused.status_code == 429
        assert refused.json()["reason"] == "rate_limited"
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        assert (await say(sellers, other, "another buyer")).status_code == 201
        metrics = (await sellers.client.get("/metrics")).text
        assert 'livecart_rate_limited_total{limit="chat_per_buyer"}' in metrics


async def test_under_the_acl_the_storefront_writes_chat_the_notifier_reads_it_orders_cannot(
    tmp_path: Path,
) -> None:
    """The chat store's real commands as the `storefront` user; the notifier's reads as
    `notifier`; the marketplace's user refused both the streams and the keys."""
    prefix = "lc-chat-acl"
    streams = Streams(prefix)
    with acl_redis(tmp_path / "redis", prefix) as server:
        clients = {user: Redis.from_url(server.url_as(user)) for user in USERS}
        try:
            store = RedisChatStore(streams, client=lambda: _ready(clients["storefront"]))
            posted = ChatPosted(
                message_id="m1", room_id="r1", buyer_id="b1", display_name="Calm Owl 07", text="hi"
            )
            await store.post(
                ChatPostedEvent.new(correlation_id="r1", producer="storefront", data=posted)
            )
            await store.react(
                RoomReactedEvent.new(
                    correlation_id="r1", producer="storefront",
                    data=RoomReacted(room_id="r1", kind=ReactionKind.CLAP),
                )
            )  # fmt: skip
            assert await store.author("m1") == Author("r1", "b1")
            until = utc_now() + timedelta(minutes=1)
            await store.mute("r1", "b1", until=until)
            assert await store.muted_until("r1", "b1") == until
            notifier = clients["notifier"]
            assert len(await stream_entries(notifier, streams.chat)) == 1
            assert len(await stream_entries(notifier, streams.reactions)) == 1
            for key, command in (
                (streams.chat, ("XRANGE", streams.chat, "-", "+")),
                (streams.reactions, ("XRANGE", streams.reactions, "-", "+")),
                (streams.chat_mute("r1", "b1"), ("GET", streams.chat_mute("r1", "b1"))),
            ):
                with pytest.raises(NoPermissionError):
                    await clients["orders"].execute_command(*command)  # type: ignore[no-untyped-call]
                with pytest.raises(NoPermissionError):
                    await notifier.execute_command("XADD", key, "*", "__data__", "{}")  # type: ignore[no-untyped-call]
        finally:
            for client in clients.values():
                await client.aclose()


async def _ready(client: Redis) -> Redis:
    return client
