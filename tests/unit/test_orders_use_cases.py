"""The orders use cases over the in-memory fakes of their ports: no broker, no database."""

from collections.abc import Sequence
from datetime import timedelta

import pytest

from contracts import OrderStatus, RejectionReason, utc_now
from services.orders import seller_service
from services.orders.deals import Deal
from services.orders.domain import Order
from services.orders.service import (
    cancel_for_buyer,
    cancel_order,
    expire_overdue_reservations,
    place_order,
    place_orders,
    ship_order,
)
from tests.support.flow import checkout
from tests.support.orders_fakes import FakeGateway, FakeStore, FakeUnitOfWork

MAX = 100


@pytest.fixture
def store() -> FakeStore:
    store = FakeStore()
    store.add_product("SKU-A", 10)
    store.add_product("SKU-B", 3)
    return store


@pytest.fixture
def gateway() -> FakeGateway:
    return FakeGateway()


def statuses(store: FakeStore, checkout_id: str) -> list[str]:
    """The status events staged for `checkout_id`, in order."""
    return [e.data.status.value for e in store.state.outbox if e.correlation_id == checkout_id]


async def test_a_checkout_in_stock_that_is_paid_ends_confirmed_and_sold(
    store: FakeStore, gateway: FakeGateway
) -> None:
    item = checkout(items=[("SKU-A", 2)])

    status = await place_order(uow=store, gateway=gateway, checkout=item, max_quantity=MAX)

    assert status is OrderStatus.CONFIRMED
    assert statuses(store, item.checkout_id) == ["received", "reserved", "paid", "confirmed"]
    assert store.stock("SKU-A") == (8, 0, 2)


async def test_a_checkout_above_the_stock_is_rejected_out_of_stock_and_takes_nothing(
    store: FakeStore, gateway: FakeGateway
) -> None:
    item = checkout(items=[("SKU-A", 1), ("SKU-B", 4)])

    status = await place_order(uow=store, gateway=gateway, checkout=item, max_quantity=MAX)

    assert status is OrderStatus.REJECTED
    assert store.state.orders[item.checkout_id].reason is RejectionReason.OUT_OF_STOCK
    assert (store.stock("SKU-A"), store.stock("SKU-B")) == ((10, 0, 0), (3, 0, 0))
    assert not gateway.results


@pytest.mark.parametrize(("slow", "detail"), [(False, "declined"), (True, "timeout")])
async def test_a_failed_payment_rejects_the_order_and_releases_its_stock(
    store: FakeStore, gateway: FakeGateway, slow: bool, detail: str
) -> None:
    item = checkout(items=[("SKU-A", 3)])
    (gateway.slow if slow else gateway.declined).add(item.buyer_id)

    status = await place_order(uow=store, gateway=gateway, checkout=item, max_quantity=MAX)

    assert status is OrderStatus.REJECTED
    order = store.state.orders[item.checkout_id]
    assert (order.reason, order.detail) == (RejectionReason.PAYMENT_FAILED, detail)
    assert statuses(store, item.checkout_id) == ["received", "reserved", "rejected"]
    assert store.stock("SKU-A") == (10, 0, 0)


async def test_a_hold_that_expires_while_the_gateway_answers_releases_the_stock_and_refunds(
    store: FakeStore, gateway: FakeGateway
) -> None:
    async def hold_runs_out() -> None:
        await expire_overdue_reservations(uow=store, hold_seconds=-1)

    gateway.while_charging = hold_runs_out
    item = checkout(items=[("SKU-A", 2)])

    status = await place_order(uow=store, gateway=gateway, checkout=item, max_quantity=MAX)

    assert status is OrderStatus.EXPIRED
    assert statuses(store, item.checkout_id) == ["received", "reserved", "expired"]
    assert store.stock("SKU-A") == (10, 0, 0)
    assert gateway.refunded == [item.checkout_id]


async def test_deal_units_above_the_buyers_limit_are_rejected_limit_exceeded(
    store: FakeStore, gateway: FakeGateway
) -> None:
    now = utc_now()
    store.state.deals["deal-1"] = Deal(
        "deal-1", "seller-1", "room-1", "SKU-A", 500, 5, 1, now - timedelta(minutes=1)
    )
    first = checkout(items=[("SKU-A", 1)])
    again = checkout(items=[("SKU-A", 1)], buyer_id=first.buyer_id)

    outcome = await place_orders(
        uow=store, gateway=gateway, checkouts=[(first, now), (again, now)], max_quantity=MAX
    )

    assert outcome == {
        first.checkout_id: OrderStatus.CONFIRMED,
        again.checkout_id: OrderStatus.REJECTED,
    }
    assert store.state.orders[again.checkout_id].reason is RejectionReason.LIMIT_EXCEEDED
    assert store.state.orders[first.checkout_id].total_minor == 500
    assert store.stock("SKU-A") == (9, 0, 1)


async def test_a_redelivered_checkout_yields_one_order_and_takes_its_stock_once(
    store: FakeStore, gateway: FakeGateway
) -> None:
    item = checkout(items=[("SKU-A", 2)])

    first = await place_orders(
        uow=store, gateway=gateway, checkouts=[(item, None), (item, None)], max_quantity=MAX
    )
    again = await place_order(uow=store, gateway=gateway, checkout=item, max_quantity=MAX)

    assert first == {item.checkout_id: OrderStatus.CONFIRMED}
    assert again is OrderStatus.CONFIRMED
    assert list(store.state.orders) == [item.checkout_id]
    assert statuses(store, item.checkout_id) == ["received", "reserved", "paid", "confirmed"]
    assert store.stock("SKU-A") == (8, 0, 2)


async def test_a_checkout_another_consumer_places_meanwhile_is_resumed_not_placed_twice(
    store: FakeStore, gateway: FakeGateway
) -> None:
    item = checkout(items=[("SKU-A", 2)])

    class Racing(FakeUnitOfWork):
        async def add_orders(self, orders: Sequence[Order]) -> None:
            if not store.state.orders:  # the other consumer commits first
                await place_order(uow=store, gateway=gateway, checkout=item, max_quantity=MAX)
            await super().add_orders(orders)

    status = await place_order(
        uow=lambda: Racing(store), gateway=gateway, checkout=item, max_quantity=MAX
    )

    assert status is OrderStatus.CONFIRMED
    assert list(store.state.orders) == [item.checkout_id]
    assert statuses(store, item.checkout_id) == ["received", "reserved", "paid", "confirmed"]
    assert store.stock("SKU-A") == (8, 0, 2)


async def test_a_redelivery_of_a_reserved_checkout_resumes_with_the_charge(
    store: FakeStore, gateway: FakeGateway
) -> None:
    item = checkout(items=[("SKU-B", 1)])

    async def crash() -> None:
        raise RuntimeError("the consumer died while charging")

    gateway.while_charging = crash
    with pytest.raises(RuntimeError):
        await place_order(uow=store, gateway=gateway, checkout=item, max_quantity=MAX)
    assert store.state.orders[item.checkout_id].status is OrderStatus.RESERVED
    gateway.while_charging = None

    status = await place_order(uow=store, gateway=gateway, checkout=item, max_quantity=MAX)

    assert status is OrderStatus.CONFIRMED
    assert statuses(store, item.checkout_id) == ["received", "reserved", "paid", "confirmed"]
    assert store.stock("SKU-B") == (2, 0, 1)


async def test_a_cancelled_order_gives_its_stock_back_and_ends_refunded(
    store: FakeStore, gateway: FakeGateway
) -> None:
    item = checkout(items=[("SKU-A", 2)])
    await place_order(uow=store, gateway=gateway, checkout=item, max_quantity=MAX)

    order = await cancel_order(uow=store, gateway=gateway, checkout_id=item.checkout_id)

    assert order.status is OrderStatus.REFUNDED
    assert statuses(store, item.checkout_id)[-2:] == ["cancelled", "refunded"]
    assert store.stock("SKU-A") == (10, 0, 0)
    assert gateway.refunded == [item.checkout_id]


async def test_a_buyer_cancels_their_own_order_within_the_window(
    store: FakeStore, gateway: FakeGateway
) -> None:
    item = checkout(items=[("SKU-B", 3)])
    await place_order(uow=store, gateway=gateway, checkout=item, max_quantity=MAX)

    order = await cancel_for_buyer(
        uow=store,
        gateway=gateway,
        checkout_id=item.checkout_id,
        buyer_id=item.buyer_id,
        window=timedelta(minutes=5),
    )

    assert order.status is OrderStatus.REFUNDED
    assert store.stock("SKU-B") == (3, 0, 0)


async def test_a_confirmed_order_ships_with_its_tracking_ref_and_keeps_its_stock_sold(
    store: FakeStore, gateway: FakeGateway
) -> None:
    item = checkout(items=[("SKU-A", 1)])
    await place_order(uow=store, gateway=gateway, checkout=item, max_quantity=MAX)

    order = await ship_order(uow=store, checkout_id=item.checkout_id, tracking_ref=" TRK-1 ")

    assert (order.status, order.tracking_ref) == (OrderStatus.SHIPPED, "TRK-1")
    assert statuses(store, item.checkout_id)[-1] == "shipped"
    assert store.stock("SKU-A") == (9, 0, 1)


async def test_a_seller_restocks_adds_to_the_available_units_and_bumps_the_version(
    store: FakeStore,
) -> None:
    restocked = await seller_service.change_stock(
        uow=store, seller_id="seller-1", sku="SKU-B", add=5
    )
    counted = await seller_service.change_stock(
        uow=store, seller_id="seller-1", sku="SKU-B", set_to=2
    )

    assert (restocked.available, restocked.version) == (8, 1)
    assert (counted.available, counted.version) == (2, 2)
    assert store.stock("SKU-B") == (2, 0, 0)
