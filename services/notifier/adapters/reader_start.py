"""Where a starting replica's fan-out readers begin: the newest N entries of each stream.

XREVRANGE with a COUNT costs N entries however long the stream is; the reader then
XREADs after the id found, so it sees those N entries and everything newer. The
`room.changed` and `room.reactions` readers start after the newest entry: a room change
only tells open pages to reload the room, and a reaction floats by, so one from before the
start is news to nobody. The `chat` reader starts at the newest `recent_chat` entries:
they are the rooms' recent messages a newcomer sees.
"""

from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis

from services.notifier.config import NotifierSettings

BEGINNING = "0-0"


@dataclass(frozen=True, slots=True)
class ReaderStart:
    """The id each reader XREADs after, and the newest `order.status` entry at start."""

    order_status: str = BEGINNING
    catalog_changed: str = BEGINNING
    room_sales: str = BEGINNING
    room_changed: str = BEGINNING
    chat: str = BEGINNING
    reactions: str = BEGINNING
    newest_status: str = BEGINNING
    """Statuses up to this one are recent memory (whose checkout is whose), not news:
    they ring no doorbell and reach no purchase ticker."""


async def newest_entries_start(redis: Redis, stream: str, *, entries: int) -> str:
    """The id to read after so that the newest `entries` entries are read next."""
    start, _ = await _window(redis, stream, entries=entries)
    return start


async def reader_start(redis: Redis, settings: NotifierSettings) -> ReaderStart:
    streams = settings.streams
    order_status, newest_status = await _window(
        redis, streams.order_status, entries=settings.recent_statuses
    )
    return ReaderStart(
        order_status=order_status,
        catalog_changed=await newest_entries_start(
            redis, streams.catalog_changed, entries=settings.recent_snapshots
        ),
        room_sales=await newest_entries_start(
            redis, streams.room_sales, entries=settings.recent_snapshots
        ),
        room_changed=await newest_entries_start(redis, streams.room_changed, entries=0),
        chat=await newest_entries_start(redis, streams.chat, entries=settings.recent_chat),
        reactions=await newest_entries_start(redis, streams.reactions, entries=0),
        newest_status=newest_status,
    )


async def _window(redis: Redis, stream: str, *, entries: int) -> tuple[str, str]:
    """(where to start reading for the newest `entries` entries, the newest entry's id)."""
    newest = cast(list[tuple[bytes, object]], await redis.xrevrange(stream, count=entries + 1))
    newest_id = newest[0][0].decode() if newest else BEGINNING
    # Shorter than that: all of it.
    start = newest[-1][0].decode() if len(newest) > entries else BEGINNING
    return start, newest_id
