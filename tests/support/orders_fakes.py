"""In-memory fakes of the orders service's ports (unit of work, payment gateway): no I/O,
the same protocols as the SQL unit of work and the sandbox wallet. The contract suite in
tests/integration/test_orders_unit_of_work_contract.py holds them to the real adapter."""

import copy
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import TracebackType
from typing import Self

from contracts import Envelope, utc_now
from services.orders.deals import Deal, DealUsage
from services.orders.domain import HOLDING_STOCK, Order, Product, ProductExists, Status, StockMove
from services.orders.ports import (
    Charge,
    DuplicateCheckout,
    OrderView,
    PaymentGateway,
    PaymentResult,
    PaymentTimeout,
    ProductView,
    UnitOfWork,
)


@dataclass
class FakeState:
    """What a database would hold: products, orders (by checkout id), deals, the outbox."""

    products: dict[str, ProductView] = field(default_factory=dict)
    orders: dict[str, Order] = field(default_factory=dict)
    created: dict[str, datetime] = field(default_factory=dict)
    deals: dict[str, Deal] = field(default_factory=dict)
    outbox: list[Envelope] = field(default_factory=list)  # type: ignore[type-arg]


class FakeUnitOfWork(UnitOfWork):
    """One transaction over a copy of `store.state`; `commit()` makes the copy the state."""

    def __init__(self, store: "FakeStore") -> None:
        self._store = store
        self.committed = False

    async def __aenter__(self) -> Self:
        self._state = copy.deepcopy(self._store.state)
        self._staged: list[Envelope] = []  # type: ignore[type-arg]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._staged = []

    async def commit(self) -> None:
        self._state.outbox.extend(self._staged)
        self._store.state, self._staged = self._state, []
        self._state = copy.deepcopy(self._store.state)
        self.committed = True

    async def rollback(self) -> None:
        self._state, self._staged = copy.deepcopy(self._store.state), []

    async def get_order(self, checkout_id: str) -> Order | None:
        order = self._state.orders.get(checkout_id)
        return None if order is None else copy.deepcopy(order)

    async def existing_checkouts(self, checkout_ids: Collection[str]) -> set[str]:
        return {c for c in checkout_ids if c in self._state.orders}

    async def add_orders(self, orders: Sequence[Order]) -> None:
        # A unique key sees what others committed meanwhile, not only this snapshot.
        stored = self._state.orders.keys() | self._store.state.orders.keys()
        if any(o.checkout_id in stored for o in orders):
            raise DuplicateCheckout(", ".join(o.checkout_id for o in orders)[:200])
        now = utc_now()
        for order in orders:
            self._state.orders[order.checkout_id] = _stored(order, now)
            self._state.created[order.checkout_id] = now

    async def save_orders(self, orders: Sequence[Order], loaded: Mapping[str, int]) -> set[str]:
        missed: set[str] = set()
        now = utc_now()
        for order in orders:
            stored = self._state.orders.get(order.checkout_id)
            if stored is None or stored.sequence != loaded[order.checkout_id]:
                missed.add(order.checkout_id)
            else:
                self._state.orders[order.checkout_id] = _stored(order, now)
        return missed

    async def products(self, skus: Collection[str]) -> dict[str, Product]:
        found = (self._state.products.get(sku) for sku in set(skus))
        return {p.sku: Product(p.sku, p.price_minor, p.currency, p.seller_id) for p in found if p}

    async def product_view(self, sku: str) -> ProductView | None:
        return self._state.products.get(sku)

    async def seller_products(self, seller_id: str) -> list[ProductView]:
        mine = [p for p in self._state.products.values() if p.seller_id == seller_id]
        return sorted(mine, key=lambda p: p.sku)

    async def add_product(self, product: ProductView) -> None:
        if product.sku in self._state.products:
            raise ProductExists(f"product {product.sku} exists")
        self._state.products[product.sku] = product

    async def update_product(
        self, sku: str, *, title: str | None, price_minor: int | None, image_url: str | None
    ) -> None:
        if (p := self._state.products.get(sku)) is not None:
            self._state.products[sku] = replace(
                p,
                title=p.title if title is None else title,
                price_minor=p.price_minor if price_minor is None else price_minor,
                image_url=p.image_url if image_url is None else image_url,
                version=p.version + 1,
            )

    async def set_available(self, sku: str, units: int) -> None:
        if (p := self._state.products.get(sku)) is not None:
            self._state.products[sku] = replace(p, available=units, version=p.version + 1)

    async def order_view(self, order_id: str) -> OrderView | None:
        found = [o for o in self._state.orders.values() if o.order_id == order_id]
        return self._view(found[0]) if found else None

    async def seller_orders(
        self, seller_id: str, *, status: str | None, limit: int
    ) -> list[OrderView]:
        mine = [
            o
            for o in self._state.orders.values()
            if o.seller_id == seller_id and (status is None or o.status.value == status)
        ]
        mine.sort(key=lambda o: (self._state.created[o.checkout_id], o.order_id), reverse=True)
        return [self._view(o) for o in mine[:limit]]

    async def flash_deals(self, skus: Collection[str], *, not_ended_at: datetime) -> list[Deal]:
        return [
            d
            for d in self._state.deals.values()
            if d.sku in skus and (d.ends_at is None or d.ends_at > not_ended_at)
        ]

    async def deal_usage(self, deal_ids: Collection[str]) -> DealUsage:
        usage = DealUsage()
        for order in self._state.orders.values():
            if order.status not in HOLDING_STOCK:
                continue
            for line in order.lines:
                if line.deal_id is not None and line.deal_id in deal_ids:
                    usage.taken[line.deal_id] += line.quantity
                    usage.bought[line.deal_id, order.buyer_id] += line.quantity
        return usage

    async def upsert_deal(self, deal: Deal) -> None:
        self._state.deals[deal.deal_id] = deal
        if (p := self._state.products.get(deal.sku)) is not None:
            self._state.products[deal.sku] = replace(p, version=p.version + 1)

    async def lock_stock(self, skus: Collection[str]) -> dict[str, int]:
        # One task runs at a time here: nothing to lock against.
        found = (self._state.products.get(sku) for sku in set(skus))
        return {p.sku: p.available for p in found if p}

    async def move_stock(self, move: StockMove) -> None:
        for sku, (available, reserved, sold) in move.deltas().items():
            p = self._state.products[sku]
            if p.available + available < 0:  # the table's CHECK (available >= 0)
                raise ValueError(f"{sku}: available would go below 0")
            self._state.products[sku] = replace(
                p,
                available=p.available + available,
                reserved=p.reserved + reserved,
                sold=p.sold + sold,
                version=p.version + 1,
            )

    async def overdue_reservations(self, *, older_than: datetime, limit: int) -> list[str]:
        return self._in_status(Status.RESERVED, older_than, limit)

    async def unrefunded_cancellations(self, *, older_than: datetime, limit: int) -> list[str]:
        return self._in_status(Status.CANCELLED, older_than, limit)

    def stage_event(self, event: Envelope) -> None:  # type: ignore[type-arg]
        self._staged.append(event)

    def _in_status(self, status: Status, older_than: datetime, limit: int) -> list[str]:
        found = [
            o
            for o in self._state.orders.values()
            if o.status is status and o.changed_at is not None and o.changed_at < older_than
        ]
        found.sort(key=lambda o: o.changed_at or older_than)
        return [o.checkout_id for o in found[:limit]]

    def _view(self, order: Order) -> OrderView:
        return OrderView(
            order_id=order.order_id,
            checkout_id=order.checkout_id,
            buyer_id=order.buyer_id,
            room_id=order.room_id,
            seller_id=order.seller_id,
            status=order.status.value,
            reason=order.reason,
            detail=order.detail,
            total_minor=order.total_minor,
            currency=order.currency,
            items=sorted((li.sku, li.quantity, li.unit_price_minor) for li in order.lines),
            tracking_ref=order.tracking_ref,
            created_at=self._state.created[order.checkout_id],
            updated_at=order.changed_at or self._state.created[order.checkout_id],
        )


def _stored(order: Order, now: datetime) -> Order:
    stored = copy.deepcopy(order)
    stored.changes, stored.changed_at = [], now
    return stored


class FakeStore:
    """The fake database; calling it opens a unit of work (a `UnitOfWorkFactory`)."""

    def __init__(self) -> None:
        self.state = FakeState()

    def __call__(self) -> FakeUnitOfWork:
        return FakeUnitOfWork(self)

    def add_product(
        self,
        sku: str,
        available: int,
        *,
        price_minor: int = 1000,
        seller_id: str | None = "seller-1",
        currency: str = "EUR",
    ) -> None:
        self.state.products[sku] = ProductView(
            sku, seller_id, sku, price_minor, currency, None, available, 0, 0, version=0
        )

    def stock(self, sku: str) -> tuple[int, int, int]:
        """(available, reserved, sold) as committed."""
        p = self.state.products[sku]
        return p.available, p.reserved, p.sold


@dataclass
class FakeGateway(PaymentGateway):
    """A payment gateway that captures unless told: `declined` buyers are refused,
    `slow` ones get no immediate batch answer and then time out."""

    declined: set[str] = field(default_factory=set)
    slow: set[str] = field(default_factory=set)
    results: dict[str, PaymentResult] = field(default_factory=dict)
    refunded: list[str] = field(default_factory=list)
    while_charging: Callable[[], Awaitable[None]] | None = None  # runs before it answers

    async def charge(self, charge: Charge) -> PaymentResult:
        if self.while_charging is not None:
            await self.while_charging()
        if charge.checkout_id not in self.results:
            if charge.buyer_id in self.slow:
                raise PaymentTimeout(charge.checkout_id)
            self.results[charge.checkout_id] = self._answer(charge)
        return self.results[charge.checkout_id]

    async def charge_many(self, charges: Sequence[Charge]) -> dict[str, PaymentResult | None]:
        return {
            c.checkout_id: None if c.buyer_id in self.slow else await self.charge(c)
            for c in charges
        }

    async def refund(self, checkout_id: str) -> None:
        result = self.results.get(checkout_id)
        if result is not None and result.captured and checkout_id not in self.refunded:
            self.refunded.append(checkout_id)

    def _answer(self, charge: Charge) -> PaymentResult:
        if charge.buyer_id in self.declined:
            return PaymentResult(False, "declined")
        return PaymentResult(True)
