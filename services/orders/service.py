"""Use cases of the marketplace: turn checkouts into orders and drive them to a final
state, then after the sale: cancel (stock back, then the refund) or ship.

One path places checkouts: `place_orders` takes a batch (a single checkout is a batch
of one) with a fixed number of statements: receive and reserve in one transaction, the
gateway's batch charge, settle in a second; so a thousand taps on one product cost a
handful of statements. A redelivered checkout resumes from the state it reached.

Every transition returns the stock it moves (`StockMove`, domain.STOCK_RULES); the unit
of work applies it in the transaction that saves the change and stages its status
events (transactional outbox).
"""

import asyncio
from collections.abc import Callable, Mapping, Sequence
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
    DECLINED_BY_BUYER,
    NO_STOCK_MOVE,
    InvalidCheckout,
    NotFound,
    Order,
    PaymentClosed,
    PaymentExpired,
    Product,
    Reason,
    Status,
    StockMove,
    price_lines,
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
Step = Callable[[Order], StockMove]
PaymentLink = Callable[[Order], str]
"""The hosted payment page's URL for an order (with its ticket); given, orders stop at
`reserved` and wait for the buyer (approve_payment, decline_payment)."""


async def place_order(
    *,
    uow: UnitOfWorkFactory,
    gateway: PaymentGateway,
    checkout: CheckoutRequested,
    max_quantity: int,
    requested_at: datetime | None = None,
    payment_link: PaymentLink | None = None,
) -> Status:
    """`place_orders` for one checkout; the state it ended in. Safe to call again."""
    outcome = await place_orders(
        uow=uow,
        gateway=gateway,
        checkouts=[(checkout, requested_at)],
        max_quantity=max_quantity,
        payment_link=payment_link,
    )
    return outcome[checkout.checkout_id]


async def place_orders(
    *,
    uow: UnitOfWorkFactory,
    gateway: PaymentGateway,
    checkouts: Sequence[tuple[CheckoutRequested, datetime | None]],
    max_quantity: int,
    payment_link: PaymentLink | None = None,
) -> dict[str, Status]:
    """Receive, reserve, charge and confirm a batch of (checkout, requested_at) in arrival
    order; the final state per checkout id. Stock goes to checkouts in arrival order, all
    lines or none. A checkout placed before (redelivered, or twice in the batch) makes no
    second order: it resumes from its stored state. With a `payment_link` (hosted payment)
    nothing is charged: reserved orders wait for the buyer's answer on that page."""
    orders = await _receive_and_reserve(
        uow=uow, checkouts=checkouts, max_quantity=max_quantity, payment_link=payment_link
    )
    settled: dict[str, Order] = {}
    for order in orders:
        if order.status is Status.PAID:  # only a crash between payment and confirmation
            settled[order.checkout_id] = await _advance(uow, order.checkout_id, _confirm)
    reserved = [o for o in orders if o.status is Status.RESERVED and payment_link is None]
    settled |= await _charge(uow=uow, gateway=gateway, orders=reserved)
    return {o.checkout_id: settled.get(o.checkout_id, o).status for o in orders}


async def _receive_and_reserve(
    *,
    uow: UnitOfWorkFactory,
    checkouts: Sequence[tuple[CheckoutRequested, datetime | None]],
    max_quantity: int,
    payment_link: PaymentLink | None = None,
) -> list[Order]:
    """One order per checkout id, in arrival order: the new ones received and reserved
    (or rejected) in one transaction, the stored ones as they are."""
    unique: dict[str, tuple[CheckoutRequested, datetime | None]] = {}
    for checkout, at in checkouts:
        unique.setdefault(checkout.checkout_id, (checkout, at))
    for _ in range(MAX_CONFLICT_RETRIES):
        async with uow() as work:
            stored = await work.existing_checkouts(unique)
            resumed = [await _get(work, checkout_id) for checkout_id in stored]
            fresh = [
                (c, at) for checkout_id, (c, at) in unique.items() if checkout_id not in stored
            ]
            skus = {item.sku for c, _ in fresh for item in c.items}
            products = await work.products(skus) if fresh else {}
            received = [_receive(c, products, max_quantity, at) for c, at in fresh]
            await work.move_stock(await _admit(work, received))
            try:
                await work.add_orders(received)
            except DuplicateCheckout:
                # Another consumer placed one of them meanwhile: again, resuming that one.
                await work.rollback()
                continue
            for order in received:
                stage_changes(work, order, payment_link=payment_link)
            await work.commit()
        placed = {o.checkout_id: o for o in [*received, *resumed]}
        return [placed[checkout_id] for checkout_id in unique]
    raise ConcurrentUpdate(f"checkouts placed meanwhile: gave up after {MAX_CONFLICT_RETRIES}")


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


async def _admit(work: UnitOfWork, orders: Sequence[Order]) -> StockMove:
    """Reserve stock for the received `orders` in arrival order, all lines or none, with
    the flash deals of their room and time: priced at the deal, refused above a deal's
    per-buyer limit or cap; the stock they take. Deal units are counted after the stock
    rows are locked, so replicas placing the same products one after another never
    overshoot either."""
    wanting = [o for o in orders if o.status is Status.RECEIVED]
    if not wanting:
        return NO_STOCK_MOVE
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
    return StockMove.total(
        order.reserve()
        if order.checkout_id in admission.granted
        else order.reject(*admission.refused[order.checkout_id])
        for order in wanting
    )


async def _charge(
    *, uow: UnitOfWorkFactory, gateway: PaymentGateway, orders: Sequence[Order]
) -> dict[str, Order]:
    """Charge reserved orders in one gateway call and settle them in one transaction; the
    settled orders by checkout id."""
    if not orders:
        return {}
    results = await gateway.charge_many([_charge_of(o) for o in orders])
    answered = [(o, r) for o in orders if (r := results.get(o.checkout_id)) is not None]
    loaded = {o.checkout_id: o.sequence for o, _ in answered}
    async with uow() as work:
        moves = {o.checkout_id: _pay(o, r) for o, r in answered}
        changed = await work.save_orders([o for o, _ in answered], loaded)
        kept = [o for o, _ in answered if o.checkout_id not in changed]
        for order in kept:
            stage_changes(work, order)
        await work.move_stock(StockMove.total(moves[o.checkout_id] for o in kept))
        await work.commit()
    settled = {o.checkout_id: o for o in kept}
    # Changed meanwhile (expired, say): settle each against what is stored now.
    for order, result in answered:
        if order.checkout_id in changed:
            settled[order.checkout_id] = await _settle(uow, gateway, order.checkout_id, result)
    # No immediate answer from the gateway: charged alone, with its timeout.
    slow = [o for o in orders if results.get(o.checkout_id) is None]
    for order in await asyncio.gather(*(_charge_alone(uow, gateway, o) for o in slow)):
        settled[order.checkout_id] = order
    return settled


def _charge_of(order: Order) -> Charge:
    return Charge(order.checkout_id, order.buyer_id, order.total_minor, order.currency)


def _pay(order: Order, result: PaymentResult) -> StockMove:
    """The gateway's answer applied to a reserved order: confirmed, or rejected."""
    if result.captured:
        return order.mark_paid() + order.confirm()
    return order.reject(Reason.PAYMENT_FAILED, result.detail)


async def _charge_alone(uow: UnitOfWorkFactory, gateway: PaymentGateway, order: Order) -> Order:
    try:
        result = await gateway.charge(_charge_of(order))
    except PaymentTimeout:
        result = PaymentResult(False, "timeout")
    return await _settle(uow, gateway, order.checkout_id, result)


async def _settle(
    uow: UnitOfWorkFactory, gateway: PaymentGateway, checkout_id: str, result: PaymentResult
) -> Order:
    """Apply the gateway's answer to the stored order; refund a capture that came too late."""

    def settle(current: Order) -> StockMove:
        if current.status is not Status.RESERVED:
            return NO_STOCK_MOVE  # expired or settled by another delivery meanwhile
        return _pay(current, result)

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


def _expire(order: Order) -> StockMove:
    return order.expire() if order.status is Status.RESERVED else NO_STOCK_MOVE


async def cancel_order(
    *, uow: UnitOfWorkFactory, gateway: PaymentGateway, checkout_id: str
) -> Order:
    """Cancel a confirmed order (IllegalTransition if it is not): stock back to available
    in the same transaction, then the refund in a second one. A crash between the two
    leaves it cancelled; `refund_cancellations` finishes it."""
    await _advance(uow, checkout_id, Order.cancel)
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

    def cancel(order: Order) -> StockMove:
        return order.cancel_for_buyer(buyer_id, now=utc_now(), window=window)

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
    return await _advance(uow, checkout_id, lambda order: order.ship(tracking_ref))


async def approve_payment(
    *,
    uow: UnitOfWorkFactory,
    gateway: PaymentGateway,
    checkout_id: str,
    buyer_id: str,
    hold: timedelta,
) -> Order:
    """The buyer approved on the hosted payment page: the gateway's charge (once per
    checkout), then confirmed or rejected. Approving again answers the stored order; after
    the deadline the order is expired and PaymentExpired raised (NotFound, NotYours,
    PaymentClosed as Order.awaits_payment_from says)."""
    async with uow() as work:
        order = await _get(work, checkout_id)
    try:
        if not order.awaits_payment_from(buyer_id, now=utc_now(), hold=hold):
            return order
    except PaymentExpired:
        await _advance(uow, checkout_id, _expire)
        raise
    try:
        result = await gateway.charge(_charge_of(order))
    except PaymentTimeout:
        result = PaymentResult(False, "timeout")
    settled = await _settle(uow, gateway, checkout_id, result)
    if result.captured and settled.status not in (Status.PAID, Status.CONFIRMED, Status.EXPIRED):
        # Declined in another tab while the gateway was answering: the money goes back.
        await gateway.refund(checkout_id)
    if settled.status is Status.EXPIRED:
        raise PaymentExpired(f"{checkout_id}: the time to pay ran out")
    if settled.reason is Reason.PAYMENT_FAILED and settled.detail == DECLINED_BY_BUYER:
        raise PaymentClosed(f"{checkout_id} was declined")
    return settled


async def decline_payment(
    *, uow: UnitOfWorkFactory, checkout_id: str, buyer_id: str, hold: timedelta
) -> Order:
    """The buyer declined on the hosted payment page: rejected (`payment_failed`, detail
    `declined_by_buyer`), the held stock released. After the deadline the order is expired
    and PaymentExpired raised; a paid one raises PaymentClosed."""
    expired = False

    def decline(order: Order) -> StockMove:
        nonlocal expired
        try:
            return order.decline_payment(buyer_id, now=utc_now(), hold=hold)
        except PaymentExpired:
            expired = True
            return _expire(order)

    order = await _advance(uow, checkout_id, decline)
    if expired:
        raise PaymentExpired(f"{checkout_id}: the time to pay ran out")
    return order


def _mark_refunded(order: Order) -> StockMove:
    return order.refund() if order.status is Status.CANCELLED else NO_STOCK_MOVE


def _confirm(order: Order) -> StockMove:
    return order.confirm() if order.status is Status.PAID else NO_STOCK_MOVE


async def _advance(uow: UnitOfWorkFactory, checkout_id: str, step: Step) -> Order:
    """Load the order, apply `step`, save with an optimistic check and apply the stock
    it moved; retry on conflicts."""
    for _ in range(MAX_CONFLICT_RETRIES):
        async with uow() as work:
            order = await _get(work, checkout_id)
            loaded = order.sequence
            move = step(order)
            if order.sequence == loaded:
                return order
            if await work.save_orders([order], {checkout_id: loaded}):
                await work.rollback()
                continue
            await work.move_stock(move)
            stage_changes(work, order)
            await work.commit()
            return order
    raise ConcurrentUpdate(f"checkout {checkout_id}: gave up after {MAX_CONFLICT_RETRIES} tries")


async def _get(work: UnitOfWork, checkout_id: str) -> Order:
    order = await work.get_order(checkout_id)
    if order is None:
        raise NotFound(f"no order for checkout {checkout_id}")
    return order


def stage_changes(
    work: UnitOfWork, order: Order, *, payment_link: PaymentLink | None = None
) -> None:
    """Stage one `order.status` event per transition of `order` since it was loaded; its
    `reserved` carries the payment page's URL when there is a `payment_link`."""
    for change in order.pull_changes():
        hosted = payment_link is not None and change.status is Status.RESERVED
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
                    payment_url=payment_link(order) if hosted and payment_link else None,
                ),
            )
        )
