"""One contract for every unit of work of the orders service: the in-memory fake the use-case
tests run on behaves as the SQL unit of work does on SQLite and on PostgreSQL."""

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from contracts import Streams, utc_now
from services.common.db import make_engine
from services.orders.adapters.repository import unit_of_work_factory
from services.orders.adapters.tables import OutboxRow
from services.orders.deals import Deal
from services.orders.domain import Line, Order, Reason, Status, StockMove
from services.orders.migrations import ORDERS_MIGRATIONS
from services.orders.ports import DuplicateCheckout, ProductView
from services.orders.service import UnitOfWorkFactory, stage_changes
from tests.conftest import Database, random_id
from tests.support.orders_fakes import FakeStore


@dataclass
class Backend:
    uow: UnitOfWorkFactory
    outbox: Callable[[], Awaitable[list[str]]]
    """The checkout ids of the committed outbox entries, in order."""


@pytest.fixture(params=["fake", "sqlite", "postgresql"])
def backend_database(request: pytest.FixtureRequest) -> Database | None:
    if request.param == "fake":
        return None
    name = "sqlite_database" if request.param == "sqlite" else "postgres_database"
    db: Database = request.getfixturevalue(name)
    return db


@pytest.fixture
async def backend(backend_database: Database | None) -> AsyncIterator[Backend]:
    if backend_database is None:
        store = FakeStore()

        async def fake_outbox() -> list[str]:
            return [e.correlation_id for e in store.state.outbox]

        yield Backend(store, fake_outbox)
        return
    engine = make_engine(backend_database.url, schema=backend_database.schema)
    await ORDERS_MIGRATIONS.upgrade(engine)

    async def sql_outbox() -> list[str]:
        async with AsyncSession(engine) as session:
            rows = await session.scalars(select(OutboxRow.checkout_id).order_by(col(OutboxRow.id)))
            return list(rows)

    yield Backend(unit_of_work_factory(engine, streams=Streams(random_id("t"))), sql_outbox)
    await engine.dispose()


async def add_products(backend: Backend, **available: int) -> None:
    async with backend.uow() as work:
        for sku, units in available.items():
            await work.add_product(
                ProductView(sku, "seller-1", sku, 1000, "EUR", None, units, 0, 0, version=0)
            )
        await work.commit()


async def stock(backend: Backend, sku: str) -> tuple[int, int, int, int]:
    """(available, reserved, sold, version) as committed."""
    async with backend.uow() as work:
        p = await work.product_view(sku)
    assert p is not None
    return p.available, p.reserved, p.sold, p.version


def new_order(
    sku: str = "A", quantity: int = 2, *, buyer_id: str = "buyer-1", deal_id: str | None = None
) -> Order:
    return Order.receive(
        order_id=random_id("o"),
        checkout_id=random_id("co"),
        buyer_id=buyer_id,
        room_id="room-1",
        currency="EUR",
        lines=[Line(sku, quantity, 1000, deal_id)],
        requested_at=utc_now(),
        seller_id="seller-1",
    )


async def test_each_kind_of_stock_move_changes_available_reserved_and_sold_as_the_domain_says(
    backend: Backend,
) -> None:
    await add_products(backend, A=10, B=5)
    moves = [
        (StockMove(reserve={"A": 3, "B": 1}), {"A": (7, 3, 0), "B": (4, 1, 0)}),
        (StockMove(sell={"A": 2}, release={"A": 1, "B": 1}), {"A": (8, 0, 2), "B": (5, 0, 0)}),
        (StockMove(restore={"A": 1}, restock={"B": 4}), {"A": (9, 0, 1), "B": (9, 0, 0)}),
    ]
    for version, (move, expected) in enumerate(moves, start=1):
        async with backend.uow() as work:
            await work.move_stock(move)
            await work.commit()
        for sku, units in expected.items():
            assert await stock(backend, sku) == (*units, version)


async def test_lock_stock_reads_the_available_units_of_the_known_skus(backend: Backend) -> None:
    await add_products(backend, A=10, B=3)
    async with backend.uow() as work:
        assert await work.lock_stock({"A", "B", "NONE"}) == {"A": 10, "B": 3}
        assert await work.lock_stock(set()) == {}


async def test_nothing_of_a_unit_of_work_left_without_commit_is_kept(backend: Backend) -> None:
    await add_products(backend, A=10)
    order = new_order()
    async with backend.uow() as work:
        await work.move_stock(order.reserve())
        await work.add_orders([order])
        stage_changes(work, order)

    async with backend.uow() as work:
        assert await work.get_order(order.checkout_id) is None
    assert await stock(backend, "A") == (10, 0, 0, 0)
    assert await backend.outbox() == []


async def test_orders_and_their_events_are_committed_together_and_read_back(
    backend: Backend,
) -> None:
    await add_products(backend, A=10)
    order = new_order()
    async with backend.uow() as work:
        await work.move_stock(order.reserve())
        await work.add_orders([order])
        stage_changes(work, order)
        await work.commit()

    async with backend.uow() as work:
        stored = await work.get_order(order.checkout_id)
        assert await work.existing_checkouts({order.checkout_id, "co-other"}) == {order.checkout_id}
    assert stored is not None
    assert (stored.status, stored.sequence, stored.lines) == (Status.RESERVED, 2, order.lines)
    assert (stored.buyer_id, stored.seller_id, stored.requested_at) == (
        "buyer-1",
        "seller-1",
        order.requested_at,
    )
    assert stored.changed_at is not None
    assert stored.changes == []
    assert await backend.outbox() == [order.checkout_id, order.checkout_id]


async def test_a_second_order_for_a_stored_checkout_is_refused(backend: Backend) -> None:
    await add_products(backend, A=10)
    order = new_order()
    async with backend.uow() as work:
        await work.add_orders([order])
        await work.commit()
    twin = new_order()
    twin.checkout_id = order.checkout_id

    async with backend.uow() as work:
        with pytest.raises(DuplicateCheckout):
            await work.add_orders([new_order(), twin])


async def test_save_orders_saves_only_an_order_whose_sequence_is_still_the_loaded_one(
    backend: Backend,
) -> None:
    await add_products(backend, A=10)
    order, other = new_order(), new_order()
    async with backend.uow() as work:
        await work.add_orders([order, other])
        await work.commit()

    async with backend.uow() as work:
        first = await work.get_order(order.checkout_id)
        assert first is not None
        first.reserve()
        assert await work.save_orders([first], {order.checkout_id: 1}) == set()
        await work.commit()
    async with backend.uow() as work:
        late, fine = (
            await work.get_order(order.checkout_id),
            await work.get_order(other.checkout_id),
        )
        assert late is not None
        assert fine is not None
        late.expire()
        fine.reserve()
        loaded = {order.checkout_id: 1, other.checkout_id: 1}  # `late` as loaded before
        assert await work.save_orders([late, fine], loaded) == {order.checkout_id}
        await work.commit()

    async with backend.uow() as work:
        kept, saved = (
            await work.get_order(order.checkout_id),
            await work.get_order(other.checkout_id),
        )
    assert kept is not None
    assert saved is not None
    assert (kept.status, kept.sequence) == (Status.RESERVED, 2)
    assert (saved.status, saved.sequence) == (Status.RESERVED, 2)


async def test_deal_usage_counts_the_units_of_orders_holding_stock_per_deal_and_buyer(
    backend: Backend,
) -> None:
    await add_products(backend, A=10)
    now = utc_now()
    deal = Deal("deal-1", "seller-1", "room-1", "A", 500, 5, 2, now - timedelta(minutes=1))
    ended = Deal("deal-0", "seller-1", "room-1", "A", 500, 5, 2, now - timedelta(hours=2), now)
    held = new_order(quantity=2, deal_id="deal-1")
    other = new_order(quantity=1, buyer_id="buyer-2", deal_id="deal-1")
    refused = new_order(quantity=3, deal_id="deal-1")
    held.reserve(), other.reserve()
    refused.reject(Reason.OUT_OF_STOCK)
    async with backend.uow() as work:
        await work.upsert_deal(deal)
        await work.upsert_deal(ended)
        await work.add_orders([held, other, refused])
        await work.commit()

    async with backend.uow() as work:
        usage = await work.deal_usage({"deal-1"})
        deals = await work.flash_deals({"A"}, not_ended_at=now)
    assert dict(usage.taken) == {"deal-1": 3}
    assert dict(usage.bought) == {("deal-1", "buyer-1"): 2, ("deal-1", "buyer-2"): 1}
    assert [d.deal_id for d in deals] == ["deal-1"]
    assert (await stock(backend, "A"))[3] == 2  # each deal is a new version of the product


async def test_reservations_and_cancellations_are_found_by_age(backend: Backend) -> None:
    await add_products(backend, A=10)
    reserved, cancelled = new_order(), new_order()
    reserved.reserve()
    for step in (cancelled.reserve, cancelled.mark_paid, cancelled.confirm, cancelled.cancel):
        step()
    async with backend.uow() as work:
        await work.add_orders([reserved, cancelled])
        await work.commit()

    later, earlier = utc_now() + timedelta(seconds=5), utc_now() - timedelta(seconds=60)
    async with backend.uow() as work:
        assert await work.overdue_reservations(older_than=later, limit=10) == [reserved.checkout_id]
        assert await work.overdue_reservations(older_than=earlier, limit=10) == []
        assert await work.unrefunded_cancellations(older_than=later, limit=10) == [
            cancelled.checkout_id
        ]
