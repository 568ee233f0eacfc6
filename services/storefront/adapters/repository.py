"""Reads rooms from the storefront's database (with a short in-memory cache for hot rooms)
and copies the marketplace's title and price changes onto the pinned products."""

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
    """Keeps each found room for `ttl` seconds: a flash sale reads one room thousands of
    times a second, and a price edit showing up a second or two late is harmless."""

    def __init__(
        self, inner: RoomReader, *, ttl: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._inner = inner
        self._ttl = ttl
        self._clock = clock
        self._rooms: dict[str, tuple[float, Room]] = {}

    async def get_room(self, room_id: str) -> Room | None:
        now = self._clock()
        cached = self._rooms.get(room_id)
        if cached is not None and now - cached[0] < self._ttl:
            return cached[1]
        room = await self._inner.get_room(room_id)
        # Unknown rooms are not cached, so a room created a moment ago shows at once.
        if room is None:
            self._rooms.pop(room_id, None)
        else:
            self._rooms[room_id] = (now, room)
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
