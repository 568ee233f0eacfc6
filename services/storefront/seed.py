"""Seed a seller, a live room and its pinned products (the demo data of `make up`)."""

from collections.abc import Iterable
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, delete
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import create_tables, make_engine
from services.storefront.adapters.tables import (
    PinnedProductRow,
    RoomRow,
    SellerRow,
    storefront_metadata,
)


class ShowcaseProduct(Protocol):
    """What the storefront copies of a product; anything else (e.g. stock) is ignored."""

    @property
    def sku(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def price_minor(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def max_per_checkout(self) -> int: ...


async def seed_showcase(
    engine: AsyncEngine,
    *,
    seller_id: str,
    seller_name: str,
    room_id: str,
    room_title: str,
    products: Iterable[ShowcaseProduct],
) -> None:
    """Create or update the seller and room, and pin exactly `products` in it, in order.

    Idempotent: running it twice leaves the same rows. Creates the tables if needed.
    """
    await create_tables(engine, storefront_metadata)
    pinned = list(products)
    async with AsyncSession(engine) as session:
        await session.merge(SellerRow(seller_id=seller_id, name=seller_name))
        await session.merge(RoomRow(room_id=room_id, seller_id=seller_id, title=room_title))
        await session.exec(
            delete(PinnedProductRow)
            .where(col(PinnedProductRow.room_id) == room_id)
            .where(col(PinnedProductRow.sku).not_in([p.sku for p in pinned]))
        )
        for position, product in enumerate(pinned):
            await session.merge(_row(room_id, position, product))
        await session.commit()


def _row(room_id: str, position: int, product: ShowcaseProduct) -> PinnedProductRow:
    return PinnedProductRow(
        room_id=room_id,
        sku=product.sku,
        title=product.title,
        price_minor=product.price_minor,
        currency=product.currency,
        max_per_checkout=product.max_per_checkout,
        position=position,
    )


async def seed_demo(database_url: str, *, schema: str | None = None) -> str:
    """Seed the demo of `make up` (infra/local/demo.py) into the storefront database at
    `database_url`; the demo room's id."""
    from infra.local import demo  # a development tool, not part of the service

    engine = make_engine(database_url, schema=schema)
    try:
        await seed_showcase(
            engine,
            seller_id=demo.DEMO_SELLER_ID,
            seller_name=demo.DEMO_SELLER_NAME,
            room_id=demo.DEMO_ROOM_ID,
            room_title=demo.DEMO_ROOM_TITLE,
            products=demo.DEMO_PRODUCTS,
        )
    finally:
        await engine.dispose()
    return demo.DEMO_ROOM_ID
