"""Where the storefront's fan-out readers begin: the newest N entries of `catalog.changed`
and of `room.sales`, and what comes after the newest `room.changed`.

XREVRANGE with a COUNT costs N entries however long the stream is; the reader then
XREADs after the id found, so it sees those N entries and everything newer.
"""

import logging
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.common.streams.broker import redis_client
from services.storefront.config import StorefrontSettings

BEGINNING = "0-0"

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReaderStarts:
    """The entry id each reader reads after."""

    catalog_changed: str = BEGINNING
    room_sales: str = BEGINNING
    room_changed: str = BEGINNING


async def newest_entries_start(redis: Redis, stream: str, *, entries: int) -> str:
    """The id to read after so that the newest `entries` entries are read next."""
    newest = cast(list[tuple[bytes, object]], await redis.xrevrange(stream, count=entries + 1))
    if len(newest) <= entries:
        return BEGINNING  # the stream is shorter than that: all of it
    return newest[-1][0].decode()


async def reader_starts(settings: StorefrontSettings) -> ReaderStarts:
    """Where to start reading. With Redis unreachable the storefront still starts
    (checkouts answer 503 until it is back) and reads the streams from their beginning
    once it can: slower to catch up, but no stock level or figure is missed."""
    redis = redis_client(
        str(settings.redis_url), cluster=settings.redis_cluster, retry=None, retry_on_error=[]
    )
    streams = settings.streams
    try:
        return ReaderStarts(
            catalog_changed=await newest_entries_start(
                redis, streams.catalog_changed, entries=settings.recent_catalog_entries
            ),
            room_sales=await newest_entries_start(
                redis, streams.room_sales, entries=settings.recent_sales_entries
            ),
            # Only news: a change made before start-up is in the database already.
            room_changed=await newest_entries_start(redis, streams.room_changed, entries=0),
        )
    except RedisError as exc:
        log.warning("reader starts not found (%s); reading from the beginning", exc)
        return ReaderStarts()
    finally:
        await redis.aclose()
