"""Versioned event payloads and the envelopes that carry them."""

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

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
    items: list[CheckoutItem] = Field(
        default_factory=list,
        max_length=MAX_ITEMS_PER_CHECKOUT,
        description="What the order holds (empty from producers older than this field).",
    )
    requested_at: AwareDatetime | None = Field(
        default=None, description="When the buyer tapped buy (the checkout's occurred_at)."
    )

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class ProductSnapshot(_Payload):
    """A product as the marketplace holds it right now."""

    sku: Sku = Field(description="Stock-keeping unit.")
    title: str = Field(max_length=200, description="Product title.")
    price_minor: int = Field(ge=0, description="Unit price in minor units.")
    currency: str = Field(min_length=3, max_length=3, description="ISO 4217 currency code.")
    available: int = Field(ge=0, description="Units that can still be bought.")
    sold: int = Field(ge=0, description="Units of confirmed orders.")
    version: int = Field(
        ge=0, description="Grows with every stock change; readers keep the highest per sku."
    )


class CatalogChanged(_Payload):
    """v1: the current state of products whose stock or details changed (coalesced)."""

    products: list[ProductSnapshot] = Field(min_length=1, max_length=1000)


class RoomSales(_Payload):
    """v1: a live room's sales so far, as the marketplace counts them (coalesced)."""

    room_id: Identifier = Field(description="The live room.")
    checkouts: int = Field(ge=0, description="Checkouts received from this room.")
    confirmed: int = Field(ge=0, description="Orders confirmed.")
    rejected: dict[str, int] = Field(
        default_factory=dict, description="Rejected orders by reason (`out_of_stock`, ...)."
    )
    expired: int = Field(ge=0, description="Reservations that expired unpaid.")
    units_sold: dict[str, int] = Field(default_factory=dict, description="Units by sku.")
    revenue_minor: dict[str, int] = Field(
        default_factory=dict, description="Confirmed revenue by currency, minor units."
    )


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


class CatalogChangedEvent(Envelope[CatalogChanged]):
    """`catalog.changed` v1 on the wire."""

    TYPE = "catalog.changed"
    VERSION = 1
    type: Literal["catalog.changed"]
    version: Literal[1]


class RoomSalesChangedEvent(Envelope[RoomSales]):
    """`room.sales_changed` v1 on the wire; `correlation_id` is the room id."""

    TYPE = "room.sales_changed"
    VERSION = 1
    type: Literal["room.sales_changed"]
    version: Literal[1]
