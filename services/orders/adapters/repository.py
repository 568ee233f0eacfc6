"""The SQL unit of work: orders, stock and outbox in one database transaction."""

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Self

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlmodel import col, select

from contracts import Envelope, OrderStatusChangedEvent, Streams, utc_now
from services.common.metrics import ORDER_TRANSITIONS
from services.orders.adapters.tables import OrderLineRow, OrderRow, OutboxRow, ProductRow
from services.orders.domain import Line, Order, Product, Reason, Status
from services.orders.ports import ConcurrentUpdate, DuplicateCheckout


class SqlUnitOfWork:
    """One transaction. Leaving the block without `commit()` rolls everything back."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, streams: Streams) -> None:
        self._sessions = sessions
        self._streams = streams
        self.committed = False
        self._transitions: list[tuple[str, str | None]] = []

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
        await self.session.commit()
        self.committed = True
        for status, reason in self._transitions:
            ORDER_TRANSITIONS.labels(status, reason or "").inc()
        self._transitions.clear()

    async def rollback(self) -> None:
        await self.session.rollback()

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

    async def add_order(self, order: Order) -> None:
        self.session.add(
            OrderRow(
                order_id=order.order_id,
                checkout_id=order.checkout_id,
                buyer_id=order.buyer_id,
                room_id=order.room_id,
                status=order.status.value,
                sequence=order.sequence,
                reason=order.reason,
                detail=order.detail,
                total_minor=order.total_minor,
                currency=order.currency,
                requested_at=order.requested_at,
            )
        )
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise DuplicateCheckout(order.checkout_id) from exc
        self.session.add_all(
            OrderLineRow(
                order_id=order.order_id,
                sku=li.sku,
                quantity=li.quantity,
                unit_price_minor=li.unit_price_minor,
            )
            for li in order.lines
        )

    async def save_order(self, order: Order, *, loaded_sequence: int) -> None:
        result = await self.session.execute(
            update(OrderRow)
            .where(
                col(OrderRow.order_id) == order.order_id, col(OrderRow.sequence) == loaded_sequence
            )
            .values(
                status=order.status.value,
                sequence=order.sequence,
                reason=order.reason,
                detail=order.detail,
                updated_at=utc_now(),
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdate(order.checkout_id)

    async def products(self, skus: Sequence[str]) -> dict[str, Product]:
        rows = await self.session.execute(
            select(ProductRow.sku, ProductRow.price_minor, ProductRow.currency).where(
                ProductRow.sku.in_(set(skus))  # type: ignore[attr-defined]
            )
        )
        return {sku: Product(sku, price, currency) for sku, price, currency in rows}

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
                await self.release_stock(done)
                return False
            done.append(line)
        return True

    async def release_stock(self, lines: Sequence[Line]) -> None:
        for line in sorted(lines, key=lambda li: li.sku):
            await self.session.execute(
                update(ProductRow)
                .where(col(ProductRow.sku) == line.sku)
                .values(
                    available=ProductRow.available + line.quantity,
                    reserved=ProductRow.reserved - line.quantity,
                    version=ProductRow.version + 1,
                )
            )

    async def complete_sale(self, lines: Sequence[Line]) -> None:
        for line in sorted(lines, key=lambda li: li.sku):
            await self.session.execute(
                update(ProductRow)
                .where(col(ProductRow.sku) == line.sku)
                .values(
                    reserved=ProductRow.reserved - line.quantity,
                    sold=ProductRow.sold + line.quantity,
                    version=ProductRow.version + 1,
                )
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

    def stage_event(self, event: Envelope) -> None:  # type: ignore[type-arg]
        history = None
        if isinstance(event, OrderStatusChangedEvent):
            history = self._streams.buyer_status(event.data.buyer_id)
            self._transitions.append((event.data.status.value, event.data.reason))
        self.session.add(
            OutboxRow(
                event_id=event.event_id,
                stream=self._streams.order_status,
                history_stream=history,
                checkout_id=event.correlation_id,
                payload=event.model_dump_json(),
            )
        )


def unit_of_work_factory(engine: AsyncEngine, *, streams: Streams) -> Callable[[], SqlUnitOfWork]:
    """A factory the service layer calls once per transaction."""
    sessions = async_sessionmaker(engine, expire_on_commit=False, autobegin=False)
    return lambda: SqlUnitOfWork(sessions, streams=streams)


def _as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; every time stored here is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
