"""Reads rooms from the storefront's database (with a short in-memory cache for hot rooms),
copies the marketplace's product details into the sellers' catalog and onto the pinned
products, keeps each room's latest figures, and records who watched a live."""

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Update, or_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from contracts import RoomSales
from services.common.times import as_utc
from services.storefront.adapters.tables import (
    PinnedProductRow,
    RoomRow,
    SellerRow,
    storefront_metadata,
)
from services.storefront.domain import LiveState, PinnedProduct, Room
from services.storefront.live_catalog import ProductDetails
from services.storefront.service import RoomReader, ShowcaseUnavailable

log = logging.getLogger(__name__)


class SqlRoomRepository:
    """Rooms with their seller and pinned products, converted to domain objects."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get_room(self, room_id: str) -> Room | None:
        async with AsyncSession(self._engine) as session:
            return await read_room(session, room_id)


async def read_room(
    session: AsyncSession, room_id: str, *, for_update: bool = False
) -> Room | None:
    """The room with its host and pins; `for_update` locks its row (PostgreSQL) until the
    transaction ends, so two changes of one room never interleave."""
    query = (
        select(RoomRow, SellerRow)
        .join(SellerRow, col(RoomRow.seller_id) == col(SellerRow.seller_id))
        .where(RoomRow.room_id == room_id)
    )
    found = (await session.exec(query.with_for_update(of=RoomRow) if for_update else query)).first()
    if found is None:
        return None
    products = await session.exec(
        select(PinnedProductRow)
        .where(PinnedProductRow.room_id == room_id)
        .order_by(col(PinnedProductRow.position), col(PinnedProductRow.sku))
    )
    room, seller = found
    return room_of(room, seller.name, tuple(_pinned(row) for row in products))


def room_of(row: RoomRow, seller_name: str, products: tuple[PinnedProduct, ...] = ()) -> Room:
    return Room(
        room_id=row.room_id, title=row.title, seller_id=row.seller_id, seller_name=seller_name,
        products=products, state=LiveState(row.live_state), stream_url=row.stream_url,
        scheduled_at=as_utc(row.scheduled_at), went_live_at=as_utc(row.went_live_at),
        ended_at=as_utc(row.ended_at),
    )  # fmt: skip


def _pinned(row: PinnedProductRow) -> PinnedProduct:
    return PinnedProduct(
        sku=row.sku, title=row.title, price_minor=row.price_minor, currency=row.currency,
        max_per_checkout=row.max_per_checkout, position=row.position, image_url=row.image_url,
    )  # fmt: skip


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
        self._forgotten: dict[str, int] = {}  # per room: how often forget() was called

    def forget(self, room_id: str) -> None:
        """Drop the kept room; a read in flight since then is not kept either."""
        self._rooms.pop(room_id, None)
        self._reads.pop(room_id, None)
        self._forgotten[room_id] = self._forgotten.get(room_id, 0) + 1

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
            # Counted now, not when the task starts: a forget() in between must count.
            read = asyncio.ensure_future(self._load(room_id, self._forgotten.get(room_id, 0)))
            self._reads[room_id] = read
            read.add_done_callback(lambda done: self._read_done(room_id, done))
        return read

    def _read_done(self, room_id: str, read: "asyncio.Future[Room | None]") -> None:
        if self._reads.get(room_id) is read:
            del self._reads[room_id]

    async def _load(self, room_id: str, forgotten: int) -> Room | None:
        read_at = self._clock()
        try:
            room = await self._inner.get_room(room_id)
        except Exception as exc:
            if room_id not in self._rooms:
                raise
            # The kept room is still the best answer; the next lookup tries again.
            log.warning("room %r not refreshed, still showing the kept one: %s", room_id, exc)
            return self._rooms[room_id][1]
        if self._forgotten.get(room_id, 0) != forgotten:
            return room  # changed while it was read: the next lookup reads again
        # Unknown rooms are not kept, so a room created a moment ago shows at once.
        if room is None:
            self._rooms.pop(room_id, None)
        else:
            self._rooms[room_id] = (read_at, room)
        return room


class SqlShowcaseWriter:
    """Copies a product's details into its seller's catalog (newer versions only) and onto
    every pinned copy of it, in every room."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def update_details(self, details: Sequence[ProductDetails]) -> None:
        try:
            async with self._engine.begin() as conn:
                for item in details:
                    if item.seller_id is not None:  # v1 snapshots name no seller
                        await conn.execute(_catalog_upsert(conn.dialect.name, item))
                    await conn.execute(_details_update(item))
        except SQLAlchemyError as exc:
            raise ShowcaseUnavailable(str(exc)) from exc


def upsert(dialect: str, table: Any) -> Any:
    """INSERT … ON CONFLICT for the database at hand (both speak it, in their own class)."""
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def _catalog_upsert(dialect: str, item: ProductDetails) -> Any:
    values = {
        "sku": item.sku, "seller_id": item.seller_id, "title": item.title,
        "price_minor": item.price_minor, "currency": item.currency,
        "image_url": item.image_url, "version": item.version,
    }  # fmt: skip
    table = storefront_metadata.tables["catalog_products"]
    insert = upsert(dialect, table).values(values)
    return insert.on_conflict_do_update(
        index_elements=[table.c.sku],
        set_={key: insert.excluded[key] for key in values if key != "sku"},
        # Replicas and restarts replay snapshots: an older one never wins.
        where=table.c.version <= insert.excluded.version,
    )


def _details_update(item: ProductDetails) -> Update:
    # Only rows that differ: on start-up every product is announced once, and an
    # unchanged row must cost no write.
    sku, title = col(PinnedProductRow.sku), col(PinnedProductRow.title)
    price, currency = col(PinnedProductRow.price_minor), col(PinnedProductRow.currency)
    image = col(PinnedProductRow.image_url)
    changed = [title != item.title, price != item.price_minor, currency != item.currency]
    values: dict[str, Any] = {"title": item.title, "price_minor": item.price_minor}
    values["currency"] = item.currency
    if item.image_url is not None:  # a v1 snapshot has none: keep the pinned one
        changed.append(image.is_distinct_from(item.image_url))
        values["image_url"] = item.image_url
    return update(PinnedProductRow).where(sku == item.sku).where(or_(*changed)).values(values)


class SqlFiguresWriter:
    """Keeps the newest `room.sales_changed` of each room (every replica writes the same
    snapshots; an older one never replaces a newer one)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def keep_latest(self, sales: RoomSales, *, occurred_at: datetime) -> None:
        try:
            async with self._engine.begin() as conn:
                await conn.execute(_figures_upsert(conn.dialect.name, sales, occurred_at))
        except SQLAlchemyError as exc:
            raise ShowcaseUnavailable(str(exc)) from exc


def _figures_upsert(dialect: str, sales: RoomSales, occurred_at: datetime) -> Any:
    table = storefront_metadata.tables["room_figures"]
    insert = upsert(dialect, table).values(
        room_id=sales.room_id,
        figures=sales.model_dump_json(),
        occurred_at=occurred_at.astimezone(UTC),
    )
    return insert.on_conflict_do_update(
        index_elements=[table.c.room_id],
        set_={"figures": insert.excluded.figures, "occurred_at": insert.excluded.occurred_at},
        where=table.c.occurred_at < insert.excluded.occurred_at,
    )


class SqlViewerLog:
    """Records each buyer once per room; remembers the latest pairs it wrote, so a buyer
    reloading the page costs no write."""

    def __init__(self, engine: AsyncEngine, *, remember: int = 50_000) -> None:
        self._engine = engine
        self._remember = remember
        self._written: dict[tuple[str, str], None] = {}

    async def record(self, room_id: str, buyer_id: str) -> None:
        pair = (room_id, buyer_id)
        if pair in self._written:
            return
        table = storefront_metadata.tables["room_viewers"]
        async with self._engine.begin() as conn:
            insert = upsert(conn.dialect.name, table).values(
                room_id=room_id, buyer_id=buyer_id, first_seen_at=datetime.now(UTC)
            )
            await conn.execute(insert.on_conflict_do_nothing())
        if len(self._written) >= self._remember:
            del self._written[next(iter(self._written))]
        self._written[pair] = None
