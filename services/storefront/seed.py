"""Seed a seller, a live room and its pinned products, and the seller's catalog; with a
password, the seller's storefront account too. Holds the storefront's side of the demo
that `make up` seeds (`DEMO_*`)."""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col, delete
from sqlmodel.ext.asyncio.session import AsyncSession

from services.common.db import create_tables, make_engine
from services.storefront.adapters.sellers import SqlSellerAccounts
from services.storefront.adapters.tables import (
    CatalogProductRow,
    PinnedProductRow,
    RoomRow,
    SellerRow,
    storefront_metadata,
)
from services.storefront.domain import LiveState


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


@dataclass(frozen=True)
class PinnedProduct:
    """A product as the storefront copies it from the marketplace to pin it in a room."""

    sku: str
    title: str
    price_minor: int
    currency: str
    max_per_checkout: int = 5
    image_url: str | None = None


DEMO_SELLER_ID = "demo-seller"
DEMO_SELLER_NAME = "Mia's Merch (demo seller)"
DEMO_SELLER_EMAIL = "mia@demo.livecart.test"
"""The demo seller's storefront login. Its password is made afresh by `make up`
(run/seller-login.txt) and handed to the seed as `LIVECART_DEMO_SELLER_PASSWORD`."""
DEMO_ROOM_ID = "demo"
DEMO_ROOM_TITLE = "Friday Night Drop"
DEMO_STREAM_URL = "/static/demo-stream/index.m3u8"
"""The demo room's video: a few seconds of HLS, looped (infra/local/make_demo_stream.py)."""
_IMAGES = "/static/demo-images"
DEMO_PRODUCTS = (
    PinnedProduct("LC-HOODIE-YEL", "Yellow Cart Hoodie", 4990, "EUR",
                  image_url=f"{_IMAGES}/hoodie.svg"),
    PinnedProduct("LC-MUG-LIVE", "On-Air Mug", 1490, "EUR", image_url=f"{_IMAGES}/mug.svg"),
    PinnedProduct("LC-CAP-STREAM", "Streamer Cap", 2490, "EUR", image_url=f"{_IMAGES}/cap.svg"),
)  # fmt: skip
"""The demo room's pinned products: the storefront's copy of the marketplace's demo
products (services/orders/seed.py), which own the stock."""


async def seed_showcase(
    engine: AsyncEngine,
    *,
    seller_id: str,
    seller_name: str,
    room_id: str,
    room_title: str,
    products: Iterable[ShowcaseProduct],
    state: LiveState = LiveState.LIVE,
    stream_url: str | None = None,
) -> None:
    """Create or update the seller and room (live unless `state` says otherwise, playing
    `stream_url` if given), pin exactly `products` in it, in order, with their image if they
    have one, and put them in the seller's catalog (version 0: the marketplace's first
    snapshot of each replaces it).

    Idempotent: running it twice leaves the same rows. Creates the tables if needed.
    """
    await create_tables(engine, storefront_metadata)
    pinned = list(products)
    async with AsyncSession(engine) as session:
        await session.merge(SellerRow(seller_id=seller_id, name=seller_name))
        await session.merge(
            RoomRow(
                room_id=room_id,
                seller_id=seller_id,
                title=room_title,
                live_state=state.value,
                stream_url=stream_url,
            )
        )
        await session.exec(
            delete(PinnedProductRow)
            .where(col(PinnedProductRow.room_id) == room_id)
            .where(col(PinnedProductRow.sku).not_in([p.sku for p in pinned]))
        )
        for position, product in enumerate(pinned):
            await session.merge(_row(room_id, position, product))
            if await session.get(CatalogProductRow, product.sku) is None:
                session.add(_catalog_row(seller_id, product))
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
        image_url=getattr(product, "image_url", None),
    )


def _catalog_row(seller_id: str, product: ShowcaseProduct) -> CatalogProductRow:
    return CatalogProductRow(
        sku=product.sku, seller_id=seller_id, title=product.title,
        price_minor=product.price_minor, currency=product.currency, version=0,
        image_url=getattr(product, "image_url", None),
    )  # fmt: skip


async def seed_demo(
    database_url: str, *, schema: str | None = None, seller_password: str | None = None
) -> str:
    """Seed the demo of `make up` (the `DEMO_*` above) into the storefront database at
    `database_url`, and, given `seller_password`, the demo seller's account (created, or
    its password set to this one); the demo room's id."""
    engine = make_engine(database_url, schema=schema)
    try:
        await seed_showcase(
            engine,
            seller_id=DEMO_SELLER_ID,
            seller_name=DEMO_SELLER_NAME,
            room_id=DEMO_ROOM_ID,
            room_title=DEMO_ROOM_TITLE,
            products=DEMO_PRODUCTS,
            stream_url=DEMO_STREAM_URL,
        )
        if seller_password:
            await SqlSellerAccounts(engine).ensure(
                seller_id=DEMO_SELLER_ID,
                email=DEMO_SELLER_EMAIL,
                name=DEMO_SELLER_NAME,
                password=seller_password,
            )
    finally:
        await engine.dispose()
    return DEMO_ROOM_ID
