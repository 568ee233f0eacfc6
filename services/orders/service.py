"""Use cases of the marketplace: turn a checkout into an order and drive it to a final
state, then after the sale: cancel (stock back, then the refund) or ship.

Every state change and the status events it causes are committed together
(transactional outbox). A redelivered checkout resumes from the state it reached.

`place_orders` does the same for a batch with a fixed number of statements
(receive and reserve in one transaction, the gateway's batch charge, settle in a
second), so a thousand taps on one product cost a handful of statements; a
checkout it cannot settle with the batch goes the one-at-a-time way.
"""

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta

from contracts import (
    CheckoutItem,
    CheckoutRequested,
    OrderStatusChanged,
    OrderStatusChangedEvent,
    new_event_id,
    utc_now,
)
from services.orders.deals import admit, price_with_deals
from services.orders.domain import (
    InvalidCheckout,
    NotFound,
    Order,
    Product,
    Reason,
    Status,
    price_lines,
    units_by_sku,
)
from services.orders.ports import (
    Charge,
    ConcurrentUpdate,
    DuplicateCheckout,
    PaymentGateway,
    PaymentResult,
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
        products = await work.products([item.sku for item in checkout.items])
        order = _receive(checkout, products, max_quantity, requested_at)
        await _admit(work, [order])
        try:
            await work.add_orders([order])
        except DuplicateCheckout:
            await work.rollback()
            return await _reload(uow, checkout.checkout_id)
        _stage_changes(work, order)
        await work.commit()
        return order


def _receive(
    checkout: CheckoutRequested,
    products: Mapping[str, Product],
    max_quantity: int,
    requested_at: datetime | None,
) -> Order:
    """A new order at the marketplace's prices; already rejected if the checkout is invalid."""
    items = [(item.sku, item.quantity) for item in checkout.items]
    try:
        lines, currency = price_lines(items, products, max_quantity=max_quantity)
        problem, seller_id = None, products[lines[0].sku].seller_id
    except InvalidCheckout as exc:
        lines, currency, problem, seller_id = [], "XXX", str(exc), None
    order = Order.receive(
        order_id=new_event_id(),
        checkout_id=checkout.checkout_id,
        buyer_id=checkout.buyer_id,
        room_id=checkout.room_id,
        currency=currency,
        lines=lines,
        requested_at=requested_at,
        seller_id=seller_id,
    )
    if problem is not None:
        order.reject(Reason.INVALID, problem[:200])
    return order


async def place_orders(
    *,
    uow: UnitOfWorkFactory,
    gateway: PaymentGateway,
    checkouts: Sequence[tuple[CheckoutRequested, datetime | None]],
    max_quantity: int,
) -> dict[str, Status]:
    """`place_order` for a batch (checkout, requested_at) in arrival order; the final
    state per checkout id. Stock goes to checkouts in arrival order, all lines or none.

    Raises DuplicateCheckout if another consumer created one of the orders meanwhile:
    nothing of the batch is kept, and the caller places them one at a time.
    """
    fresh: list[tuple[CheckoutRequested, datetime | None]] = []
    again: list[tuple[CheckoutRequested, datetime | None]] = []
    async with uow() as work:
        seen = await work.existing_checkouts({c.checkout_id for c, _ in checkouts})
        for checkout, at in checkouts:
            (again if checkout.checkout_id in seen else fresh).append((checkout, at))
            seen.add(checkout.checkout_id)
        products = await work.products({i.sku for c, _ in fresh for i in c.items})
        orders = [_receive(c, products, max_quantity, at) for c, at in fresh]
        await _admit(work, orders)
        await work.add_orders(orders)
        for order in orders:
            _stage_changes(work, order)
        await work.commit()
    reserved = [o for o in orders if o.status is Status.RESERVED]
    settled = await _charge_many(uow=uow, gateway=gateway, orders=reserved)
    outcome = {o.checkout_id: settled.get(o.checkout_id, o.status) for o in orders}
    for checkout, at in again:  # redeliveries (or a checkout twice in the batch): resume
        outcome[checkout.checkout_id] = await place_order(
            uow=uow, gateway=gateway, checkout=checkout, max_quantity=max_quantity,
            requested_at=at,
        )  # fmt: skip
    return outcome


async def _admit(work: UnitOfWork, orders: Sequence[Order]) -> None:
    """Reserve stock for the received `orders` in arrival order, all lines or none, with
    the flash deals of their room and time: priced at the deal, refused above a deal's
    per-buyer limit or cap. Deal units are counted after the stock rows are locked, so
    replicas placing the same products one after another never overshoot either."""
    wanting = [o for o in orders if o.status is Status.RECEIVED]
    if not wanting:
        return
    skus = {line.sku for o in wanting for line in o.lines}
    # Deals are read before the stock rows are locked: checkouts never change them, and
    # every statement inside the lock holds up the other replicas selling the same skus.
    moments = [o.requested_at for o in wanting if o.requested_at is not None]
    deals = await work.flash_deals(skus, not_ended_at=min(moments)) if moments else []
    available = await work.lock_stock(skus)
    for order in wanting:
        order.lines = price_with_deals(
            order.lines, deals, room_id=order.room_id, at=order.requested_at
        )
    in_use = {line.deal_id for o in wanting for line in o.lines if line.deal_id is not None}
    admission = admit(
        [(o.checkout_id, o.buyer_id, o.lines) for o in wanting],
        available=available,
        deals={deal.deal_id: deal for deal in deals},
        usage=await work.deal_usage(in_use),
    )
    for order in wanting:
        if order.checkout_id in admission.granted:
            order.reserve()
        else:
            order.reject(*admission.refused[order.checkout_id])
    await work.change_stock(reserve=admission.taken)


async def _charge_many(
    *, uow: UnitOfWorkFactory, gateway: PaymentGateway, orders: Sequence[Order]
) -> dict[str, Status]:
    """Charge reserved orders in one gateway call and settle them in one transaction."""
    if not orders:
        return {}
    results = await gateway.charge_many(
        [Charge(o.checkout_id, o.buyer_id, o.total_minor, o.currency) for o in orders]
    )
    answered = [(o, r) for o in orders if (r := results.get(o.checkout_id)) is not None]
    loaded = {o.checkout_id: o.sequence for o, _ in answered}
    async with uow() as work:
        for order, result in answered:
            if result.captured:
                order.mark_paid()
                order.confirm()
            else:
                order.reject(Reason.PAYMENT_FAILED, result.detail)
        changed = await work.save_orders([o for o, _ in answered], loaded)
        kept = [(o, r) for o, r in answered if o.checkout_id not in changed]
        sold, released = Counter[str](), Counter[str]()
        for order, result in kept:
            (sold if result.captured else released).update(units_by_sku(order.lines))
            _stage_changes(work, order)
        await work.change_stock(sell=sold, release=released)
        await work.commit()
    outcome = {o.checkout_id: o.status for o, _ in kept}
    # Changed meanwhile (expired, say): settle each against what is stored now.
    for order, result in answered:
        if order.checkout_id in changed:
            settled = await _settle(uow, gateway, order.checkout_id, result)
            outcome[order.checkout_id] = settled.status
    # No immediate answer from the gateway: charged alone, with its timeout.
    slow = [o for o in orders if results.get(o.checkout_id) is None]
    for order in await asyncio.gather(*(_charge(uow=uow, gateway=gateway, order=o) for o in slow)):
        outcome[order.checkout_id] = order.status
    return outcome


async def _charge(*, uow: UnitOfWorkFactory, gateway: PaymentGateway, order: Order) -> Order:
    charge = Charge(order.checkout_id, order.buyer_id, order.total_minor, order.currency)
    try:
        result = await gateway.charge(charge)
    except PaymentTimeout:
        result = PaymentResult(False, "timeout")
    return await _settle(uow, gateway, order.checkout_id, result)


async def _settle(
    uow: UnitOfWorkFactory, gateway: PaymentGateway, checkout_id: str, result: PaymentResult
) -> Order:
    """Apply the gateway's answer to the stored order; refund a capture that came too late."""

    async def settle(work: UnitOfWork, current: Order) -> None:
        if current.status is not Status.RESERVED:
            return  # expired or settled by another delivery meanwhile
        if result.captured:
            current.mark_paid()
            await _confirm(work, current)
        else:
            current.reject(Reason.PAYMENT_FAILED, result.detail)
            await work.change_stock(release=units_by_sku(current.lines))

    settled = await _advance(uow, checkout_id, settle)
    if result.captured and settled.status is Status.EXPIRED:
        # The hold ran out while the gateway was answering: the money goes back.
        await gateway.refund(checkout_id)
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
        await work.change_stock(release=units_by_sku(order.lines))


async def cancel_order(
    *, uow: UnitOfWorkFactory, gateway: PaymentGateway, checkout_id: str
) -> Order:
    """Cancel a confirmed order (IllegalTransition if it is not): stock back to available
    in the same transaction, then the refund in a second one. A crash between the two
    leaves it cancelled; `refund_cancellations` finishes it."""
    await _advance(uow, checkout_id, _cancel)
    return await refund_cancelled(uow=uow, gateway=gateway, checkout_id=checkout_id)


async def cancel_for_buyer(
    *,
    uow: UnitOfWorkFactory,
    gateway: PaymentGateway,
    checkout_id: str,
    buyer_id: str,
    window: timedelta,
) -> Order:
    """The buyer's cancel: NotFound, NotYours, IllegalTransition or CancelWindowClosed
    unless the order is theirs and was confirmed less than `window` ago."""
    await _reload(uow, checkout_id)

    async def cancel(work: UnitOfWork, order: Order) -> None:
        order.cancel_for_buyer(buyer_id, now=utc_now(), window=window)
        await work.change_stock(restore=units_by_sku(order.lines))

    await _advance(uow, checkout_id, cancel)
    return await refund_cancelled(uow=uow, gateway=gateway, checkout_id=checkout_id)


async def refund_cancelled(
    *, uow: UnitOfWorkFactory, gateway: PaymentGateway, checkout_id: str
) -> Order:
    """Give a cancelled order's money back and mark it refunded (idempotent: the gateway
    refunds once, and an order refunded meanwhile stays as it is)."""
    await gateway.refund(checkout_id)
    return await _advance(uow, checkout_id, _mark_refunded)


async def refund_cancellations(
    *, uow: UnitOfWorkFactory, gateway: PaymentGateway, older_than_seconds: float, limit: int = 100
) -> list[Order]:
    """Finish cancellations a crash left unrefunded (cancelled before `older_than_seconds`
    ago, so a cancel still on its way to the refund is left to itself); the refunded."""
    async with uow() as work:
        left = await work.unrefunded_cancellations(
            older_than=utc_now() - timedelta(seconds=older_than_seconds), limit=limit
        )
    done = [await refund_cancelled(uow=uow, gateway=gateway, checkout_id=c) for c in left]
    return [order for order in done if order.status is Status.REFUNDED]


async def ship_order(*, uow: UnitOfWorkFactory, checkout_id: str, tracking_ref: str) -> Order:
    """Confirmed → shipped with the carrier's reference (InvalidTrackingRef, IllegalTransition)."""

    async def ship(_: UnitOfWork, order: Order) -> None:
        order.ship(tracking_ref)

    return await _advance(uow, checkout_id, ship)


async def _cancel(work: UnitOfWork, order: Order) -> None:
    order.cancel()
    await work.change_stock(restore=units_by_sku(order.lines))


async def _mark_refunded(_: UnitOfWork, order: Order) -> None:
    if order.status is Status.CANCELLED:
        order.refund()


async def _confirm(work: UnitOfWork, order: Order) -> None:
    if order.status is Status.PAID:
        order.confirm()
        await work.change_stock(sell=units_by_sku(order.lines))


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
                raise NotFound(f"no order for checkout {checkout_id}")
            loaded = order.sequence
            await step(work, order)
            if order.sequence == loaded:
                return order
            if await work.save_orders([order], {checkout_id: loaded}):
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
        raise NotFound(f"no order for checkout {checkout_id}")
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
                    seller_id=order.seller_id,
                    tracking_ref=order.tracking_ref,
                ),
            )
        )
