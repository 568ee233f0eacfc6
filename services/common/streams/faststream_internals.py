"""Every use livecart makes of FastStream's internals, so an upgrade touches this file only.

Checked against faststream 0.7.8. None of this is FastStream's public API: its private
modules (`faststream._internal`, `faststream.redis.parser.message`), the subscriber's
private `_client`, the context key a subscriber puts itself under while it handles a
message (`handler_`), the layout of a raw Redis stream message (`message_ids`, `data`,
`channel`), and the broker's `running` flag.
"""

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from faststream._internal.basic_types import SendableMessage
from faststream._internal.parser import CodecProto
from faststream.redis import RedisBroker
from faststream.redis.parser.message import MessageFormat
from redis.asyncio import Redis

__all__ = [
    "CodecProto",
    "MessageFormat",
    "SendableMessage",
    "current_subscriber",
    "first_entry_id",
    "mark_broker_running",
    "raw_batch",
    "raw_channel",
    "raw_entry_ids",
    "raw_fields",
    "raw_message_of",
    "subscriber_client",
    "unparsed_batch",
]


def subscriber_client(subscriber: Any) -> Redis:
    """The connection a subscriber reads with (its broker's pool and retry policy)."""
    client: Redis = subscriber._client
    return client


def current_subscriber(context: Any) -> Any:
    """The subscriber handling the message, from a middleware's `context`."""
    return context.get_local("handler_")


def raw_message_of(message: Any) -> Any:
    """The raw Redis message behind a parsed one (or `message` itself when it is raw)."""
    return getattr(message, "raw_message", message)


def raw_entry_ids(raw: Any) -> list[bytes]:
    """The entry ids of a raw stream message: one, or a batch's."""
    ids = raw.get("message_ids") if isinstance(raw, dict) else None
    return list(ids) if ids else []


def first_entry_id(message: Any) -> bytes:
    """The entry id of a parsed one-entry stream message."""
    entry_id: bytes = raw_message_of(message)["message_ids"][0]
    return entry_id


def raw_fields(raw: Any) -> Any:
    """The fields of a raw stream message: one entry's mapping, or a batch's list of them."""
    return raw.get("data", {}) if isinstance(raw, dict) else {}


def raw_channel(raw: Any) -> str:
    """The stream a raw message was read from, `?` when it does not say."""
    channel = raw.get("channel", "?") if isinstance(raw, dict) else "?"
    return str(channel)


async def unparsed_batch(message: Any, parse: Callable[[Any], Awaitable[Any]]) -> Any:
    """A batch parser that leaves the entries alone: FastStream's chokes on entries that are
    not JSON, so it parses an empty batch and the raw entries stay on the message."""
    parsed = await parse({**message, "data": []})
    parsed.raw_message = message
    return parsed


async def raw_batch(message: Any) -> Mapping[str, Any]:
    """The decoder to go with `unparsed_batch`: the handler gets the raw batch."""
    raw: Mapping[str, Any] = message.raw_message
    return raw


def mark_broker_running(broker: RedisBroker) -> None:
    """Tell the broker it is started after its subscribers and publishers were started one
    by one (FastStream's own start gave up part way)."""
    broker.running = True
