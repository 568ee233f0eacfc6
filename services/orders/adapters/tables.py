"""SQLModel tables of the marketplace. They never leave this package: the repository
turns rows into domain objects, and the outbox holds contract events as JSON text."""

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Integer, LargeBinary, Text
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
    seller_id: str | None = Field(
        default=None, index=True, max_length=64, description="The seller who sells it."
    )
    image_url: str | None = Field(default=None, max_length=500)


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
    # Last, where migration 0002 added them: a migrated table and a created one are alike.
    seller_id: str | None = Field(default=None, index=True, max_length=64)
    tracking_ref: str | None = Field(default=None, max_length=100)


class OrderLineRow(OrdersTable, table=True):
    __tablename__ = "order_lines"

    order_id: str = Field(primary_key=True, foreign_key="orders.order_id", max_length=64)
    sku: str = Field(primary_key=True, max_length=64)
    quantity: int
    unit_price_minor: int
    deal_id: str | None = Field(
        default=None, index=True, max_length=64, description="The flash deal it was priced by."
    )


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


class FlashDealRow(OrdersTable, table=True):
    """A flash deal a seller started in a room; the marketplace enforces it at checkout."""

    __tablename__ = "flash_deals"

    deal_id: str = Field(primary_key=True, max_length=64)
    seller_id: str = Field(index=True, max_length=64)
    room_id: str = Field(index=True, max_length=64)
    sku: str = Field(index=True, max_length=64)
    price_minor: int = Field(ge=0)
    units_cap: int = Field(ge=1)
    per_buyer_limit: int = Field(ge=1)
    starts_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    ends_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=True)
    )
    updated_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class SellerAccountRow(OrdersTable, table=True):
    """A seller's marketplace account; the password is stored as an Argon2id hash only."""

    __tablename__ = "seller_accounts"

    seller_id: str = Field(primary_key=True, max_length=64)
    email: str = Field(unique=True, max_length=254)
    name: str = Field(max_length=200)
    password_hash: str = Field(max_length=200)
    created_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(DateTime(timezone=True), nullable=False)
    )


class SellerSessionRow(OrdersTable, table=True):
    """A signed-in seller; the cookie holds the token, this row only its SHA-256."""

    __tablename__ = "seller_sessions"

    token_sha256: str = Field(primary_key=True, max_length=64)
    seller_id: str = Field(foreign_key="seller_accounts.seller_id", index=True, max_length=64)
    csrf_token: str = Field(max_length=64)
    expires_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class ProductImageRow(OrdersTable, table=True):
    """An image a seller uploaded, stored once by the SHA-256 of its bytes (the same image
    twice is one row) and served by every replica at /media/products/<sha256>.<ext>."""

    __tablename__ = "product_images"

    sha256: str = Field(primary_key=True, max_length=64)
    content_type: str = Field(max_length=32)
    size: int = Field(ge=0)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(
        default_factory=utc_now, sa_column=Column(DateTime(timezone=True), nullable=False)
    )
