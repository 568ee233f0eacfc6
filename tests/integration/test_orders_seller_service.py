"""The seller console's use cases on a real database (SQLite and PostgreSQL): a seller's
products, stock and orders, and the domain errors the console maps to HTTP answers."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest

from contracts import Streams
from services.common.db import make_engine
from services.orders import seller_service
from services.orders.adapters.payments import SandboxWalletGateway
from services.orders.adapters.repository import unit_of_work_factory
from services.orders.domain import (
    IllegalTransition,
    InvalidInput,
    InvalidProduct,
    InvalidTrackingRef,
    NotFound,
    NotYours,
    ProductExists,
    Status,
)
from services.orders.migrations import ORDERS_MIGRATIONS
from services.orders.service import UnitOfWorkFactory, place_order
from tests.conftest import Database, random_id
from tests.support.flow import checkout

SELLER, OTHER = "seller-1", "seller-2"


@dataclass
class Marketplace:
    uow: UnitOfWorkFactory
    gateway: SandboxWalletGateway


@pytest.fixture
async def market(database: Database) -> AsyncIterator[Marketplace]:
    engine = make_engine(database.url, schema=database.schema)
    await ORDERS_MIGRATIONS.upgrade(engine)
    gateway = SandboxWalletGateway(engine, demo_balance_minor=1_000_000, timeout_seconds=0.2)
    yield Marketplace(unit_of_work_factory(engine, streams=Streams(random_id("t"))), gateway)
    await engine.dispose()


async def new_product(
    market: Marketplace, sku: str, *, seller_id: str = SELLER, **values: Any
) -> seller_service.ProductView:
    fields: dict[str, Any] = {
        "title": f"Product {sku}",
        "price_minor": 1000,
        "currency": "EUR",
        "image_url": None,
        "stock": 5,
    }
    fields.update(values)
    return await seller_service.create_product(
        uow=market.uow, seller_id=seller_id, sku=sku, **fields
    )


async def test_a_seller_creates_lists_edits_and_restocks_their_products(
    market: Marketplace,
) -> None:
    await new_product(market, "B-2", image_url="/static/b.png")
    await new_product(market, "A-1")
    await new_product(market, "Z-9", seller_id=OTHER)

    edited = await seller_service.update_product(
        uow=market.uow, seller_id=SELLER, sku="A-1", title="Lamp", price_minor=1500
    )
    restocked = await seller_service.change_stock(
        uow=market.uow, seller_id=SELLER, sku="A-1", add=3
    )
    counted = await seller_service.change_stock(
        uow=market.uow, seller_id=SELLER, sku="B-2", set_to=0
    )

    assert (edited.title, edited.price_minor, edited.currency, edited.version) == (
        "Lamp",
        1500,
        "EUR",
        1,
    )
    assert (restocked.available, restocked.version) == (8, 2)
    assert (counted.available, counted.version, counted.image_url) == (0, 1, "/static/b.png")
    mine = await seller_service.list_products(uow=market.uow, seller_id=SELLER)
    assert [(p.sku, p.title, p.available) for p in mine] == [
        ("A-1", "Lamp", 8),
        ("B-2", "Product B-2", 0),
    ]


async def test_a_sku_taken_by_anyone_cannot_be_created_again(market: Marketplace) -> None:
    await new_product(market, "A-1", seller_id=OTHER)
    with pytest.raises(ProductExists):
        await new_product(market, "A-1")


async def test_another_sellers_product_cannot_be_changed(market: Marketplace) -> None:
    await new_product(market, "A-1", seller_id=OTHER)
    with pytest.raises(NotYours):
        await seller_service.update_product(uow=market.uow, seller_id=SELLER, sku="A-1", title="x")
    with pytest.raises(NotYours):
        await seller_service.change_stock(uow=market.uow, seller_id=SELLER, sku="A-1", add=1)


async def test_an_unknown_product_or_order_is_not_found(market: Marketplace) -> None:
    with pytest.raises(NotFound):
        await seller_service.update_product(uow=market.uow, seller_id=SELLER, sku="NO", title="x")
    with pytest.raises(NotFound):
        await seller_service.change_stock(uow=market.uow, seller_id=SELLER, sku="NO", set_to=1)
    with pytest.raises(NotFound):
        await seller_service.get_order(uow=market.uow, seller_id=SELLER, order_id="nope")


@pytest.mark.parametrize(
    "values",
    [
        {"sku": "-starts-with-a-dash"},
        {"sku": "has space"},
        {"sku": "x" * 65},
        {"title": ""},
        {"title": "   "},
        {"title": "t" * 201},
        {"price_minor": -1},
        {"price_minor": 100_000_001},
        {"currency": "eur"},
        {"currency": "EURO"},
        {"image_url": "http://img.example/a.png"},
        {"image_url": "javascript:alert(1)"},
        {"image_url": "https://img.example/" + "a" * 500},
        {"stock": -1},
        {"stock": 1_000_001},
    ],
)
async def test_a_product_breaking_a_rule_is_invalid(
    market: Marketplace, values: dict[str, Any]
) -> None:
    values = dict(values)  # the parameter is shared by the SQLite and PostgreSQL runs
    sku = values.pop("sku", "A-1")
    with pytest.raises(InvalidProduct):
        await new_product(market, sku, **values)
    assert await seller_service.list_products(uow=market.uow, seller_id=SELLER) == []


@pytest.mark.parametrize(
    "change",
    [{}, {"set_to": 1, "add": 1}, {"set_to": -1}, {"add": 0}, {"add": 1_000_000}],
)
async def test_a_stock_change_breaking_a_rule_is_invalid(
    market: Marketplace, change: dict[str, int]
) -> None:
    await new_product(market, "A-1")
    with pytest.raises(InvalidProduct):
        await seller_service.change_stock(uow=market.uow, seller_id=SELLER, sku="A-1", **change)
    (product,) = await seller_service.list_products(uow=market.uow, seller_id=SELLER)
    assert (product.available, product.version) == (5, 0)


async def place(market: Marketplace, items: list[tuple[str, int]]) -> str:
    item = checkout(items=items)
    await place_order(uow=market.uow, gateway=market.gateway, checkout=item, max_quantity=100)
    return item.checkout_id


async def test_a_seller_lists_their_orders_newest_first_and_by_status(
    market: Marketplace,
) -> None:
    await new_product(market, "A-1", stock=3)
    await new_product(market, "Z-9", seller_id=OTHER)
    first = await place(market, [("A-1", 2)])
    second = await place(market, [("A-1", 2)])  # out of stock
    await place(market, [("Z-9", 1)])

    orders = await seller_service.list_orders(uow=market.uow, seller_id=SELLER)
    rejected = await seller_service.list_orders(uow=market.uow, seller_id=SELLER, status="rejected")

    assert [(o.checkout_id, o.status) for o in orders] == [
        (second, "rejected"),
        (first, "confirmed"),
    ]
    assert [o.checkout_id for o in rejected] == [second]
    view = orders[1]
    assert (view.seller_id, view.items, view.total_minor, view.reason) == (
        SELLER,
        [("A-1", 2, 1000)],
        2000,
        None,
    )
    assert orders[0].reason == "out_of_stock"


async def test_another_sellers_order_is_not_theirs(market: Marketplace) -> None:
    await new_product(market, "Z-9", seller_id=OTHER)
    await place(market, [("Z-9", 1)])
    (order,) = await seller_service.list_orders(uow=market.uow, seller_id=OTHER)
    kwargs: dict[str, Any] = {"uow": market.uow, "seller_id": SELLER, "order_id": order.order_id}
    with pytest.raises(NotYours):
        await seller_service.get_order(**kwargs)
    with pytest.raises(NotYours):
        await seller_service.cancel_order(gateway=market.gateway, **kwargs)
    with pytest.raises(NotYours):
        await seller_service.ship_order(tracking_ref="T-1", **kwargs)


async def test_only_a_confirmed_order_ships_and_with_a_valid_tracking_ref(
    market: Marketplace,
) -> None:
    await new_product(market, "A-1", stock=1)
    await place(market, [("A-1", 1)])
    await place(market, [("A-1", 1)])
    rejected, sold = await seller_service.list_orders(uow=market.uow, seller_id=SELLER)
    ship: dict[str, Any] = {"uow": market.uow, "seller_id": SELLER}
    with pytest.raises(IllegalTransition):
        await seller_service.ship_order(order_id=rejected.order_id, tracking_ref="T-1", **ship)
    with pytest.raises(InvalidTrackingRef) as invalid:
        await seller_service.ship_order(order_id=sold.order_id, tracking_ref="\n", **ship)
    assert isinstance(invalid.value, InvalidInput)

    shipped = await seller_service.ship_order(order_id=sold.order_id, tracking_ref="T-1", **ship)

    assert (shipped.status, shipped.tracking_ref) == ("shipped", "T-1")
    assert shipped.updated_at >= sold.updated_at


async def test_a_checkout_of_two_sellers_products_is_rejected_invalid(
    market: Marketplace,
) -> None:
    await new_product(market, "A-1")
    await new_product(market, "Z-9", seller_id=OTHER)
    item = checkout(items=[("A-1", 1), ("Z-9", 1)])

    status = await place_order(
        uow=market.uow, gateway=market.gateway, checkout=item, max_quantity=100
    )

    assert status is Status.REJECTED
    (product,) = [
        p
        for p in await seller_service.list_products(uow=market.uow, seller_id=SELLER)
        if p.sku == "A-1"
    ]
    assert product.available == 5
