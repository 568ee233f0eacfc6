"""Learn the rooms announced on `room.changed` before this replica started: the whole
stream (the storefront keeps it to about 10,000 entries), read in pages of XRANGE.
Malformed entries are skipped, as the reader skips them."""

import logging
from typing import cast

from redis.asyncio import Redis

from contracts import RoomChangedEvent, WireError, decode_entry
from services.notifier.known_rooms import KnownRooms

log = logging.getLogger(__name__)

PAGE = 1000


async def learn_announced_rooms(redis: Redis, stream: str, rooms: KnownRooms) -> int:
    """Feed every room change in `stream` to `rooms`, oldest first; how many were read."""
    after, read = "-", 0
    while True:
        page = cast(
            list[tuple[bytes, dict[bytes, bytes]]],
            await redis.xrange(stream, min=after, max="+", count=PAGE),
        )
        for _entry_id, fields in page:
            try:
                rooms.changed(decode_entry(fields, RoomChangedEvent).data)
            except WireError as exc:
                log.debug("room.changed entry skipped: %s", exc)
        read += len(page)
        if len(page) < PAGE:
            return read
        after = f"({page[-1][0].decode()}"
