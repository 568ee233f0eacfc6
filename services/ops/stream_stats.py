"""What `livecart-ops streams` reports: per stream, per consumer group and per consumer,
read with XINFO and XPENDING only (read-only)."""

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from contracts import Streams
from services.ops.entries import entry_ms, entry_time, text

STREAM_NAMES = ("checkout.requested", "order.status", "catalog.changed", "room.sales")
PENDING_SAMPLE = 1000
"""Pending entries looked at for the highest delivery count (the oldest ones)."""


@dataclass(frozen=True)
class ConsumerStats:
    name: str
    pending: int
    idle_ms: int


@dataclass(frozen=True)
class GroupStats:
    name: str
    consumers: int
    pending: int
    lag: int | None
    last_delivered_id: str
    oldest_pending_id: str | None
    oldest_pending_age_ms: int | None
    max_deliveries: int
    pending_sampled: int
    consumer_list: list[ConsumerStats]


@dataclass(frozen=True)
class StreamStats:
    name: str
    key: str
    is_dead_letters: bool
    exists: bool
    length: int = 0
    first_entry_at: datetime | None = None
    last_entry_at: datetime | None = None
    entries_added: int = 0
    groups: list[GroupStats] = field(default_factory=list)


@dataclass(frozen=True)
class HistoryStats:
    """The capped per-buyer copies of `order.status`, summarised."""

    streams: int
    entries: int


@dataclass(frozen=True)
class StreamsReport:
    prefix: str
    taken_at_ms: int
    streams: list[StreamStats]
    buyer_history: HistoryStats

    @property
    def dead_letters(self) -> dict[str, int]:
        """DLQ length per stream name."""
        return {s.name.removesuffix(".dlq"): s.length for s in self.streams if s.is_dead_letters}


def stream_keys(streams: Streams) -> list[tuple[str, str, bool]]:
    """(name, key, is-dead-letters) of every stream ops reports on, each beside its DLQ."""
    keys = []
    for name in STREAM_NAMES:
        key = f"{streams.prefix}:{name}"
        keys += [(name, key, False), (f"{name}.dlq", Streams.dead_letters(key), True)]
    return keys


async def collect_streams(client: Redis, streams: Streams) -> StreamsReport:
    now_ms = int(time.time() * 1000)
    stats = [
        await stream_stats(client, name, key, is_dlq, now_ms)
        for name, key, is_dlq in stream_keys(streams)
    ]
    return StreamsReport(streams.prefix, now_ms, stats, await buyer_history(client, streams))


async def stream_stats(
    client: Redis, name: str, key: str, is_dlq: bool, now_ms: int
) -> StreamStats:
    if not await client.exists(key):
        return StreamStats(name, key, is_dlq, exists=False)
    info: dict[str, Any] = await client.xinfo_stream(key)
    first, last = info.get("first-entry"), info.get("last-entry")
    groups = [await group_stats(client, key, g, now_ms) for g in await client.xinfo_groups(key)]
    return StreamStats(
        name,
        key,
        is_dlq,
        exists=True,
        length=int(info["length"]),
        first_entry_at=entry_time(first[0]) if first else None,
        last_entry_at=entry_time(last[0]) if last else None,
        entries_added=int(info.get("entries-added") or info["length"]),
        groups=groups,
    )


async def group_stats(client: Redis, key: str, info: dict[str, Any], now_ms: int) -> GroupStats:
    name = text(info["name"])
    summary: dict[str, Any] = await client.xpending(key, name)
    oldest = text(summary["min"]) if summary.get("pending") and summary.get("min") else None
    sample: list[dict[str, Any]] = (
        await client.xpending_range(key, name, min="-", max="+", count=PENDING_SAMPLE)
        if oldest
        else []
    )
    consumers = [
        ConsumerStats(text(c["name"]), int(c["pending"]), int(c["idle"]))
        for c in await client.xinfo_consumers(key, name)
    ]
    lag = info.get("lag")
    return GroupStats(
        name=name,
        consumers=int(info["consumers"]),
        pending=int(info["pending"]),
        lag=int(lag) if lag is not None else None,
        last_delivered_id=text(info["last-delivered-id"]),
        oldest_pending_id=oldest,
        oldest_pending_age_ms=max(0, now_ms - entry_ms(oldest)) if oldest else None,
        max_deliveries=max((int(p["times_delivered"]) for p in sample), default=0),
        pending_sampled=len(sample),
        consumer_list=consumers,
    )


async def buyer_history(client: Redis, streams: Streams) -> HistoryStats:
    keys = [
        key
        async for key in client.scan_iter(
            match=streams.buyer_status("*"), count=1000, _type="stream"
        )
    ]
    if not keys:
        return HistoryStats(0, 0)
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.xlen(key)
    lengths = await pipe.execute()
    return HistoryStats(len(keys), sum(int(n) for n in lengths))
