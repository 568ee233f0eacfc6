"""What `livecart-ops streams` reports: per stream (each checkout partition on its own),
per consumer group and per consumer, read with SCAN, XINFO and XPENDING only (read-only).

One SCAN of `<prefix>:*` (on a Redis Cluster, of every primary) finds the buyer histories,
checkout partitions Redis holds beyond the configured ones, and streams under the prefix
livecart does not use (e.g. keys from before the hash tags): each is reported, since
entries there are read by nobody.

A stream read by a consumer group (the checkout partitions, flash deals, cancel requests)
is shown beside its DLQ; a stream read without a group has no dead letters, and its DLQ is
only shown when Redis holds one all the same.
"""

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from contracts import EntryId, Streams
from services.ops.entries import text
from services.ops.keys import CHECKOUTS, SCAN_COUNT, by_partition, grouped_streams, partition_of
from services.ops.keys import stream_keys as livecart_streams

PENDING_SAMPLE = 1000
"""Pending entries looked at for the highest delivery count (the oldest ones)."""
OTHER_STREAMS_SHOWN = 50


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
    configured: bool = True
    """False for a checkout partition beyond `LIVECART_CHECKOUT_PARTITIONS` (or its DLQ)."""


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
    checkout_partitions: int = 1
    other_streams: dict[str, int] = field(default_factory=dict)
    """Key → length of streams under the prefix that livecart does not use (at most
    `OTHER_STREAMS_SHOWN`)."""

    @property
    def dead_letters(self) -> dict[str, int]:
        """DLQ length per stream name."""
        return {s.name.removesuffix(".dlq"): s.length for s in self.streams if s.is_dead_letters}

    @property
    def checkouts(self) -> list[StreamStats]:
        """The checkout partitions (configured or found), without their DLQs."""
        return [s for s in self.streams if s.name.startswith(CHECKOUTS) and not s.is_dead_letters]


def stream_keys(
    streams: Streams, extra_partitions: Sequence[str] = (), stray_dlqs: Collection[str] = ()
) -> list[tuple[str, str, bool, bool]]:
    """(name, key, is-dead-letters, configured) of every stream ops reports on: the
    configured checkout partitions, the `extra_partitions` Redis still holds, then the
    other streams; each grouped one beside its DLQ, the others beside theirs only when it
    is among `stray_dlqs` (found by the scan)."""
    named = livecart_streams(streams)
    partitions = streams.checkout_partitions
    ordered = [(name, key, True) for name, key in named[:partitions]]
    ordered += [(streams.short_name(key), key, False) for key in extra_partitions]
    ordered += [(name, key, True) for name, key in named[partitions:]]
    with_dlq = {*grouped_streams(streams), *extra_partitions}
    rows = []
    for name, key, configured in ordered:
        rows.append((name, key, False, configured))
        dlq = Streams.dead_letters(key)
        if key in with_dlq or dlq in stray_dlqs:
            rows.append((f"{name}.dlq", dlq, True, configured))
    return rows


async def collect_streams(client: Redis, streams: Streams) -> StreamsReport:
    now_ms = int(time.time() * 1000)
    scanned = await scan_prefix(client, streams)
    stats = [
        await stream_stats(client, name, key, is_dlq, now_ms, configured=configured)
        for name, key, is_dlq, configured in stream_keys(
            streams, scanned.extra_partitions, scanned.stray_dead_letters
        )
    ]
    return StreamsReport(
        streams.prefix,
        now_ms,
        stats,
        await buyer_history(client, scanned.buyer_history),
        checkout_partitions=streams.checkout_partitions,
        other_streams=await _lengths(client, scanned.others[:OTHER_STREAMS_SHOWN]),
    )


async def stream_stats(
    client: Redis, name: str, key: str, is_dlq: bool, now_ms: int, *, configured: bool = True
) -> StreamStats:
    if not await client.exists(key):
        return StreamStats(name, key, is_dlq, exists=False, configured=configured)
    info: dict[str, Any] = await client.xinfo_stream(key)
    first, last = info.get("first-entry"), info.get("last-entry")
    groups = [await group_stats(client, key, g, now_ms) for g in await client.xinfo_groups(key)]
    return StreamStats(
        name,
        key,
        is_dlq,
        exists=True,
        length=int(info["length"]),
        first_entry_at=EntryId.parse(first[0]).added_at if first else None,
        last_entry_at=EntryId.parse(last[0]).added_at if last else None,
        entries_added=int(info.get("entries-added") or info["length"]),
        groups=groups,
        configured=configured,
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
        oldest_pending_age_ms=max(0, now_ms - EntryId.parse(oldest).ms) if oldest else None,
        max_deliveries=max((int(p["times_delivered"]) for p in sample), default=0),
        pending_sampled=len(sample),
        consumer_list=consumers,
    )


@dataclass
class Scanned:
    """The streams under the prefix beyond the ones livecart names itself."""

    buyer_history: list[str] = field(default_factory=list)
    extra_partitions: list[str] = field(default_factory=list)
    others: list[str] = field(default_factory=list)
    stray_dead_letters: set[str] = field(default_factory=set)
    """DLQs of streams read without a group: nothing should have written them."""


async def scan_prefix(client: Redis, streams: Streams) -> Scanned:
    """One SCAN of every stream under `<prefix>:`, sorted out."""
    known = {key for _, key in livecart_streams(streams)}
    ungrouped_dlqs = {Streams.dead_letters(key) for key in known - set(grouped_streams(streams))}
    known |= {Streams.dead_letters(key) for key in grouped_streams(streams)}
    history_start = streams.buyer_status("")[:-1]  # `<prefix>:{order.status.buyer:`
    scanned = Scanned()
    partitions: set[str] = set()
    async for raw in client.scan_iter(
        match=f"{streams.prefix}:*", count=SCAN_COUNT, _type="stream"
    ):
        key = text(raw)
        if key in known:
            continue
        if key in ungrouped_dlqs:
            scanned.stray_dead_letters.add(key)
            continue
        if key.startswith(history_start) and key.endswith("}"):
            scanned.buyer_history.append(key)
        elif partition_of(streams, key) is not None:
            partitions.add(key)
        elif partition_of(streams, key.removesuffix(".dlq")) is not None:
            partitions.add(key.removesuffix(".dlq"))  # a DLQ left of a partition now gone
        else:
            scanned.others.append(key)
    scanned.extra_partitions.extend(by_partition(streams, partitions))
    scanned.others.sort()
    return scanned


async def _lengths(client: Redis, keys: list[str]) -> dict[str, int]:
    if not keys:
        return {}
    pipe = client.pipeline(transaction=False)
    for key in keys:
        pipe.xlen(key)
    return {key: int(n) for key, n in zip(keys, await pipe.execute(), strict=True)}


async def buyer_history(client: Redis, keys: list[str]) -> HistoryStats:
    """How many buyer history streams (`keys`, from `scan_prefix`) and entries in all."""
    lengths = await _lengths(client, keys)
    return HistoryStats(len(lengths), sum(lengths.values()))
