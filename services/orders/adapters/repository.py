"""The SQL unit of work: orders, stock and outbox in one database transaction."""

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime
from itertools import groupby
from types import TracebackType
from typing import Any, Self

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col, select

from contracts import Envelope, OrderStatusChangedEvent, Streams, utc_now
from services.common.times import as_utc
from services.orders.adapters.tables import (
    FlashDealRow,
    OrderLineRow,
    OrderRow,
    OutboxRow,
    ProductRow,
)
from services.orders.deals import Deal, DealUsage
from services.orders.domain import (
    HOLDING_STOCK,
    Line,
    Order,
    Product,
    ProductExists,
    Reason,
    Status,
    StockMove,
)
from services.orders.metrics import ORDER_TRANSITIONS
from services.orders.ports import DuplicateCheckout, OrderView, ProductView

PRODUCTS = ProductRow.__table__  # type: ignore[attr-defined]
ORDERS = OrderRow.__table__  # type: ignore[attr-defined]
ORDER_LINES = OrderLineRow.__table__  # type: ignore[attr-defined]
OUTBOX = OutboxRow.__table__  # type: ignore[attr-defined]

# One statement for a whole batch of stock moves (executemany of one UPDATE).
_MOVE_STOCK = (
    update(PRODUCTS)
    .where(PRODUCTS.c.sku == bindparam("b_sku"))
    .values(
        available=PRODUCTS.c.available + bindparam("d_available"),
        reserved=PRODUCTS.c.reserved + bindparam("d_reserved"),
        sold=PRODUCTS.c.sold + bindparam("d_sold"),
        version=PRODUCTS.c.version + 1,
    )
)


class SqlUnitOfWork:
    """One transaction. Leaving the block without `commit()` rolls everything back."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, streams: Streams) -> None:
        self._sessions = sessions
        self._streams = streams
        self.committed = False
        self._transitions: list[tuple[str, str | None]] = []
        self._staged: list[dict[str, Any]] = []

    async def __aenter__(self) -> Self:
        self.session = self._sessions()
        await self.session.begin()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if self.session.in_transaction():
                await self.session.rollback()
        finally:
            await self.session.close()

    async def commit(self) -> None:
        if self._staged:
            await self.session.execute(insert(OUTBOX), self._staged)
            self._staged.clear()
        await self.session.commit()
        self.committed = True
        for status, reason in self._transitions:
            ORDER_TRANSITIONS.labels(status, reason or "").inc()
        self._transitions.clear()

    async def rollback(self) -> None:
        await self.session.rollback()
        self._staged.clear()
        self._transitions.clear()

    async def get_order(self, checkout_id: str) -> Order | None:
        row = await self.session.scalar(
            select(OrderRow).where(col(OrderRow.checkout_id) == checkout_id)
        )
        if row is None:
            return None
        lines = await self.session.scalars(
            select(OrderLineRow).where(col(OrderLineRow.order_id) == row.order_id)
        )
        return Order(
            order_id=row.order_id,
            checkout_id=row.checkout_id,
            buyer_id=row.buyer_id,
            room_id=row.room_id,
            currency=row.currency,
            status=Status(row.status),
            sequence=row.sequence,
            reason=Reason(row.reason) if row.reason else None,
            detail=row.detail,
            requested_at=as_utc(row.requested_at),
            seller_id=row.seller_id,
            tracking_ref=row.tracking_ref,
            changed_at=as_utc(row.updated_at),
            lines=[Line(li.sku, li.quantity, li.unit_price_minor, li.deal_id) for li in lines],
        )

    async def existing_checkouts(self, checkout_ids: Collection[str]) -> set[str]:
        if not checkout_ids:
            return set()
        rows = await self.session.scalars(
            select(OrderRow.checkout_id).where(col(OrderRow.checkout_id).in_(set(checkout_ids)))
        )
        return set(rows)

    async def add_orders(self, orders: Sequence[Order]) -> None:
        """One INSERT for the orders and one for their lines, however many there are."""
        if not orders:
            return
        now = utc_now()
        try:
            await self.session.execute(insert(ORDERS), [_order_row(o, now) for o in orders])
        except IntegrityError as exc:
            raise DuplicateCheckout(", ".join(o.checkout_id for o in orders)[:200]) from exc
        lines = [
            {
                "order_id": o.order_id,
                "sku": li.sku,
                "quantity": li.quantity,
                "unit_price_minor": li.unit_price_minor,
                "deal_id": li.deal_id,
            }
            for o in orders
            for li in o.lines
        ]
        if lines:
            await self.session.execute(insert(ORDER_LINES), lines)

    async def save_orders(self, orders: Sequence[Order], loaded: Mapping[str, int]) -> set[str]:
        """One conditional UPDATE per kind of change (orders moving alike share it)."""

        def change(o: Order) -> tuple[int, str, int, str, str, str]:
            return (
                loaded[o.checkout_id],
                o.status.value,
                o.sequence,
                o.reason or "",
                o.detail or "",
                o.tracking_ref or "",
            )

        missed: set[str] = set()
        now = utc_now()
        for (was, status, sequence, reason, detail, tracking_ref), alike in groupby(
            sorted(orders, key=change), key=change
        ):
            by_id = {o.order_id: o.checkout_id for o in alike}
            saved = await self.session.scalars(
                update(OrderRow)
                .where(col(OrderRow.order_id).in_(by_id), col(OrderRow.sequence) == was)
                .values(
                    status=status,
                    sequence=sequence,
                    reason=reason or None,
                    detail=detail or None,
                    tracking_ref=tracking_ref or None,
                    updated_at=now,
                )
                .returning(col(OrderRow.order_id))
            )
            missed.update(by_id[order_id] for order_id in set(by_id) - set(saved))
        return missed

    async def products(self, skus: Collection[str]) -> dict[str, Product]:
        rows = await self.session.execute(
            select(
                ProductRow.sku, ProductRow.price_minor, ProductRow.currency, ProductRow.seller_id
            ).where(col(ProductRow.sku).in_(set(skus)))
        )
        return {sku: Product(sku, price, cur, seller) for sku, price, cur, seller in rows}

    async def product_view(self, sku: str) -> ProductView | None:
        # Fresh, not the session's copy: an UPDATE of this transaction may have changed it.
        row = await self.session.get(ProductRow, sku, populate_existing=True)
        return None if row is None else _product_view(row)

    async def seller_products(self, seller_id: str) -> list[ProductView]:
        rows = await self.session.scalars(
            select(ProductRow)
            .where(col(ProductRow.seller_id) == seller_id)
            .order_by(col(ProductRow.sku))
        )
        return [_product_view(row) for row in rows]

    async def add_product(self, product: ProductView) -> None:
        try:
            await self.session.execute(insert(PRODUCTS), [vars(product)])
        except IntegrityError as exc:  # the transaction is spoilt; the caller gives up
            raise ProductExists(f"product {product.sku} exists") from exc

    async def update_product(
        self, sku: str, *, title: str | None, price_minor: int | None, image_url: str | None
    ) -> None:
        values: dict[str, Any] = {"version": PRODUCTS.c.version + 1}
        if title is not None:
            values["title"] = title
        if price_minor is not None:
            values["price_minor"] = price_minor
        if image_url is not None:
            values["image_url"] = image_url
        await self.session.execute(update(PRODUCTS).where(PRODUCTS.c.sku == sku).values(values))

    async def set_available(self, sku: str, units: int) -> None:
        await self.session.execute(
            update(PRODUCTS)
            .where(PRODUCTS.c.sku == sku)
            .values(available=units, version=PRODUCTS.c.version + 1)
        )

    async def order_view(self, order_id: str) -> OrderView | None:
        row = await self.session.get(OrderRow, order_id, populate_existing=True)
        return None if row is None else (await self._order_views([row]))[0]

    async def seller_orders(
        self, seller_id: str, *, status: str | None, limit: int
    ) -> list[OrderView]:
        query = select(OrderRow).where(col(OrderRow.seller_id) == seller_id)
        if status is not None:
            query = query.where(col(OrderRow.status) == status)
        rows = await self.session.scalars(
            query.order_by(col(OrderRow.created_at).desc(), col(OrderRow.order_id).desc()).limit(
                limit
            )
        )
        return await self._order_views(list(rows))

    async def _order_views(self, rows: Sequence[OrderRow]) -> list[OrderView]:
        """Views of `rows` with their lines, read in one statement."""
        items: dict[str, list[tuple[str, int, int]]] = {row.order_id: [] for row in rows}
        if items:
            lines = await self.session.execute(
                select(
                    OrderLineRow.order_id,
                    OrderLineRow.sku,
                    OrderLineRow.quantity,
                    OrderLineRow.unit_price_minor,
                )
                .where(col(OrderLineRow.order_id).in_(items))
                .order_by(col(OrderLineRow.sku))
            )
            for order_id, sku, quantity, price in lines:
                items[order_id].append((sku, quantity, price))
        return [_order_view(row, items[row.order_id]) for row in rows]

    async def flash_deals(self, skus: Collection[str], *, not_ended_at: datetime) -> list[Deal]:
        return await flash_deals(self.session, skus, not_ended_at=not_ended_at)

    async def deal_usage(self, deal_ids: Collection[str]) -> DealUsage:
        return await deal_usage(self.session, deal_ids)

    async def upsert_deal(self, deal: Deal) -> None:
        row = await self.session.get(FlashDealRow, deal.deal_id)
        if row is None:
            self.session.add(FlashDealRow(**_deal_values(deal)))
        else:
            for name, value in _deal_values(deal).items():
                setattr(row, name, value)
            row.updated_at = utc_now()
        # The deal travels in the product's snapshot, and readers keep the highest
        # version per sku: a deal started, changed or ended is a new version of it.
        await self.session.execute(
            update(ProductRow)
            .where(col(ProductRow.sku) == deal.sku)
            .values(version=ProductRow.version + 1)
        )
        await self.session.flush()

    async def lock_stock(self, skus: Collection[str]) -> dict[str, int]:
        if not skus:
            return {}
        rows = await self.session.execute(
            select(ProductRow.sku, ProductRow.available)
            .where(col(ProductRow.sku).in_(sorted(set(skus))))
            .order_by(col(ProductRow.sku))  # one lock order: no deadlocks between replicas
            .with_for_update()  # SQLite: the transaction began IMMEDIATE, the file is locked
        )
        return {sku: int(available) for sku, available in rows}

    async def move_stock(self, move: StockMove) -> None:
        deltas = move.deltas()
        if deltas:
            await self.session.execute(
                _MOVE_STOCK,
                [
                    {"b_sku": sku, "d_available": a, "d_reserved": r, "d_sold": s}
                    for sku, (a, r, s) in deltas.items()
                ],
            )

    async def overdue_reservations(self, *, older_than: datetime, limit: int) -> list[str]:
        rows = await self.session.scalars(
            select(OrderRow.checkout_id)
            .where(col(OrderRow.status) == Status.RESERVED.value)
            .where(col(OrderRow.updated_at) < older_than)
            .order_by(col(OrderRow.updated_at))
            .limit(limit)
        )
        return list(rows)

    async def unrefunded_cancellations(self, *, older_than: datetime, limit: int) -> list[str]:
        rows = await self.session.scalars(
            select(OrderRow.checkout_id)
            .where(col(OrderRow.status) == Status.CANCELLED.value)
            .where(col(OrderRow.updated_at) < older_than)
            .order_by(col(OrderRow.updated_at))
            .limit(limit)
        )
        return list(rows)

    def stage_event(self, event: Envelope) -> None:  # type: ignore[type-arg]
        history = None
        if isinstance(event, OrderStatusChangedEvent):
            history = self._streams.buyer_status(event.data.buyer_id)
            self._transitions.append((event.data.status.value, event.data.reason))
        self._staged.append(
            {
                "event_id": event.event_id,
                "stream": self._streams.order_status,
                "history_stream": history,
                "checkout_id": event.correlation_id,
                "payload": event.model_dump_json(),
                "created_at": utc_now(),
            }
        )


async def flash_deals(
    session: AsyncSession, skus: Collection[str], *, not_ended_at: datetime
) -> list[Deal]:
    """Deals on `skus` that had not ended at `not_ended_at` (one statement)."""
    if not skus:
        return []
    ends = col(FlashDealRow.ends_at)
    rows = await session.scalars(
        select(FlashDealRow).where(
            col(FlashDealRow.sku).in_(set(skus)), ends.is_(None) | (ends > not_ended_at)
        )
    )
    return [_deal(row) for row in rows]


async def deal_usage(session: AsyncSession, deal_ids: Collection[str]) -> DealUsage:
    """Units of orders holding stock or sold in each deal, per deal and buyer (one statement)."""
    usage = DealUsage()
    if not deal_ids:
        return usage
    rows = await session.execute(
        select(OrderLineRow.deal_id, OrderRow.buyer_id, func.sum(OrderLineRow.quantity))
        .join(OrderRow, col(OrderRow.order_id) == col(OrderLineRow.order_id))
        .where(
            col(OrderLineRow.deal_id).in_(set(deal_ids)),
            col(OrderRow.status).in_([s.value for s in HOLDING_STOCK]),
        )
        .group_by(col(OrderLineRow.deal_id), col(OrderRow.buyer_id))
    )
    for deal_id, buyer_id, units in rows:
        usage.taken[deal_id] += int(units)
        usage.bought[deal_id, buyer_id] += int(units)
    return usage


def unit_of_work_factory(engine: AsyncEngine, *, streams: Streams) -> Callable[[], SqlUnitOfWork]:
    """A factory the service layer calls once per transaction."""
    sessions = async_sessionmaker(engine, expire_on_commit=False, autobegin=False)
    return lambda: SqlUnitOfWork(sessions, streams=streams)


def _order_row(order: Order, now: datetime) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "checkout_id": order.checkout_id,
        "buyer_id": order.buyer_id,
        "room_id": order.room_id,
        "status": order.status.value,
        "sequence": order.sequence,
        "reason": order.reason,
        "detail": order.detail,
        "total_minor": order.total_minor,
        "currency": order.currency,
        "seller_id": order.seller_id,
        "tracking_ref": order.tracking_ref,
        "requested_at": order.requested_at,
        "created_at": now,
        "updated_at": now,
    }


def _product_view(row: ProductRow) -> ProductView:
    return ProductView(
        sku=row.sku,
        seller_id=row.seller_id,
        title=row.title,
        price_minor=row.price_minor,
        currency=row.currency,
        image_url=row.image_url,
        available=row.available,
        reserved=row.reserved,
        sold=row.sold,
        version=row.version,
    )


def _order_view(row: OrderRow, items: list[tuple[str, int, int]]) -> OrderView:
    return OrderView(
        order_id=row.order_id,
        checkout_id=row.checkout_id,
        buyer_id=row.buyer_id,
        room_id=row.room_id,
        seller_id=row.seller_id,
        status=row.status,
        reason=row.reason,
        detail=row.detail,
        total_minor=row.total_minor,
        currency=row.currency,
        items=items,
        tracking_ref=row.tracking_ref,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
    )


def _deal(row: FlashDealRow) -> Deal:
    return Deal(
        deal_id=row.deal_id,
        seller_id=row.seller_id,
        room_id=row.room_id,
        sku=row.sku,
        price_minor=row.price_minor,
        units_cap=row.units_cap,
        per_buyer_limit=row.per_buyer_limit,
        starts_at=as_utc(row.starts_at),
        ends_at=as_utc(row.ends_at),
    )


def _deal_values(deal: Deal) -> dict[str, Any]:
    return {name: getattr(deal, name) for name in Deal.__dataclass_fields__}
