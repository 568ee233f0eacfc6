"""`ChatStore` on the storefront's Redis: messages and moderation XADDed to `Streams.chat`,
reactions to `Streams.reactions` (both capped: they feed live rooms, nothing replays them),
and two kinds of plain keys with a TTL under `Streams.chat_key_pattern`:

- `chat_author(message_id)`: `<room_id> <buyer_id>`, so the seller can delete a message or
  mute its author by the message id the public stream shows (never the buyer id);
- `chat_mute(room_id, buyer_id)`: the mute's end, expiring with it.

Mutes are Redis keys, not a table: they last minutes, expiry is exactly their rule, every
replica checks them in one GET, and the storefront's database schema stays as it is.
"""

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from contracts import (
    ChatModeratedEvent,
    ChatPostedEvent,
    RoomReactedEvent,
    Streams,
    encode_entry,
    utc_now,
)
from services.storefront.chat import Author
from services.storefront.service import EventUnavailable

log = logging.getLogger(__name__)

CHAT_MAXLEN = 10_000
REACTIONS_MAXLEN = 1_000
AUTHOR_TTL_SECONDS = 6 * 3600
"""How long a message can still be moderated by its id (longer than a live)."""


class RedisChatStore:
    def __init__(self, streams: Streams, *, client: Callable[[], Awaitable[Redis]]) -> None:
        self._streams = streams
        self._client = client

    async def post(self, event: ChatPostedEvent) -> None:
        message = event.data
        fields: dict[Any, Any] = encode_entry(event)
        author = f"{message.room_id} {message.buyer_id}"

        async def run(redis: Redis) -> object:
            # Not a transaction: on a Cluster the stream and the key live on other slots.
            # The key first: a message on the stream can always be moderated.
            pipe = redis.pipeline(transaction=False)
            pipe.set(self._streams.chat_author(message.message_id), author, ex=AUTHOR_TTL_SECONDS)
            pipe.xadd(self._streams.chat, fields, maxlen=CHAT_MAXLEN, approximate=True)
            return await pipe.execute()

        await self._run("chat message", run)

    async def react(self, event: RoomReactedEvent) -> None:
        fields: dict[Any, Any] = encode_entry(event)
        stream = self._streams.reactions
        await self._run(
            "reaction", lambda r: r.xadd(stream, fields, maxlen=REACTIONS_MAXLEN, approximate=True)
        )

    async def moderate(self, event: ChatModeratedEvent) -> None:
        fields: dict[Any, Any] = encode_entry(event)
        stream = self._streams.chat
        await self._run(
            "moderation", lambda r: r.xadd(stream, fields, maxlen=CHAT_MAXLEN, approximate=True)
        )

    async def author(self, message_id: str) -> Author | None:
        key = self._streams.chat_author(message_id)
        text = _text(await self._run("author lookup", lambda r: r.get(key)))
        room_id, _, buyer_id = (text or "").partition(" ")
        return Author(room_id, buyer_id) if room_id and buyer_id else None

    async def muted_until(self, room_id: str, buyer_id: str) -> datetime | None:
        key = self._streams.chat_mute(room_id, buyer_id)
        text = _text(await self._run("mute lookup", lambda r: r.get(key)))
        try:
            return datetime.fromisoformat(text) if text else None
        except ValueError:
            log.warning("unreadable mute %s: %r", key, text)
            return None

    async def mute(self, room_id: str, buyer_id: str, *, until: datetime) -> None:
        key = self._streams.chat_mute(room_id, buyer_id)
        ms = max(1, int((until - utc_now()).total_seconds() * 1000))
        await self._run("mute", lambda r: r.set(key, until.isoformat(), px=ms))

    async def _run(self, what: str, command: Callable[[Redis], Awaitable[object]]) -> object:
        try:
            return await command(await self._client())
        except (RedisError, OSError) as exc:
            # The broker's client already retried; a refusal (OOM, ACL) is no better.
            log.warning("%s failed: %s", what, exc)
            raise EventUnavailable(str(exc)) from exc


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode()
    return value if isinstance(value, str) else None
