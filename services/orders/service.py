"""Use cases of the marketplace: turn a checkout into an order and drive it to a final state.

Every state change and the status events it causes are committed together
(transactional outbox). A redelivered checkout resumes from the state it reached.
"""

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from contracts import (
    CheckoutItem,
    CheckoutRequested,
    OrderStatusChanged,
    OrderStatusChangedEvent,
    new_event_id,
    utc_now,
)
from services.orders.domain import InvalidCheckout, Order, Reason, Status, price_lines
from services.orders.ports import (
    Charge,
    ConcurrentUpdate,
    DuplicateCheckout,
    PaymentGateway,
    PaymentTimeout,
    UnitOfWork,
)

PRODUCER = "orders"
MAX_CONFLICT_RETRIES = 5

UnitOfWorkFactory = Callable[[], UnitOfWork]


async def place_order(
    *,
    uow: UnitOfWorkFactory,
    gateway: PaymentGateway,
    checkout: CheckoutRequested,
    max_quantity: int,
    requested_at: datetime | None = None,
) -> Status:
    """Receive, reserve, charge and confirm one checkout; returns the state it ended in.

    Safe to call again for the same checkout: each step starts from the stored state.
    """
    order = await _receive_and_reserve(
        uow=uow, checkout=checkout, max_quantity=max_quantity, requested_at=requested_at
    )
    if order.status is Status.RESERVED:
        order = await _charge(uow=uow, gateway=gateway, order=order)
    if order.status is Status.PAID:
        order = await _advance(uow, order.checkout_id, _confirm)
    return order.status


async def _receive_and_reserve(
    *,
    uow: UnitOfWorkFactory,
    checkout: CheckoutRequested,
    max_quantity: int,
    requested_at: datetime | None,
) -> Order:
    async with uow() as work:
        if (existing := await work.get_order(checkout.checkout_id)) is not None:
            return existing
        items = [(item.sku, item.quantity) for item in checkout.items]
        products = await work.products([sku for sku, _ in items])
        try:
            lines, currency = price_lines(items, products, max_quantity=max_quantity)
            problem = None
        except InvalidCheckout as exc:
            lines, currency, problem = [], "XXX", str(exc)
        order = Order.receive(
            order_id=new_event_id(),
            checkout_id=checkout.checkout_id,
            buyer_id=checkout.buyer_id,
            room_id=checkout.room_id,
            currency=currency,
            lines=lines,
            requested_at=requested_at,
        )
        if problem is not None:
            order.reject(Reason.INVALID, problem[:200])
        elif await work.reserve_stock(lines):
            order.reserve()
        else:
            order.reject(Reason.OUT_OF_STOCK)
        try:
            await work.add_order(order)
        except DuplicateCheckout:
            await work.rollback()
            return await _reload(uow, checkout.checkout_id)
        _stage_changes(work, order)
        await work.commit()
        return order


async def _charge(*, uow: UnitOfWorkFactory, gateway: PaymentGateway, order: Order) -> Order:
    charge = Charge(order.checkout_id, order.buyer_id, order.total_minor, order.currency)
    try:
        result = await gateway.charge(charge)
        captured, detail = result.captured, result.detail
    except PaymentTimeout:
        captured, detail = False, "timeout"

    async def settle(work: UnitOfWork, current: Order) -> None:
        if current.status is not Status.RESERVED:
            return  # expired or settled by another delivery meanwhile
        if captured:
            current.mark_paid()
            await _confirm(work, current)
        else:
            current.reject(Reason.PAYMENT_FAILED, detail)
            await work.release_stock(current.lines)

    settled = await _advance(uow, order.checkout_id, settle)
    if captured and settled.status is Status.EXPIRED:
        # The hold ran out while the gateway was answering: the money goes back.
        await gateway.refund(order.checkout_id)
    return settled


async def expire_overdue_reservations(
    *, uow: UnitOfWorkFactory, hold_seconds: float, limit: int = 100
) -> list[Order]:
    """Expire reservations older than the hold time and release their stock; the expired."""
    async with uow() as work:
        overdue = await work.overdue_reservations(
            older_than=utc_now() - timedelta(seconds=hold_seconds), limit=limit
        )
    expired = [await _advance(uow, checkout_id, _expire) for checkout_id in overdue]
    return [order for order in expired if order.status is Status.EXPIRED]


async def _expire(work: UnitOfWork, order: Order) -> None:
    if order.status is Status.RESERVED:
        order.expire()
        await work.release_stock(order.lines)


async def _confirm(work: UnitOfWork, order: Order) -> None:
    if order.status is Status.PAID:
        order.confirm()
        await work.complete_sale(order.lines)


async def _advance(
    uow: UnitOfWorkFactory,
    checkout_id: str,
    step: Callable[[UnitOfWork, Order], Awaitable[None]],
) -> Order:
    """Load the order, apply `step`, save with an optimistic check; retry on conflicts."""
    for _ in range(MAX_CONFLICT_RETRIES):
        async with uow() as work:
            order = await work.get_order(checkout_id)
            if order is None:
                raise LookupError(f"order for checkout {checkout_id} vanished")
            loaded = order.sequence
            await step(work, order)
            if order.sequence == loaded:
                return order
            try:
                await work.save_order(order, loaded_sequence=loaded)
            except ConcurrentUpdate:
                await work.rollback()
                continue
            _stage_changes(work, order)
            await work.commit()
            return order
    raise ConcurrentUpdate(f"checkout {checkout_id}: gave up after {MAX_CONFLICT_RETRIES} tries")


async def _reload(uow: UnitOfWorkFactory, checkout_id: str) -> Order:
    async with uow() as work:
        order = await work.get_order(checkout_id)
    if order is None:
        raise LookupError(f"order for checkout {checkout_id} vanished")
    return order


def _stage_changes(work: UnitOfWork, order: Order) -> None:
    for change in order.pull_changes():
        work.stage_event(
            OrderStatusChangedEvent.new(
                correlation_id=order.checkout_id,
                producer=PRODUCER,
                data=OrderStatusChanged(
                    checkout_id=order.checkout_id,
                    order_id=order.order_id,
                    buyer_id=order.buyer_id,
                    room_id=order.room_id,
                    status=change.status,
                    previous_status=change.previous,
                    sequence=change.sequence,
                    reason=change.reason,
                    detail=change.detail,
                    total_minor=order.total_minor,
                    currency=order.currency,
                    items=[CheckoutItem(sku=li.sku, quantity=li.quantity) for li in order.lines],
                    requested_at=order.requested_at,
                ),
            )
        )
