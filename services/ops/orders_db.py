"""What ops read from the marketplace's database, read-only: orders, their lines and payments.

Ops declare only the columns they read (SQLAlchemy Core), rather than importing the
orders service's table classes: tables stay home, and ops depend on names, not code.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Integer, String, column, select, table
from sqlalchemy.ext.asyncio import AsyncConnection

from services.common.times import as_utc

orders = table(
    "orders",
    column("order_id", String),
    column("checkout_id", String),
    column("buyer_id", String),
    column("room_id", String),
    column("status", String),
    column("sequence", Integer),
    column("reason", String),
    column("detail", String),
    column("total_minor", Integer),
    column("currency", String),
    column("created_at", DateTime(timezone=True)),
    column("updated_at", DateTime(timezone=True)),
)
order_lines = table(
    "order_lines",
    column("order_id", String),
    column("sku", String),
    column("quantity", Integer),
    column("unit_price_minor", Integer),
)
payments = table(
    "payments",
    column("checkout_id", String),
    column("buyer_id", String),
    column("amount_minor", Integer),
    column("currency", String),
    column("outcome", String),
    column("detail", String),
    column("created_at", DateTime(timezone=True)),
)

CAPTURED = "captured"
REFUNDED = "refunded"


@dataclass(frozen=True)
class OrderRecord:
    """One checkout's rows in the marketplace: the order, its lines, its payment."""

    order: dict[str, Any]
    lines: list[dict[str, Any]]
    payment: dict[str, Any] | None


@dataclass(frozen=True)
class OrderSummary:
    checkout_id: str
    order_id: str
    status: str
    created_at: datetime
    updated_at: datetime


def _row(mapping: Any) -> dict[str, Any]:
    return {k: as_utc(v) if isinstance(v, datetime) else v for k, v in dict(mapping).items()}


async def order_record(conn: AsyncConnection, checkout_id: str) -> OrderRecord | None:
    found = (await conn.execute(select(orders).where(orders.c.checkout_id == checkout_id))).first()
    if found is None:
        return None
    order = _row(found._mapping)
    lines = (
        await conn.execute(
            select(order_lines)
            .where(order_lines.c.order_id == order["order_id"])
            .order_by(order_lines.c.sku)
        )
    ).all()
    payment = (
        await conn.execute(select(payments).where(payments.c.checkout_id == checkout_id))
    ).first()
    return OrderRecord(
        order=order,
        lines=[_row(line._mapping) for line in lines],
        payment=_row(payment._mapping) if payment is not None else None,
    )


async def order_summaries(conn: AsyncConnection) -> list[OrderSummary]:
    """Every order, by checkout id (the reconciliation needs them all)."""
    query = select(
        orders.c.checkout_id,
        orders.c.order_id,
        orders.c.status,
        orders.c.created_at,
        orders.c.updated_at,
    )
    return [
        OrderSummary(row[0], row[1], row[2], as_utc(row[3]), as_utc(row[4]))
        for row in (await conn.execute(query)).all()
    ]


async def payment_outcomes(conn: AsyncConnection) -> dict[str, str]:
    """Each payment's outcome (`captured`, `declined`, `refunded`) by checkout id."""
    query = select(payments.c.checkout_id, payments.c.outcome)
    return {row[0]: row[1] for row in (await conn.execute(query)).all()}
