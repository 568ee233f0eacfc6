"""The storefront's own tables: sellers and their sign-in, live rooms, the products pinned
in them, the sellers' showcase catalog, flash deals asked for, and the figures of a live.

They live in a registry of their own so their metadata never mixes with another
service's tables. By design there is no order, payment or stock table or column:
the storefront keeps a showcase copy (title, price, image, per-checkout cap) and nothing
of record; the marketplace's room figures are kept only as the report shows them.
"""

from datetime import datetime

from sqlalchemy import Column, DateTime, Text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from contracts import utc_now


class StorefrontTable(SQLModel, registry=registry()):
    """Base of every storefront table; `StorefrontTable.metadata` holds exactly them."""


def _moment(*, nullable: bool) -> Column[datetime]:
    # Stored in UTC; SQLite hands it back naive (repositories make it aware again).
    return Column(DateTime(timezone=True), nullable=nullable)


class SellerRow(StorefrontTable, table=True):
    """A room host's public profile (the name viewers see)."""

    __tablename__ = "sellers"

    seller_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)


class SellerAccountRow(StorefrontTable, table=True):
    """A seller's storefront sign-in; the password is stored as an Argon2id hash only."""

    __tablename__ = "seller_accounts"

    seller_id: str = Field(foreign_key="sellers.seller_id", primary_key=True, max_length=64)
    email: str = Field(unique=True, max_length=254, description="Lower-case.")
    name: str = Field(max_length=200)
    password_hash: str = Field(max_length=200)
    created_at: datetime = Field(default_factory=utc_now, sa_column=_moment(nullable=False))


class SellerSessionRow(StorefrontTable, table=True):
    """A signed-in seller; the cookie holds the token, this row only its SHA-256."""

    __tablename__ = "seller_sessions"

    token_sha256: str = Field(primary_key=True, max_length=64)
    seller_id: str = Field(foreign_key="seller_accounts.seller_id", index=True, max_length=64)
    csrf_token: str = Field(max_length=64)
    expires_at: datetime = Field(sa_column=_moment(nullable=False))


class RoomRow(StorefrontTable, table=True):
    __tablename__ = "rooms"

    room_id: str = Field(primary_key=True, max_length=64)
    seller_id: str = Field(foreign_key="sellers.seller_id", index=True, max_length=64)
    title: str = Field(max_length=200)
    live_state: str = Field(default="scheduled", max_length=16, description="scheduled|live|ended")
    scheduled_at: datetime | None = Field(default=None, sa_column=_moment(nullable=True))
    stream_url: str | None = Field(default=None, max_length=500, description="https:// only.")
    went_live_at: datetime | None = Field(default=None, sa_column=_moment(nullable=True))
    ended_at: datetime | None = Field(default=None, sa_column=_moment(nullable=True))


class PinnedProductRow(StorefrontTable, table=True):
    """A showcase copy of a marketplace product, as pinned in one room."""

    __tablename__ = "pinned_products"

    room_id: str = Field(foreign_key="rooms.room_id", primary_key=True, max_length=64)
    sku: str = Field(primary_key=True, max_length=64)
    title: str = Field(max_length=200)
    price_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)
    max_per_checkout: int = Field(ge=1)
    position: int = Field(default=0, description="Display position in the room, 0 first.")
    image_url: str | None = Field(default=None, max_length=500)


class CatalogProductRow(StorefrontTable, table=True):
    """A seller's product as `catalog.changed` v2 last described it: what can be pinned.
    Title, price and image only, never stock."""

    __tablename__ = "catalog_products"

    sku: str = Field(primary_key=True, max_length=64)
    seller_id: str = Field(index=True, max_length=64)
    title: str = Field(max_length=200)
    price_minor: int = Field(ge=0)
    currency: str = Field(min_length=3, max_length=3)
    image_url: str | None = Field(default=None, max_length=500)
    version: int = Field(default=0, description="The snapshot version these details came with.")


class RoomDealRow(StorefrontTable, table=True):
    """A flash deal the seller asked for in a room (the marketplace enforces it)."""

    __tablename__ = "room_deals"

    deal_id: str = Field(primary_key=True, max_length=64)
    room_id: str = Field(foreign_key="rooms.room_id", index=True, max_length=64)
    sku: str = Field(max_length=64)
    price_minor: int = Field(ge=0)
    units_cap: int = Field(ge=1)
    per_buyer_limit: int = Field(ge=1)
    starts_at: datetime = Field(sa_column=_moment(nullable=False))
    ends_at: datetime | None = Field(default=None, sa_column=_moment(nullable=True))


class RoomViewerRow(StorefrontTable, table=True):
    """A buyer who opened the room's page while it was live (once per buyer)."""

    __tablename__ = "room_viewers"

    room_id: str = Field(primary_key=True, max_length=64)
    buyer_id: str = Field(primary_key=True, max_length=64)
    first_seen_at: datetime = Field(default_factory=utc_now, sa_column=_moment(nullable=False))


class RoomFiguresRow(StorefrontTable, table=True):
    """The latest `room.sales_changed` of a room, as the report shows it."""

    __tablename__ = "room_figures"

    room_id: str = Field(primary_key=True, max_length=64)
    figures: str = Field(sa_column=Column(Text, nullable=False), description="RoomSales JSON.")
    occurred_at: datetime = Field(sa_column=_moment(nullable=False))


storefront_metadata = StorefrontTable.metadata
