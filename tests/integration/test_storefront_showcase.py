"""The storefront's showcase tables: seeding, reading rooms back, and nothing of record."""

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from services.common.db import make_engine
from services.ops.checks.names import PAYMENT_STEMS, RECORD_STEMS, offending_word
from services.storefront.adapters.repository import SqlRoomRepository
from services.storefront.adapters.tables import storefront_metadata
from services.storefront.domain import LiveState, PinnedProduct
from services.storefront.seed import seed_showcase
from tests.conftest import Database

FORBIDDEN_NAMES = ("order", "payment", "stock", "available", "inventory", "sold", "reserv")


@dataclass(frozen=True)
class Product:
    sku: str
    title: str
    price_minor: int
    currency: str
    max_per_checkout: int
    stock: int = 99  # present on marketplace data; the storefront must ignore it


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(database.url, schema=database.schema)
    yield engine
    await engine.dispose()


async def seed(engine: AsyncEngine, *products: Product, title: str = "Drop") -> None:
    await seed_showcase(
        engine,
        seller_id="seller-1",
        seller_name="Mia",
        room_id="room-1",
        room_title=title,
        products=products,
    )


async def test_seeding_twice_leaves_one_room_with_the_products_in_order(
    engine: AsyncEngine,
) -> None:
    products = (Product("B", "Bee", 100, "EUR", 3), Product("A", "Ay", 250, "EUR", 1))
    await seed(engine, *products)
    await seed(engine, *products)

    room = await SqlRoomRepository(engine).get_room("room-1")

    assert room is not None
    assert (room.title, room.seller_id, room.seller_name) == ("Drop", "seller-1", "Mia")
    assert room.state is LiveState.LIVE  # the seed's rooms are on air
    assert room.products == (
        PinnedProduct("B", "Bee", 100, "EUR", max_per_checkout=3, position=0),
        PinnedProduct("A", "Ay", 250, "EUR", max_per_checkout=1, position=1),
    )


async def test_seeding_again_updates_the_room_and_unpins_what_is_no_longer_listed(
    engine: AsyncEngine,
) -> None:
    await seed(engine, Product("A", "Ay", 250, "EUR", 1), Product("B", "Bee", 100, "EUR", 3))
    await seed(engine, Product("A", "Ay v2", 300, "EUR", 2), title="Second drop")

    room = await SqlRoomRepository(engine).get_room("room-1")

    assert room is not None
    assert room.title == "Second drop"
    assert [(p.sku, p.title, p.price, p.max_per_checkout) for p in room.products] == [
        ("A", "Ay v2", "3.00", 2)
    ]


async def test_an_unknown_room_reads_as_none(engine: AsyncEngine) -> None:
    await seed(engine, Product("A", "Ay", 250, "EUR", 1))
    assert await SqlRoomRepository(engine).get_room("room-2") is None


async def test_no_storefront_table_or_column_holds_orders_payments_or_stock(
    engine: AsyncEngine,
) -> None:
    await seed(engine, Product("A", "Ay", 250, "EUR", 1))
    async with engine.connect() as conn:
        created = await conn.run_sync(
            lambda sync: {
                t: [c["name"] for c in inspect(sync).get_columns(t)]
                for t in inspect(sync).get_table_names()
            }
        )

    declared = {t.name: [c.name for c in t.columns] for t in storefront_metadata.sorted_tables}
    assert set(declared) == {
        "sellers", "seller_accounts", "seller_sessions", "rooms", "pinned_products",
        "catalog_products", "room_deals", "room_viewers", "room_figures",
    }  # fmt: skip
    assert set(created) == set(declared)
    for table, columns in (declared | created).items():
        for name in (table, *columns):
            assert not any(word in name.lower() for word in FORBIDDEN_NAMES), name
            # The audit's own rule (services/ops/checks/names.py), word by word.
            assert offending_word(name, RECORD_STEMS + PAYMENT_STEMS) is None, name
