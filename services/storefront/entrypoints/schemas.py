"""The JSON the storefront's HTTP API reads and writes."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, field_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from contracts import DealSnapshot
from contracts.events import MAX_ITEMS_PER_CHECKOUT, MAX_QUANTITY_PER_ITEM, Identifier, Sku
from services.storefront.domain import CheckoutRequest, RequestedItem
from services.storefront.service import LiveRoom


class CheckoutItemIn(BaseModel):
    sku: Sku = Field(description="A product pinned in the room.")
    quantity: int = Field(
        ge=1, le=MAX_QUANTITY_PER_ITEM, description="Units wanted, up to the product's cap."
    )


class CheckoutIn(BaseModel):
    """A buyer's tap on buy: what they want from which room. Who is buying comes from
    the buyer token, never from the body."""

    room_id: Identifier
    items: list[CheckoutItemIn] = Field(min_length=1, max_length=MAX_ITEMS_PER_CHECKOUT)
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Send the same key again when retrying: the same checkout id comes back.",
    )
    # Accepted only to be refused by name: silently ignoring it would let an old client
    # believe it chose the buyer.
    buyer_id: SkipJsonSchema[object] = Field(default=None, exclude=True)

    @field_validator("buyer_id", mode="before")
    @classmethod
    def _buyer_comes_from_the_token(cls, _value: object) -> None:
        raise PydanticCustomError(
            "buyer_from_token",
            "the buyer comes from the token (POST /api/sessions), not from the body",
        )

    def to_domain(self, *, buyer_id: str) -> CheckoutRequest:
        return CheckoutRequest(
            room_id=self.room_id,
            buyer_id=buyer_id,
            items=tuple(RequestedItem(sku=i.sku, quantity=i.quantity) for i in self.items),
            idempotency_key=self.idempotency_key,
        )


class CheckoutAccepted(BaseModel):
    """The checkout is durably in the stream; follow it at `events_url` (Server-Sent Events)."""

    checkout_id: str
    status: Literal["accepted"] = "accepted"
    events_url: str = Field(description="This checkout's statuses (SSE), token included.")
    buyer_events_url: str = Field(description="Every status of this buyer (SSE), token included.")


class SellerOut(BaseModel):
    seller_id: str
    name: str


class ProductOut(BaseModel):
    sku: str
    title: str
    price: str = Field(description='Decimal string in major units, e.g. "49.90".')
    currency: str
    max_per_checkout: int
    available: int | None = Field(
        description="Units left as the marketplace last announced; null while not known yet. "
        "A display hint: the marketplace decides when the order is placed."
    )
    image_url: str | None = Field(description="An https:// or /static/ image of it, if any.")
    deal: DealSnapshot | None = Field(
        description="The room's flash deal on it, running or counting down (`starts_at`), as "
        "the marketplace last announced it; null when none. The marketplace prices by it."
    )


class RoomOut(BaseModel):
    """A live room as the page shows it."""

    room_id: str
    title: str
    seller: SellerOut
    state: Literal["scheduled", "live", "ended"] = Field(
        description="Buying is open only while `live`."
    )
    stream_url: str | None = Field(description="The seller's stream (https://), if set.")
    scheduled_at: datetime | None = Field(description="When the live is planned, if set.")
    products: list[ProductOut]

    @classmethod
    def of(cls, live: LiveRoom) -> "RoomOut":
        room = live.room
        return cls(
            room_id=room.room_id,
            title=room.title,
            seller=SellerOut(seller_id=room.seller_id, name=room.seller_name),
            state=room.state.value,
            stream_url=room.stream_url,
            scheduled_at=room.scheduled_at,
            products=[
                ProductOut(
                    sku=p.sku,
                    title=p.title,
                    price=p.price,
                    currency=p.currency,
                    max_per_checkout=p.max_per_checkout,
                    available=live.available(p.sku),
                    image_url=live.image_url(p.sku),
                    deal=live.deal(p.sku),
                )
                for p in room.products
            ],
        )


class CancellationAccepted(BaseModel):
    """The cancel request is durably on its way; the marketplace decides (within its
    cancel window) and the order's new status arrives on the buyer's event stream."""

    checkout_id: str
    status: Literal["requested"] = "requested"


class ErrorOut(BaseModel):
    detail: str


class TokenErrorOut(ErrorOut):
    reason: Literal["missing", "expired", "invalid"] = Field(
        description="Why the token proves no buyer: `invalid` covers forged and malformed."
    )
