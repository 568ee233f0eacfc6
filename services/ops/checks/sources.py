"""What the reconciliation reads from Redis: the checkouts published in every checkout
partition, where the `orders` group stands on each, and which checkouts were
dead-lettered."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from contracts import GROUP_ORDERS, EntryId
from services.common.streams.dead_letters import list_dead_letters
from services.ops.entries import checkout_id_of, envelope_of, scan_stream, text

PENDING_PAGE = 10_000


@dataclass
class Published:
    """Unique checkouts in the checkout partitions, each with the id of its first entry and
    the partition (short name) holding it."""

    entries: int = 0
    first_entry: dict[str, str] = field(default_factory=dict)
    unreadable: list[str] = field(default_factory=list)
    first_entry_at: datetime | None = None
    """The earliest first entry of the partitions: an order older than it was published
    before the streams begin (trimmed), a younger one must be in them. (Trim the partitions
    alike, e.g. XTRIM MINID, or the audit takes orders trimmed from one for ghosts.)"""
    stream_of: dict[str, str] = field(default_factory=dict)
    streams: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class GroupPosition:
    exists: bool
    last_delivered_id: str = "0-0"
    pending_ids: frozenset[str] = frozenset()


async def read_published(client: Redis, streams: Mapping[str, str]) -> Published:
    """Every entry of `streams` (key → short name), each partition read in turn."""
    published = Published(streams=list(streams.values()))
    starts: list[datetime] = []
    for key, name in streams.items():
        start: datetime | None = None
        async for entry_id, fields in scan_stream(client, key):
            published.entries += 1
            start = start or EntryId.parse(entry_id).added_at
            checkout_id = checkout_id_of(envelope_of(fields))
            if checkout_id is None:
                published.unreadable.append(f"{name} {entry_id}")
            elif checkout_id not in published.first_entry:
                published.first_entry[checkout_id] = entry_id
                published.stream_of[checkout_id] = name
        if start is not None:
            starts.append(start)
    published.first_entry_at = min(starts, default=None)
    return published


async def read_group_position(client: Redis, key: str, group: str = GROUP_ORDERS) -> GroupPosition:
    try:
        groups = await client.xinfo_groups(key)
    except ResponseError:  # no such key: nothing was ever published
        return GroupPosition(exists=False)
    info = next((g for g in groups if text(g["name"]) == group), None)
    if info is None:
        return GroupPosition(exists=False)
    pending: set[str] = set()
    low = "-"
    while True:
        page: list[dict[str, Any]] = await client.xpending_range(
            key, group, min=low, max="+", count=PENDING_PAGE
        )
        pending.update(text(p["message_id"]) for p in page)
        if len(page) < PENDING_PAGE:
            break
        low = "(" + text(page[-1]["message_id"])
    return GroupPosition(True, text(info["last-delivered-id"]), frozenset(pending))


async def dead_lettered_checkouts(client: Redis, key: str) -> dict[str, str]:
    """The reason each dead-lettered checkout (of those still readable) was set aside."""
    found: dict[str, str] = {}
    for letter in await list_dead_letters(client, key):
        if checkout_id := checkout_id_of(envelope_of(letter.fields)):
            found[checkout_id] = letter.reason
    return found
