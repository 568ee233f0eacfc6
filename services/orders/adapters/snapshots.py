"""Coalesced snapshots the marketplace publishes for the live side: stock levels per product
(`catalog.changed`) and sales per room (`room.sales`).

A flash sale changes stock thousands of times a second; readers only need the
latest state, a few times a second. Changes are noted in memory and, every
`interval`, the current rows of what changed are read and published once. Each
replica publishes what it touched; a snapshot is read from the database, so any
replica's is true as of its time, and readers keep the newest (`version`).
"""

import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from redis.asyncio import Redis
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col, select

from contracts import (
    CatalogChanged,
    CatalogChangedEvent,
    DealSnapshot,
    Envelope,
    ProductSnapshot,
    RoomSales,
    RoomSalesChangedEvent,
    Streams,
    encode_entry,
    utc_now,
)
from services.common.tasks import Stopping
from services.orders.adapters.repository import deal_usage, flash_deals
from services.orders.adapters.tables import OrderLineRow, OrderRow, ProductRow
from services.orders.deals import Deal, deal_to_show
from services.orders.domain import Status

log = logging.getLogger(__name__)
PRODUCER = "orders"
STREAM_MAXLEN = 10_000


class SnapshotPublisher:
    def __init__(
        self, engine: AsyncEngine, redis: Redis, streams: Streams, *, interval: float
    ) -> None:
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._redis = redis
        self._streams = streams
        self._interval = interval
        self._skus: set[str] = set()
        self._rooms: set[str] = set()
        self._all_products = True  # the first round publishes the whole catalog

    def touched(self, *, room_id: str | None = None, skus: Iterable[str] = ()) -> None:
        """Something changed `skus` (and the sales of `room_id`); publish at the next round."""
        if room_id is not None:
            self._rooms.add(room_id)
        self._skus.update(skus)

    def touched_everything(self) -> None:
        self._all_products = True

    async def publish_once(self) -> int:
        """Publish what changed since the last round; how many events were written."""
        skus, rooms, everything = self._skus, self._rooms, self._all_products
        self._skus, self._rooms, self._all_products = set(), set(), False
        try:
            async with self._sessions() as session:
                products = await _products(session, None if everything else skus)
                sales = [await _room_sales(session, room) for room in sorted(rooms)]
            events: list[tuple[str, Envelope[Any]]] = [
                (
                    self._streams.catalog_changed,
                    CatalogChangedEvent.new(
                        correlation_id="catalog",
                        producer=PRODUCER,
                        data=CatalogChanged(products=products[start : start + 1000]),
                    ),
                )
                for start in range(0, len(products), 1000)
            ]
            events += [
                (
                    self._streams.room_sales,
                    RoomSalesChangedEvent.new(correlation_id=s.room_id, producer=PRODUCER, data=s),
                )
                for s in sales
            ]
            pipe = self._redis.pipeline(transaction=False)
            for stream, event in events:
                fields: dict[Any, Any] = encode_entry(event)
                pipe.xadd(stream, fields, maxlen=STREAM_MAXLEN, approximate=True)
            written = len(await pipe.execute())
        except BaseException:
            # Not published: keep it for the next round.
            self._skus |= skus
            self._rooms |= rooms
            self._all_products |= everything
            raise
        return written

    async def run(self, stopping: Stopping) -> None:
        """Publish every interval until `stopping`, ending between rounds."""
        while not stopping:
            await stopping.wait(self._interval)
            try:
                await self.publish_once()
            except Exception:
                log.warning("snapshot publishing failed; retrying next round", exc_info=True)


async def _products(session: AsyncSession, skus: set[str] | None) -> list[ProductSnapshot]:
    query = select(ProductRow).order_by(col(ProductRow.sku))
    if skus is not None:
        if not skus:
            return []
        query = query.where(col(ProductRow.sku).in_(skus))
    rows = list(await session.scalars(query))
    deals = await _deals(session, {r.sku for r in rows})
    return [
        ProductSnapshot(
            sku=r.sku,
            title=r.title,
            price_minor=r.price_minor,
            currency=r.currency,
            available=r.available,
            sold=r.sold,
            version=r.version,
            seller_id=r.seller_id,
            image_url=r.image_url,
            deal=deals.get(r.sku),
        )
        for r in rows
    ]


async def _deals(session: AsyncSession, skus: set[str]) -> dict[str, DealSnapshot]:
    """The deal each sku shows (running or counting down), with the units taken so far."""
    now = utc_now()
    # The repository's reads: one definition of a deal and of the units taken in it.
    deals = await flash_deals(session, skus, not_ended_at=now)
    shown = [deal for sku in sorted(skus) if (deal := deal_to_show(deals, sku=sku, now=now))]
    usage = await deal_usage(session, {d.deal_id for d in shown})
    return {d.sku: _deal_snapshot(d, usage.taken[d.deal_id]) for d in shown}


def _deal_snapshot(deal: Deal, taken: int) -> DealSnapshot:
    return DealSnapshot(
        deal_id=deal.deal_id,
        room_id=deal.room_id,
        price_minor=deal.price_minor,
        units_cap=deal.units_cap,
        units_taken=taken,
        per_buyer_limit=deal.per_buyer_limit,
        starts_at=deal.starts_at,
        ends_at=deal.ends_at,
    )


SOLD = [Status.CONFIRMED.value, Status.SHIPPED.value]
"""What counts as sold in a room's figures: a cancelled or refunded order no longer does."""


async def _room_sales(session: AsyncSession, room_id: str) -> RoomSales:
    in_room = col(OrderRow.room_id) == room_id
    by_status = await session.execute(
        select(OrderRow.status, OrderRow.reason, func.count())
        .where(in_room)
        .group_by(col(OrderRow.status), col(OrderRow.reason))
    )
    counts: dict[str, int] = defaultdict(int)
    rejected: dict[str, int] = defaultdict(int)
    for status, reason, n in by_status:
        counts[status] += n
        if status == "rejected":
            rejected[reason or "unknown"] += n
    sold = in_room & col(OrderRow.status).in_(SOLD)
    by_sku = await session.execute(
        select(
            OrderLineRow.sku,
            func.sum(OrderLineRow.quantity),
            func.sum(OrderLineRow.quantity * OrderLineRow.unit_price_minor),
        )
        .join(OrderRow, col(OrderRow.order_id) == col(OrderLineRow.order_id))
        .where(sold)
        .group_by(col(OrderLineRow.sku))
    )
    units, revenue_by_sku = {}, {}
    for sku, n, amount in by_sku:
        units[sku], revenue_by_sku[sku] = int(n), int(amount)
    revenue = await session.execute(
        select(OrderRow.currency, func.sum(OrderRow.total_minor))
        .where(sold)
        .group_by(col(OrderRow.currency))
    )
    return RoomSales(
        room_id=room_id,
        checkouts=sum(counts.values()),
        confirmed=sum(counts[s] for s in SOLD),
        rejected=dict(rejected),
        expired=counts["expired"],
        units_sold=units,
        revenue_minor={c: int(n) for c, n in revenue},
        revenue_minor_by_sku=revenue_by_sku,
        cancelled=counts[Status.CANCELLED.value] + counts[Status.REFUNDED.value],
    )
