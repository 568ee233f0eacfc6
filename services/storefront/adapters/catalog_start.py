"""Where the storefront's `catalog.changed` reader begins: the newest N entries.

XREVRANGE with a COUNT costs N entries however long the stream is; the reader then
XREADs after the id found, so it sees those N entries and everything newer.
"""

import logging
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.common.broker import redis_client
from services.storefront.config import StorefrontSettings

BEGINNING = "0-0"

log = logging.getLogger(__name__)


async def newest_entries_start(redis: Redis, stream: str, *, entries: int) -> str:
    """The id to read after so that the newest `entries` entries are read next."""
    newest = cast(list[tuple[bytes, object]], await redis.xrevrange(stream, count=entries + 1))
    if len(newest) <= entries:
        return BEGINNING  # the stream is shorter than that: all of it
    return newest[-1][0].decode()


async def catalog_reader_start(settings: StorefrontSettings) -> str:
    """Where to start reading `catalog.changed`. With Redis unreachable the storefront still
    starts (checkouts answer 503 until it is back) and reads the stream from its beginning
    once it can: slower to catch up, but no stock level is missed."""
    redis = redis_client(
        str(settings.redis_url), cluster=settings.redis_cluster, retry=None, retry_on_error=[]
    )
    try:
        return await newest_entries_start(
            redis, settings.streams.catalog_changed, entries=settings.recent_catalog_entries
        )
    except RedisError as exc:
        log.warning("catalog.changed start not found (%s); reading it from the beginning", exc)
        return BEGINNING
    finally:
        await redis.aclose()
