"""After the sale, on real Redis and a real database (SQLite and PostgreSQL): a seller's
cancel (stock back, money back), a buyer's cancel within the window, shipping."""

from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from contracts import OrderStatusChanged, RoomSales, RoomSalesChangedEvent, decode_entry
from services.orders import seller_service
from services.orders.adapters.tables import PaymentRow
from services.orders.domain import IllegalTransition
from services.orders.entrypoints.app import OrdersRuntime
from tests.conftest import Database
from tests.support.flow import StatusTally, checkout, eventually, final_statuses, publish_checkouts
from tests.support.orders import (
    cancellation,
    order_of,
    orders_settings,
    product,
    publish_event,
    row,
    running_orders,
)

SELLER = "seller-1"
SOLD = ["received", "reserved", "paid", "confirmed"]


@pytest.fixture
async def orders(
    database: Database, redis_url: str, stream_prefix: str
) -> AsyncIterator[OrdersRuntime]:
    async with running(database, redis_url, stream_prefix) as runtime:
        yield runtime


def running(database: Database, redis_url: str, prefix: str, **settings: Any) -> Any:
    return running_orders(
        orders_settings(database, redis_url, prefix, **settings), {"HOT": 10}, seller_id=SELLER
    )


async def confirmed(orders: OrdersRuntime, client: Redis, quantity: int = 2) -> Any:
    """A checkout of HOT placed and confirmed."""
    item = checkout(items=[("HOT", quantity)])
    streams = orders.settings.streams
    await publish_checkouts(client, streams.checkout_requested, [item])
    await final_statuses(client, streams.order_status, [item.checkout_id])
    return item


async def room_sales(orders: OrdersRuntime, client: Redis) -> list[RoomSales]:
    entries: list[tuple[bytes, dict[bytes, bytes]]] = await client.xrange(  # type: ignore[assignment]
        orders.settings.streams.room_sales
    )
    return [decode_entry(fields, RoomSalesChangedEvent).data for _, fields in entries]


async def statuses_until(
    orders: OrdersRuntime, client: Redis, checkout_id: str, status: str
) -> list[OrderStatusChanged]:
    """The checkout's statuses once `status` is among them."""
    tally = StatusTally(client, orders.settings.streams.order_status)
    found = await eventually(
        tally.read_new,
        until=lambda f: status in [s.status.value for s in f.get(checkout_id, [])],
    )
    return found[checkout_id]


async def test_a_seller_cancel_puts_the_stock_back_and_refunds_the_buyer(
    orders: OrdersRuntime, redis_client: Redis
) -> None:
    item = await confirmed(orders, redis_client)
    order = await order_of(orders, item.checkout_id)
    balance = await orders.gateway.balance(item.buyer_id)

    view = await seller_service.cancel_order(
        uow=orders.uow, gateway=orders.gateway, seller_id=SELLER, order_id=order.order_id
    )
    orders.changed(skus=["HOT"], room_id=item.room_id)

    assert view.status == "refunded"
    statuses = await statuses_until(orders, redis_client, item.checkout_id, "refunded")
    assert [s.status.value for s in statuses] == [*SOLD, "cancelled", "refunded"]
    assert [s.previous_status for s in statuses[-2:]] == ["confirmed", "cancelled"]
    assert {s.seller_id for s in statuses} == {SELLER}
    stock = await product(orders, "HOT")
    assert (stock.available, stock.reserved, stock.sold) == (10, 0, 0)
    payment = await row(orders, PaymentRow, item.checkout_id)
    assert payment is not None
    assert payment.outcome == "refunded"
    assert await orders.gateway.balance(item.buyer_id) == (balance or 0) + 2000
    sales = await eventually(
        lambda: room_sales(orders, redis_client), until=lambda s: bool(s) and s[-1].cancelled > 0
    )
    last = sales[-1]
    assert (last.confirmed, last.cancelled, last.revenue_minor_by_sku) == (0, 1, {})


async def test_a_cancelled_order_cannot_be_cancelled_or_shipped_again(
    orders: OrdersRuntime, redis_client: Redis
) -> None:
    item = await confirmed(orders, redis_client)
    order = await order_of(orders, item.checkout_id)
    kwargs: dict[str, Any] = {"uow": orders.uow, "seller_id": SELLER, "order_id": order.order_id}
    await seller_service.cancel_order(gateway=orders.gateway, **kwargs)

    with pytest.raises(IllegalTransition):
        await seller_service.cancel_order(gateway=orders.gateway, **kwargs)
    with pytest.raises(IllegalTransition):
        await seller_service.ship_order(tracking_ref="T-1", **kwargs)
    assert (await product(orders, "HOT")).available == 10  # restored once


async def test_a_refund_a_crash_left_undone_is_made_by_the_expiry_loop(
    orders: OrdersRuntime, redis_client: Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    item = await confirmed(orders, redis_client)
    order = await order_of(orders, item.checkout_id)

    async def crash(_: str) -> None:
        raise ConnectionError("gateway gone between cancel and refund")

    with monkeypatch.context() as patched:
        patched.setattr(orders.gateway, "refund", crash)
        with pytest.raises(ConnectionError):
            await seller_service.cancel_order(
                uow=orders.uow, gateway=orders.gateway, seller_id=SELLER, order_id=order.order_id
            )
        assert (await order_of(orders, item.checkout_id)).status == "cancelled"

    statuses = await statuses_until(orders, redis_client, item.checkout_id, "refunded")

    assert [s.status.value for s in statuses[-2:]] == ["cancelled", "refunded"]
    payment = await row(orders, PaymentRow, item.checkout_id)
    assert payment is not None
    assert payment.outcome == "refunded"


async def test_a_shipped_order_carries_its_tracking_ref(
    orders: OrdersRuntime, redis_client: Redis
) -> None:
    item = await confirmed(orders, redis_client)
    order = await order_of(orders, item.checkout_id)

    view = await seller_service.ship_order(
        uow=orders.uow, seller_id=SELLER, order_id=order.order_id, tracking_ref="DHL-123 456"
    )
    orders.changed(skus=["HOT"], room_id=item.room_id)

    assert (view.status, view.tracking_ref) == ("shipped", "DHL-123 456")
    statuses = await statuses_until(orders, redis_client, item.checkout_id, "shipped")
    assert (statuses[-1].previous_status, statuses[-1].tracking_ref) == ("confirmed", "DHL-123 456")
    assert statuses[-1].seller_id == SELLER
    assert (await product(orders, "HOT")).sold == 2
    sales = await eventually(
        lambda: room_sales(orders, redis_client),
        until=lambda s: bool(s) and s[-1].revenue_minor_by_sku != {},
    )
    last = sales[-1]
    assert (last.confirmed, last.revenue_minor_by_sku) == (1, {"HOT": 2000})  # shipped counts


async def test_a_buyer_cancel_within_the_window_cancels_and_refunds(
    orders: OrdersRuntime, redis_client: Redis
) -> None:
    item = await confirmed(orders, redis_client)
    request = cancellation(checkout_id=item.checkout_id, buyer_id=item.buyer_id)
    await publish_event(redis_client, orders.settings.streams.cancellations, request)

    statuses = await statuses_until(orders, redis_client, item.checkout_id, "refunded")

    assert [s.status.value for s in statuses[-2:]] == ["cancelled", "refunded"]
    assert (await product(orders, "HOT")).available == 10


async def handled(orders: OrdersRuntime, client: Redis) -> None:
    """Wait until the group has read and acknowledged every cancellation request."""
    stream = orders.settings.streams.cancellations

    async def state() -> tuple[int, int]:
        (group,) = await client.xinfo_groups(stream)
        return int(group["lag"] or 0), int(group["pending"])

    await eventually(state, until=lambda s: s == (0, 0))


@pytest.mark.parametrize("who", ["another buyer", "the buyer, too late", "unknown checkout"])
async def test_a_refused_buyer_cancel_is_acknowledged_and_changes_nothing(
    database: Database, redis_url: str, stream_prefix: str, redis_client: Redis, who: str
) -> None:
    window = 0 if who == "the buyer, too late" else 600
    async with running(
        database, redis_url, stream_prefix, buyer_cancel_window_seconds=window
    ) as orders:
        item = await confirmed(orders, redis_client)
        buyer = "someone-else" if who == "another buyer" else item.buyer_id
        checkout_id = "co-unknown" if who == "unknown checkout" else item.checkout_id
        request = cancellation(checkout_id=checkout_id, buyer_id=buyer)
        await publish_event(redis_client, orders.settings.streams.cancellations, request)

        await handled(orders, redis_client)

        assert (await order_of(orders, item.checkout_id)).status == "confirmed"
        assert (await product(orders, "HOT")).sold == 2
        payment = await row(orders, PaymentRow, item.checkout_id)
        assert payment is not None
        assert payment.outcome == "captured"
