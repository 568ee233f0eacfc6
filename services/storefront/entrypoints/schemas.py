"""The JSON the storefront's HTTP API reads and writes."""

from typing import Literal

from pydantic import BaseModel, Field

from contracts.events import MAX_ITEMS_PER_CHECKOUT, MAX_QUANTITY_PER_ITEM, Identifier, Sku
from services.storefront.domain import CheckoutRequest, RequestedItem, Room


class CheckoutItemIn(BaseModel):
    sku: Sku = Field(description="A product pinned in the room.")
    quantity: int = Field(
        ge=1, le=MAX_QUANTITY_PER_ITEM, description="Units wanted, up to the product's cap."
    )


class CheckoutIn(BaseModel):
    """A buyer's tap on buy: what they want from which room."""

    room_id: Identifier
    buyer_id: Identifier = Field(description="Generated once by the browser and kept there.")
    items: list[CheckoutItemIn] = Field(min_length=1, max_length=MAX_ITEMS_PER_CHECKOUT)
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Send the same key again when retrying: the same checkout id comes back.",
    )

    def to_domain(self) -> CheckoutRequest:
        return CheckoutRequest(
            room_id=self.room_id,
            buyer_id=self.buyer_id,
            items=tuple(RequestedItem(sku=i.sku, quantity=i.quantity) for i in self.items),
            idempotency_key=self.idempotency_key,
        )


class CheckoutAccepted(BaseModel):
    """The checkout is durably in the stream; follow it at `events_url` (Server-Sent Events)."""

    checkout_id: str
    status: Literal["accepted"] = "accepted"
    events_url: str


class SellerOut(BaseModel):
    seller_id: str
    name: str


class ProductOut(BaseModel):
    sku: str
    title: str
    price: str = Field(description='Decimal string in major units, e.g. "49.90".')
    currency: str
    max_per_checkout: int


class RoomOut(BaseModel):
    """A live room as the page shows it."""

    room_id: str
    title: str
    seller: SellerOut
    products: list[ProductOut]

    @classmethod
    def of(cls, room: Room) -> "RoomOut":
        return cls(
            room_id=room.room_id,
            title=room.title,
            seller=SellerOut(seller_id=room.seller_id, name=room.seller_name),
            products=[
                ProductOut(
                    sku=p.sku,
                    title=p.title,
                    price=p.price,
                    currency=p.currency,
                    max_per_checkout=p.max_per_checkout,
                )
                for p in room.products
            ],
        )


class ErrorOut(BaseModel):
    detail: str
