"""Reads rooms from the storefront's database (with a short in-memory cache for hot rooms)
and copies the marketplace's title and price changes onto the pinned products."""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from sqlalchemy import Update, or_, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from services.storefront.adapters.tables import PinnedProductRow, RoomRow, SellerRow
from services.storefront.domain import PinnedProduct, Room
from services.storefront.live_catalog import ProductDetails
from services.storefront.service import RoomReader, ShowcaseUnavailable

log = logging.getLogger(__name__)


class SqlRoomRepository:
    """Rooms with their seller and pinned products, converted to domain objects."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get_room(self, room_id: str) -> Room | None:
        async with AsyncSession(self._engine) as session:
            found = (
                await session.exec(
                    select(RoomRow, SellerRow)
                    .join(SellerRow, col(RoomRow.seller_id) == col(SellerRow.seller_id))
                    .where(RoomRow.room_id == room_id)
                )
            ).first()
            if found is None:
                return None
            products = await session.exec(
                select(PinnedProductRow)
                .where(PinnedProductRow.room_id == room_id)
                .order_by(col(PinnedProductRow.position), col(PinnedProductRow.sku))
            )
            room, seller = found
            return Room(
                room_id=room.room_id,
                title=room.title,
                seller_id=seller.seller_id,
                seller_name=seller.name,
                products=tuple(_pinned(row) for row in products),
            )


def _pinned(row: PinnedProductRow) -> PinnedProduct:
    return PinnedProduct(
        sku=row.sku,
        title=row.title,
        price_minor=row.price_minor,
        currency=row.currency,
        max_per_checkout=row.max_per_checkout,
        position=row.position,
    )


class CachedRoomReader:
    """Keeps each found room in memory: a flash sale reads one room thousands of times a
    second, and a price edit showing up a second or two late is harmless.

    After `ttl` seconds the kept room is still answered at once while one background read
    refreshes it, so a checkout never waits for the database once its room was read.
    Lookups of a room not kept yet share one read, however many arrive together.
    `ttl` 0 keeps nothing: every lookup reads.
    """

    def __init__(
        self, inner: RoomReader, *, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._inner = inner
        self._ttl = ttl
        self._clock = clock
        self._rooms: dict[str, tuple[float, Room]] = {}
        self._reads: dict[str, asyncio.Future[Room | None]] = {}

    async def get_room(self, room_id: str) -> Room | None:
        if self._ttl <= 0:
            return await self._inner.get_room(room_id)
        cached = self._rooms.get(room_id)
        if cached is None:
            # Shielded: one buyer giving up must not cancel the read the others wait for.
            return await asyncio.shield(self._read(room_id))
        if self._clock() - cached[0] >= self._ttl:
            self._read(room_id)
        return cached[1]

    def _read(self, room_id: str) -> "asyncio.Future[Room | None]":
        """The read of `room_id` in flight, or a new one."""
        read = self._reads.get(room_id)
        if read is None:
            read = asyncio.ensure_future(self._load(room_id))
            self._reads[room_id] = read
            read.add_done_callback(lambda done: self._read_done(room_id, done))
        return read

    def _read_done(self, room_id: str, read: "asyncio.Future[Room | None]") -> None:
        if self._reads.get(room_id) is read:
            del self._reads[room_id]

    async def _load(self, room_id: str) -> Room | None:
        read_at = self._clock()
        try:
            room = await self._inner.get_room(room_id)
        except Exception as exc:
            if room_id not in self._rooms:
                raise
            # The kept room is still the best answer; the next lookup tries again.
            log.warning("room %r not refreshed, still showing the kept one: %s", room_id, exc)
            return self._rooms[room_id][1]
        # Unknown rooms are not kept, so a room created a moment ago shows at once.
        if room is None:
            self._rooms.pop(room_id, None)
        else:
            self._rooms[room_id] = (read_at, room)
        return room


class SqlShowcaseWriter:
    """Updates title and price of every pinned copy of a product, in every room."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def update_details(self, details: Sequence[ProductDetails]) -> None:
        try:
            async with self._engine.begin() as conn:
                for item in details:
                    await conn.execute(_details_update(item))
        except SQLAlchemyError as exc:
            raise ShowcaseUnavailable(str(exc)) from exc


def _details_update(item: ProductDetails) -> Update:
    # Only rows that differ: on start-up every product is announced once, and an
    # unchanged row must cost no write.
    sku, title = col(PinnedProductRow.sku), col(PinnedProductRow.title)
    price, currency = col(PinnedProductRow.price_minor), col(PinnedProductRow.currency)
    return (
        update(PinnedProductRow)
        .where(sku == item.sku)
        .where(or_(title != item.title, price != item.price_minor, currency != item.currency))
        .values(title=item.title, price_minor=item.price_minor, currency=item.currency)
    )
