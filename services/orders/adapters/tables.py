"""SQLModel tables of the marketplace. They never leave this package: the repository
turns rows into domain objects, and the outbox holds contract events as JSON text."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Integer, Text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from contracts import utc_now


class OrdersTable(SQLModel, registry=registry()):
    """Base of the marketplace's tables: their own metadata, apart from any other service."""


class ProductRow(OrdersTable, table=True):
    __tablename__ = "products"

    sku: str = Field(primary_key=True, max_length=64)
    title: str = Field(max_length=200)
    price_minor: int = Field(ge=0)
    currency: str = Field(max_length=3)
    available: int = Field(ge=0, description="Units that can still be reserved.")
    reserved: int = Field(default=0, ge=0, description="Units held by unfinished orders.")
    sold: int = Field(default=0, ge=0, description="Units of confirmed orders.")
    version: int = Field(default=0, ge=0, description="Grows with every stock change.")


class OrderRow(OrdersTable, table=True):
    __tablename__ = "orders"

    order_id: str = Field(primary_key=True, max_length=64)
    checkout_id: str = Field(unique=True, max_length=64)
    buyer_id: str = Field(index=True, max_length=64)
    room_id: str = Field(max_length=64, index=True)
    status: str = Field(max_length=16, index=True)
    sequence: int
    reason: str | None = Field(default=None, max_length=32)
    detail: str | None = Field(default=None, max_length=200)
    total_minor: int
    currency: str = Field(max_length=3)
    requested_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    created_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class OrderLineRow(OrdersTable, table=True):
    __tablename__ = "order_lines"

    order_id: str = Field(primary_key=True, foreign_key="orders.order_id", max_length=64)
    sku: str = Field(primary_key=True, max_length=64)
    quantity: int
    unit_price_minor: int


class PaymentRow(OrdersTable, table=True):
    """One charge attempt per checkout; the checkout id makes a charge idempotent."""

    __tablename__ = "payments"

    checkout_id: str = Field(primary_key=True, max_length=64)
    buyer_id: str = Field(max_length=64)
    amount_minor: int
    currency: str = Field(max_length=3)
    outcome: str = Field(max_length=16, description="captured | declined | refunded")
    detail: str | None = Field(default=None, max_length=64)
    created_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class SandboxWalletRow(OrdersTable, table=True):
    """The sandbox payment adapter's wallets; `behaviour` lets tests force a decline or timeout."""

    __tablename__ = "sandbox_wallets"

    buyer_id: str = Field(primary_key=True, max_length=64)
    balance_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    behaviour: str = Field(default="normal", max_length=16)


class OutboxRow(OrdersTable, table=True):
    """Events staged in the same transaction as the change that caused them."""

    __tablename__ = "outbox"

    id: int | None = Field(
        default=None, sa_column=Column(Integer, primary_key=True, autoincrement=True)
    )
    event_id: str = Field(unique=True, max_length=64)
    stream: str = Field(max_length=200)
    history_stream: str | None = Field(
        default=None, max_length=200, description="A capped per-buyer copy, for resuming."
    )
    checkout_id: str = Field(max_length=64)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
    sent_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True, index=True)
    )
