"""`livecart-ops trace`: one checkout's way across every stream and into the orders DB,
as a timeline with the latency of each hop (tap → accepted → each status …).

The checkout is looked for in every checkout partition and each one's DLQ (those the
services are configured with, and any other Redis holds), so neither a replay nor a
change of the partition count hides it; and in `order.cancellation_requested` and its
DLQ, where a buyer's cancel request from the room travels."""

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from redis.asyncio import Redis

from contracts import EntryId, Streams
from services.ops.entries import (
    Fields,
    checkout_id_of,
    envelope_of,
    parse_time,
    scan_stream,
    text,
)
from services.ops.keys import checkout_streams_in
from services.ops.orders_db import OrderRecord

CLOCK_SKEW_MS = 60_000
"""How far before the checkout's entry the statuses are looked for: on a Redis Cluster the
checkout partition and `order.status` may live on nodes whose clocks (which make the entry
ids) differ."""


@dataclass(frozen=True)
class Hop:
    """One step of a checkout: when, what, and where it was seen."""

    at: datetime
    step: str  # tap | accepted | dead-lettered | status | cancel-requested
    what: str
    stream: str
    entry_id: str | None = None
    detail: str = ""
    since_previous_ms: int | None = None
    in_buyer_history: bool | None = None


@dataclass(frozen=True)
class Trace:
    checkout_id: str
    buyer_id: str | None
    hops: list[Hop]
    history_copies: int = 0
    order: OrderRecord | None = None
    orders_db_error: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(self.hops) or self.order is not None

    @property
    def tap_to_last_ms(self) -> int | None:
        if len(self.hops) < 2:
            return None
        return _ms(self.hops[-1].at - self.hops[0].at)


def _ms(delta: Any) -> int:
    return int(delta.total_seconds() * 1000)


def _occurred(envelope: dict[str, Any], entry_id: str) -> datetime:
    try:
        return parse_time(str(envelope["occurred_at"]))
    except (KeyError, ValueError):
        return EntryId.parse(entry_id).added_at


async def _entries_of(
    client: Redis, key: str, checkout_id: str, start: str = "-"
) -> list[tuple[str, Fields, dict[str, Any]]]:
    found = []
    async for entry_id, fields in scan_stream(
        client, key, start=start, needle=checkout_id.encode()
    ):
        envelope = envelope_of(fields)
        if checkout_id_of(envelope) == checkout_id:
            found.append((entry_id, fields, envelope or {}))
    return found


async def stream_hops(client: Redis, streams: Streams, checkout_id: str) -> Trace:
    """Every event of `checkout_id` in the checkout partitions, their DLQs, order.status
    and the buyer's history copy, in time order (the DB rows are added by the caller)."""
    hops: list[Hop] = []
    buyer_id: str | None = None
    partitions = await checkout_streams_in(client, streams)
    checkouts = [
        (key, *entry) for key in partitions for entry in await _entries_of(client, key, checkout_id)
    ]
    checkouts.sort(key=lambda found: EntryId.parse(found[1]))
    for n, (key, entry_id, _, envelope) in enumerate(checkouts):
        data = envelope.get("data") or {}
        buyer_id = buyer_id or data.get("buyer_id")
        name = streams.short_name(key)
        if n == 0:
            # Never after Redis took it: an envelope stamped within the entry's millisecond
            # (entry ids count whole ones) or by a clock running ahead.
            tapped = min(_occurred(envelope, entry_id), EntryId.parse(entry_id).added_at)
            hops.append(
                Hop(
                    tapped,
                    "tap",
                    "buyer tapped buy",
                    name,
                    detail=f"producer {envelope.get('producer')}",
                )
            )
        what = "checkout accepted" if n == 0 else f"checkout added again (#{n + 1}: replay)"
        hops.append(Hop(EntryId.parse(entry_id).added_at, "accepted", what, name, entry_id))
    for key in (*partitions, streams.cancellations):
        hops += await _dead_letter_hops(client, streams, key, checkout_id)
    start = f"{max(0, EntryId.parse(checkouts[0][1]).ms - CLOCK_SKEW_MS)}" if checkouts else "-"
    hops += await _cancel_request_hops(client, streams, checkout_id, start)
    statuses = await _entries_of(client, streams.order_status, checkout_id, start)
    seen: set[str] = set()
    for entry_id, _, envelope in statuses:
        if (event_id := str(envelope.get("event_id"))) in seen:
            continue  # the relay published it again after a crash: same event
        seen.add(event_id)
        data = envelope.get("data") or {}
        buyer_id = buyer_id or data.get("buyer_id")
        occurred = _occurred(envelope, entry_id)
        relay_ms = _ms(EntryId.parse(entry_id).added_at - occurred)
        what = str(data.get("status", "?")) + (f" ({data['reason']})" if data.get("reason") else "")
        detail = f"published after {relay_ms}ms" + (
            f"; {data['detail']}" if data.get("detail") else ""
        )
        if data.get("tracking_ref"):  # v2: shipped
            detail += f"; tracking {data['tracking_ref']}"
        hops.append(
            Hop(occurred, "status", what, "order.status", entry_id, detail, in_buyer_history=False)
        )
    copies = 0
    if buyer_id:
        history = await _entries_of(client, streams.buyer_status(buyer_id), checkout_id)
        copied = {str(envelope.get("event_id")) for _, _, envelope in history}
        copies = len(history)
        hops = [_mark_history(hop, copied, statuses) for hop in hops]
    return Trace(checkout_id, buyer_id, timeline(hops), history_copies=copies)


async def _dead_letter_hops(
    client: Redis, streams: Streams, key: str, checkout_id: str
) -> list[Hop]:
    """The checkout's entries the `orders` group gave up on in `key` (its DLQ)."""
    hops = []
    dlq = Streams.dead_letters(key)
    for entry_id, fields, _ in await _entries_of(client, dlq, checkout_id):
        meta = {text(k): text(v) for k, v in fields.items() if k.startswith(b"dlq.")}
        deliveries, error = meta.get("dlq.deliveries", "?"), meta.get("dlq.error", "")
        hops.append(
            Hop(
                EntryId.parse(entry_id).added_at,
                "dead-lettered",
                meta.get("dlq.reason", "?"),
                streams.short_name(dlq),
                entry_id,
                f"after {deliveries} deliveries: {error}"[:200],
            )
        )
    return hops


async def _cancel_request_hops(
    client: Redis, streams: Streams, checkout_id: str, start: str
) -> list[Hop]:
    """The buyer's requests, from the room, to cancel the checkout's order."""
    name = streams.short_name(streams.cancellations)
    found = await _entries_of(client, streams.cancellations, checkout_id, start)
    return [
        Hop(
            _occurred(envelope, entry_id),
            "cancel-requested",
            "buyer asked to cancel",
            name,
            entry_id,
            f"producer {envelope.get('producer')}",
        )
        for entry_id, _, envelope in found
    ]


def _mark_history(
    hop: Hop, copied: set[str], statuses: list[tuple[str, Fields, dict[str, Any]]]
) -> Hop:
    if hop.step != "status":
        return hop
    event_ids = {str(env.get("event_id")) for eid, _, env in statuses if eid == hop.entry_id}
    return replace(hop, in_buyer_history=bool(event_ids & copied))


def timeline(hops: list[Hop]) -> list[Hop]:
    """`hops` in time order, each with the time since the one before."""
    ordered = sorted(hops, key=lambda hop: hop.at)
    return [
        replace(hop, since_previous_ms=_ms(hop.at - ordered[n - 1].at) if n else None)
        for n, hop in enumerate(ordered)
    ]
