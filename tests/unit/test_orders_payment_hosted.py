"""Hosted payment (the marketplace's page in the live room): the domain's rules for the
buyer's answer, the use cases over the fakes of their ports, and the page's tickets."""

from datetime import timedelta

import pytest

from contracts import OrderStatus, RejectionReason, utc_now
from infra.local.stack import hosted_payment
from services.orders.config import OrdersSettings
from services.orders.domain import (
    DECLINED_BY_BUYER,
    Line,
    NotYours,
    Order,
    PaymentClosed,
    PaymentExpired,
)
from services.orders.payment_page import InvalidTicket, PaymentLinks, PaymentTickets
from services.orders.service import (
    approve_payment,
    decline_payment,
    expire_overdue_reservations,
    place_order,
)
from tests.support.flow import checkout
from tests.support.orders_fakes import FakeGateway, FakeStore

HOLD = timedelta(seconds=120)
MAX = 100
SECRET = "s" * 40


def reserved_order(*, minutes_ago: float = 0) -> Order:
    order = Order.receive(
        order_id="o-1", checkout_id="co-1", buyer_id="buyer-1", room_id="room-1",
        currency="EUR", lines=[Line("SKU-A", 2, 500)],
    )  # fmt: skip
    order.reserve()
    order.changed_at = utc_now() - timedelta(minutes=minutes_ago)
    return order


# ---- domain -------------------------------------------------------------------------------


def test_a_reserved_order_awaits_its_buyers_payment_until_the_deadline() -> None:
    order = reserved_order()

    assert order.awaits_payment_from("buyer-1", now=utc_now(), hold=HOLD)
    assert order.payment_due_at(HOLD) == order.changed_at + HOLD  # type: ignore[operator]


def test_an_answer_after_the_deadline_is_refused_as_expired() -> None:
    order = reserved_order(minutes_ago=3)

    with pytest.raises(PaymentExpired):
        order.awaits_payment_from("buyer-1", now=utc_now(), hold=HOLD)
    with pytest.raises(PaymentExpired):
        order.decline_payment("buyer-1", now=utc_now(), hold=HOLD)


def test_only_the_orders_buyer_may_answer() -> None:
    with pytest.raises(NotYours):
        reserved_order().awaits_payment_from("buyer-2", now=utc_now(), hold=HOLD)
    with pytest.raises(NotYours):
        reserved_order().decline_payment("buyer-2", now=utc_now(), hold=HOLD)


def test_a_paid_order_approved_again_needs_no_second_charge() -> None:
    order = reserved_order()
    order.mark_paid()
    order.confirm()

    assert order.awaits_payment_from("buyer-1", now=utc_now(), hold=HOLD) is False
    with pytest.raises(PaymentClosed):
        order.decline_payment("buyer-1", now=utc_now(), hold=HOLD)


def test_declining_rejects_the_order_and_releases_its_stock_once() -> None:
    order = reserved_order()

    move = order.decline_payment("buyer-1", now=utc_now(), hold=HOLD)
    again = order.decline_payment("buyer-1", now=utc_now(), hold=HOLD)

    assert (order.status, order.reason, order.detail) == (
        OrderStatus.REJECTED, RejectionReason.PAYMENT_FAILED, DECLINED_BY_BUYER,
    )  # fmt: skip
    assert move.deltas() == {"SKU-A": (2, -2, 0)}
    assert not again
    with pytest.raises(PaymentClosed):
        order.awaits_payment_from("buyer-1", now=utc_now(), hold=HOLD)


def test_an_expired_order_takes_no_answer() -> None:
    order = reserved_order()
    order.expire()

    with pytest.raises(PaymentExpired):
        order.awaits_payment_from("buyer-1", now=utc_now(), hold=HOLD)


# ---- use cases over the fakes ---------------------------------------------------------------


@pytest.fixture
def store() -> FakeStore:
    store = FakeStore()
    store.add_product("SKU-A", 10)
    return store


def links() -> PaymentLinks:
    return PaymentLinks("http://market.test", PaymentTickets(SECRET, HOLD))


def statuses(store: FakeStore, checkout_id: str) -> list[str]:
    return [e.data.status.value for e in store.state.outbox if e.correlation_id == checkout_id]


async def hosted_order(store: FakeStore, gateway: FakeGateway) -> str:
    item = checkout(items=[("SKU-A", 2)], buyer_id="buyer-1")
    status = await place_order(
        uow=store, gateway=gateway, checkout=item, max_quantity=MAX, payment_link=links()
    )
    assert status is OrderStatus.RESERVED
    return item.checkout_id


async def test_a_hosted_order_waits_at_reserved_with_its_page_in_the_status(
    store: FakeStore,
) -> None:
    gateway = FakeGateway()
    checkout_id = await hosted_order(store, gateway)

    reserved = [e.data for e in store.state.outbox if e.data.status is OrderStatus.RESERVED]
    assert gateway.results == {}
    assert store.stock("SKU-A") == (8, 2, 0)
    assert statuses(store, checkout_id) == ["received", "reserved"]
    url = reserved[0].payment_url
    assert url is not None
    assert url.startswith(f"http://market.test/pay/{checkout_id}?ticket=")
    ticket = url.partition("ticket=")[2]
    assert PaymentTickets(SECRET, HOLD).buyer_of(ticket, checkout_id=checkout_id) == "buyer-1"


async def test_approving_twice_charges_once_and_confirms(store: FakeStore) -> None:
    gateway = FakeGateway()
    checkout_id = await hosted_order(store, gateway)
    charges = 0
    real_charge = gateway.charge

    async def counted(charge):  # type: ignore[no-untyped-def]
        nonlocal charges
        charges += 1
        return await real_charge(charge)

    gateway.charge = counted  # type: ignore[method-assign]
    first = await approve_payment(uow=store, gateway=gateway, checkout_id=checkout_id,
                                  buyer_id="buyer-1", hold=HOLD)  # fmt: skip
    second = await approve_payment(uow=store, gateway=gateway, checkout_id=checkout_id,
                                   buyer_id="buyer-1", hold=HOLD)  # fmt: skip

    assert first.status is second.status is OrderStatus.CONFIRMED
    assert charges == 1
    assert statuses(store, checkout_id) == ["received", "reserved", "paid", "confirmed"]
    assert store.stock("SKU-A") == (8, 0, 2)


async def test_a_wallet_that_declines_rejects_the_approved_order_payment_failed(
    store: FakeStore,
) -> None:
    gateway = FakeGateway(declined={"buyer-1"})
    checkout_id = await hosted_order(store, gateway)

    order = await approve_payment(uow=store, gateway=gateway, checkout_id=checkout_id,
                                  buyer_id="buyer-1", hold=HOLD)  # fmt: skip

    assert (order.status, order.reason, order.detail) == (
        OrderStatus.REJECTED, RejectionReason.PAYMENT_FAILED, "declined",
    )  # fmt: skip
    assert store.stock("SKU-A") == (10, 0, 0)


async def test_declining_rejects_and_puts_the_stock_back(store: FakeStore) -> None:
    gateway = FakeGateway()
    checkout_id = await hosted_order(store, gateway)

    order = await decline_payment(uow=store, checkout_id=checkout_id, buyer_id="buyer-1",
                                  hold=HOLD)  # fmt: skip

    assert (order.reason, order.detail) == (RejectionReason.PAYMENT_FAILED, DECLINED_BY_BUYER)
    assert statuses(store, checkout_id) == ["received", "reserved", "rejected"]
    assert store.stock("SKU-A") == (10, 0, 0)
    with pytest.raises(PaymentClosed):
        await approve_payment(uow=store, gateway=gateway, checkout_id=checkout_id,
                              buyer_id="buyer-1", hold=HOLD)  # fmt: skip
    assert gateway.results == {}


async def test_no_answer_in_time_expires_the_order_and_releases_the_stock(
    store: FakeStore,
) -> None:
    gateway = FakeGateway()
    checkout_id = await hosted_order(store, gateway)

    expired = await expire_overdue_reservations(uow=store, hold_seconds=-1)

    assert [o.checkout_id for o in expired] == [checkout_id]
    assert store.stock("SKU-A") == (10, 0, 0)
    with pytest.raises(PaymentExpired):
        await approve_payment(uow=store, gateway=gateway, checkout_id=checkout_id,
                              buyer_id="buyer-1", hold=HOLD)  # fmt: skip
    assert gateway.results == {}  # nothing charged


async def test_approving_past_the_deadline_expires_it_at_once_without_a_charge(
    store: FakeStore,
) -> None:
    gateway = FakeGateway()
    checkout_id = await hosted_order(store, gateway)

    with pytest.raises(PaymentExpired):
        await approve_payment(uow=store, gateway=gateway, checkout_id=checkout_id,
                              buyer_id="buyer-1", hold=timedelta(seconds=-1))  # fmt: skip

    assert statuses(store, checkout_id) == ["received", "reserved", "expired"]
    assert store.stock("SKU-A") == (10, 0, 0)
    assert gateway.results == {}


async def test_another_buyer_cannot_answer(store: FakeStore) -> None:
    gateway = FakeGateway()
    checkout_id = await hosted_order(store, gateway)

    with pytest.raises(NotYours):
        await approve_payment(uow=store, gateway=gateway, checkout_id=checkout_id,
                              buyer_id="buyer-2", hold=HOLD)  # fmt: skip
    with pytest.raises(NotYours):
        await decline_payment(uow=store, checkout_id=checkout_id, buyer_id="buyer-2",
                              hold=HOLD)  # fmt: skip
    assert statuses(store, checkout_id) == ["received", "reserved"]


async def test_a_capture_after_a_decline_in_another_tab_is_refunded(store: FakeStore) -> None:
    checkout_id = ""

    async def declined_meanwhile() -> None:
        await decline_payment(uow=store, checkout_id=checkout_id, buyer_id="buyer-1", hold=HOLD)

    gateway = FakeGateway()
    checkout_id = await hosted_order(store, gateway)
    gateway.while_charging = declined_meanwhile

    with pytest.raises(PaymentClosed):
        await approve_payment(uow=store, gateway=gateway, checkout_id=checkout_id,
                              buyer_id="buyer-1", hold=HOLD)  # fmt: skip

    assert gateway.refunded == [checkout_id]
    assert store.stock("SKU-A") == (10, 0, 0)


# ---- tickets ---------------------------------------------------------------------------------


def test_a_ticket_opens_only_its_own_checkout() -> None:
    tickets = PaymentTickets(SECRET, HOLD)
    ticket = tickets.issue(checkout_id="co-1", buyer_id="buyer-1")

    assert tickets.buyer_of(ticket, checkout_id="co-1") == "buyer-1"
    with pytest.raises(InvalidTicket, match="invalid"):
        tickets.buyer_of(ticket, checkout_id="co-2")
    with pytest.raises(InvalidTicket, match="invalid"):
        PaymentTickets("t" * 40, HOLD).buyer_of(ticket, checkout_id="co-1")
    with pytest.raises(InvalidTicket, match="missing"):
        tickets.buyer_of(None, checkout_id="co-1")
    with pytest.raises(InvalidTicket, match="invalid"):
        tickets.buyer_of("x" * 5000, checkout_id="co-1")


def test_a_ticket_runs_out() -> None:
    tickets = PaymentTickets(SECRET, timedelta(minutes=-10))
    ticket = tickets.issue(checkout_id="co-1", buyer_id="buyer-1")

    with pytest.raises(InvalidTicket, match="expired"):
        tickets.buyer_of(ticket, checkout_id="co-1")


# ---- make up ---------------------------------------------------------------------------------


def test_make_up_runs_hosted_payment_framed_by_its_storefronts_unless_told_otherwise() -> None:
    env: dict[str, str] = {}
    hosted_payment(
        env, orders_url="http://localhost:8002", storefront_urls=["http://localhost:8000"]
    )
    told = {"ORDERS_PAYMENT_MODE": "wallet"}
    hosted_payment(told, orders_url="http://localhost:8002", storefront_urls=[])

    settings = OrdersSettings(**{k.removeprefix("ORDERS_").lower(): v for k, v in env.items()})
    assert settings.payment_mode == "hosted"
    assert settings.public_url == "http://localhost:8002"
    assert settings.payment_frame_ancestors == ["http://localhost:8000", "http://127.0.0.1:8000"]
    assert told["ORDERS_PAYMENT_MODE"] == "wallet"
