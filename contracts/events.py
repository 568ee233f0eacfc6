"""Versioned event payloads and the envelopes that carry them."""

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from contracts.envelope import Envelope

Identifier = Annotated[
    str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
]
Sku = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]

MAX_ITEMS_PER_CHECKOUT = 20
MAX_QUANTITY_PER_ITEM = 100


class OrderStatus(StrEnum):
    """States of the marketplace's order state machine."""

    RECEIVED = "received"
    RESERVED = "reserved"
    PAID = "paid"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    EXPIRED = "expired"


FINAL_STATUSES = frozenset({OrderStatus.CONFIRMED, OrderStatus.REJECTED, OrderStatus.EXPIRED})


class RejectionReason(StrEnum):
    """Why an order was rejected."""

    OUT_OF_STOCK = "out_of_stock"
    INVALID = "invalid"
    PAYMENT_FAILED = "payment_failed"


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class CheckoutItem(_Payload):
    sku: Sku = Field(description="The product's stock-keeping unit, as pinned in the room.")
    quantity: int = Field(
        ge=1, le=MAX_QUANTITY_PER_ITEM, description="Units wanted (the room may cap it lower)."
    )


class CheckoutRequested(_Payload):
    """v1: a buyer tapped buy in a live room; the storefront accepted it (202)."""

    checkout_id: Identifier = Field(
        description="Unique id of this checkout; the marketplace's idempotency key."
    )
    room_id: Identifier = Field(description="The live room the buyer tapped in.")
    buyer_id: Identifier = Field(description="The buyer, as the storefront knows them.")
    items: list[CheckoutItem] = Field(
        min_length=1, max_length=MAX_ITEMS_PER_CHECKOUT, description="What the buyer wants."
    )
    idempotency_key: str | None = Field(
        default=None, max_length=128, description="The buyer's own retry key, if they sent one."
    )


class OrderStatusChanged(_Payload):
    """v1: one transition of an order's state machine in the marketplace."""

    checkout_id: Identifier = Field(description="The checkout this order was created from.")
    order_id: Identifier = Field(description="The marketplace's order id.")
    buyer_id: Identifier = Field(description="The buyer the order belongs to.")
    room_id: Identifier = Field(description="The live room the checkout came from.")
    status: OrderStatus = Field(description="The state the order entered.")
    previous_status: OrderStatus | None = Field(
        default=None, description="The state it left; null for the first status."
    )
    sequence: int = Field(ge=1, description="1 for the first status of an order, then +1 each.")
    reason: RejectionReason | None = Field(
        default=None, description="Set when `status` is `rejected`."
    )
    detail: str | None = Field(
        default=None, max_length=200, description="Human-readable detail, e.g. `declined`."
    )
    total_minor: int = Field(ge=0, description="Order total in minor units (cents).")
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217 currency code.")

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class CheckoutRequestedEvent(Envelope[CheckoutRequested]):
    """`checkout.requested` v1 on the wire."""

    TYPE = "checkout.requested"
    VERSION = 1
    type: Literal["checkout.requested"]
    version: Literal[1]


class OrderStatusChangedEvent(Envelope[OrderStatusChanged]):
    """`order.status_changed` v1 on the wire."""

    TYPE = "order.status_changed"
    VERSION = 1
    type: Literal["order.status_changed"]
    version: Literal[1]
