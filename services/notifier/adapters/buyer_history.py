"""A buyer's capped status stream in Redis, read with XRANGE / XREVRANGE only (read-only ACL)."""

import logging
from collections.abc import Awaitable
from typing import Any, cast

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from contracts import EntryId, OrderStatusChangedEvent, Streams, WireError, decode_entry
from services.notifier.feed import HistoryUnavailable, Page
from services.notifier.records import StatusRecord

log = logging.getLogger(__name__)

ENTRIES_READ = Counter(
    "livecart_notifier_buyer_entries_read",
    "Entries read from buyers' status streams (history, resume and live reads).",
)

RawEntry = tuple[bytes, dict[bytes, bytes]]


class RedisBuyerHistory:
    """The `BuyerHistory` port on Redis; `entries_read` counts every entry Redis returned."""

    def __init__(self, redis: Redis, streams: Streams) -> None:
        self._redis = redis
        self._streams = streams
        self.entries_read = 0

    async def first_id(self, buyer_id: str) -> EntryId | None:
        entries = cast(
            list[RawEntry],
            await _answer(self._redis.xrange(self._streams.buyer_status(buyer_id), count=1)),
        )
        self._count(entries)
        return EntryId.parse(entries[0][0]) if entries else None

    async def read_after(self, buyer_id: str, after: EntryId | None, *, count: int) -> Page:
        start = "-" if after is None else f"({after}"
        entries = await _answer(
            self._redis.xrange(
                self._streams.buyer_status(buyer_id), min=start, max="+", count=count
            )
        )
        return self._page(buyer_id, cast(list[RawEntry], entries))

    async def read_back(
        self, buyer_id: str, until: EntryId, *, inclusive: bool, count: int
    ) -> Page:
        end = str(until) if inclusive else f"({until}"
        entries = await _answer(
            self._redis.xrevrange(
                self._streams.buyer_status(buyer_id), max=end, min="-", count=count
            )
        )
        return self._page(buyer_id, cast(list[RawEntry], entries))

    def _count(self, entries: list[RawEntry]) -> None:
        self.entries_read += len(entries)
        ENTRIES_READ.inc(len(entries))

    def _page(self, buyer_id: str, entries: list[RawEntry]) -> Page:
        self._count(entries)
        records = [r for entry in entries if (r := _record(buyer_id, entry)) is not None]
        last_id = EntryId.parse(entries[-1][0]) if entries else None
        return Page(records=records, last_id=last_id, size=len(entries))


async def _answer(command: Awaitable[Any]) -> Any:
    """Redis's answer; HistoryUnavailable when it gave none (the feed reads again)."""
    try:
        return await command
    except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
        raise HistoryUnavailable(str(exc)) from exc


def _record(buyer_id: str, entry: RawEntry) -> StatusRecord | None:
    raw_id, fields = entry
    try:
        # v1 and v2 alike: v1 is a subset of v2, and the envelope takes either version.
        event = decode_entry(fields, OrderStatusChangedEvent)
    except WireError as exc:
        # Never stops the stream: the producer's bug, found again with XRANGE on this id.
        log.warning("skipped malformed buyer status entry %s: %s", raw_id.decode(), exc)
        return None
    if event.data.buyer_id != buyer_id:
        log.warning("skipped a status of another buyer in %s's stream", buyer_id)
        return None
    return StatusRecord(EntryId.parse(raw_id), event.event_id, event.data)
