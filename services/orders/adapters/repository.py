"""The SQL unit of work: orders, stock and outbox in one database transaction."""

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime
from itertools import groupby
from types import TracebackType
from typing import Any, Self

from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col, select

from contracts import Envelope, OrderStatusChangedEvent, Streams, utc_now
from services.common.metrics import ORDER_TRANSITIONS
from services.orders.adapters.tables import OrderLineRow, OrderRow, OutboxRow, ProductRow
from services.orders.domain import Line, Order, Product, Reason, Status, units_by_sku
from services.orders.ports import DuplicateCheckout

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
            requested_at=_as_utc(row.requested_at),
            lines=[Line(li.sku, li.quantity, li.unit_price_minor) for li in lines],
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
            }
            for o in orders
            for li in o.lines
        ]
        if lines:
            await self.session.execute(insert(ORDER_LINES), lines)

    async def save_orders(self, orders: Sequence[Order], loaded: Mapping[str, int]) -> set[str]:
        """One conditional UPDATE per kind of change (orders moving alike share it)."""

        def change(o: Order) -> tuple[int, str, int, str, str]:
            return (
                loaded[o.checkout_id],
                o.status.value,
                o.sequence,
                o.reason or "",
                o.detail or "",
            )

        missed: set[str] = set()
        now = utc_now()
        for (was, status, sequence, reason, detail), alike in groupby(
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
                    updated_at=now,
                )
                .returning(col(OrderRow.order_id))
            )
            missed.update(by_id[order_id] for order_id in set(by_id) - set(saved))
        return missed

    async def products(self, skus: Collection[str]) -> dict[str, Product]:
        rows = await self.session.execute(
            select(ProductRow.sku, ProductRow.price_minor, ProductRow.currency).where(
                ProductRow.sku.in_(set(skus))  # type: ignore[attr-defined]
            )
        )
        return {sku: Product(sku, price, currency) for sku, price, currency in rows}

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

    async def change_stock(
        self,
        *,
        reserve: Mapping[str, int] | None = None,
        release: Mapping[str, int] | None = None,
        sell: Mapping[str, int] | None = None,
    ) -> None:
        deltas: dict[str, list[int]] = {}  # sku -> [available, reserved, sold]
        for units, moves in ((reserve, (-1, 1, 0)), (release, (1, -1, 0)), (sell, (0, -1, 1))):
            for sku, n in (units or {}).items():
                delta = deltas.setdefault(sku, [0, 0, 0])
                for i, sign in enumerate(moves):
                    delta[i] += sign * n
        if deltas:
            await self.session.execute(
                _MOVE_STOCK,
                [
                    {"b_sku": sku, "d_available": a, "d_reserved": r, "d_sold": s}
                    for sku, (a, r, s) in sorted(deltas.items())
                ],
            )

    async def reserve_stock(self, lines: Sequence[Line]) -> bool:
        """All lines or none, each by one conditional UPDATE (never read-then-write)."""
        done: list[Line] = []
        for line in sorted(lines, key=lambda li: li.sku):  # one lock order: no deadlocks
            result = await self.session.execute(
                update(ProductRow)
                .where(col(ProductRow.sku) == line.sku, col(ProductRow.available) >= line.quantity)
                .values(
                    available=ProductRow.available - line.quantity,
                    reserved=ProductRow.reserved + line.quantity,
                    version=ProductRow.version + 1,
                )
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                await self.change_stock(release=units_by_sku(done))
                return False
            done.append(line)
        return True

    async def overdue_reservations(self, *, older_than: datetime, limit: int) -> list[str]:
        rows = await self.session.scalars(
            select(OrderRow.checkout_id)
            .where(col(OrderRow.status) == Status.RESERVED.value)
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
        "requested_at": order.requested_at,
        "created_at": now,
        "updated_at": now,
    }


def _as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time stored here is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
