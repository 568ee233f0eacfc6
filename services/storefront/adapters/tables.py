"""The storefront's own tables: sellers, live rooms and the products pinned in them.

They live in a registry of their own so their metadata never mixes with another
service's tables. By design there is no order, payment or stock table or column:
the storefront keeps a showcase copy (title, price, per-checkout cap) and nothing of record.
"""

from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel


class StorefrontTable(SQLModel, registry=registry()):
    """Base of every storefront table; `StorefrontTable.metadata` holds exactly them."""


class SellerRow(StorefrontTable, table=True):
    __tablename__ = "sellers"

    seller_id: str = Field(primary_key=True, max_length=64)
    name: str = Field(max_length=200)


class RoomRow(StorefrontTable, table=True):
    __tablename__ = "rooms"

    room_id: str = Field(primary_key=True, max_length=64)
    seller_id: str = Field(foreign_key="sellers.seller_id", index=True, max_length=64)
    title: str = Field(max_length=200)


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


storefront_metadata = StorefrontTable.metadata
