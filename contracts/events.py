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
MAX_PAYMENT_URL = 1000


class OrderStatus(StrEnum):
    """States of the marketplace's order state machine."""

    RECEIVED = "received"
    RESERVED = "reserved"
    PAID = "paid"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"
    SHIPPED = "shipped"


FINAL_STATUSES = frozenset({OrderStatus.CONFIRMED, OrderStatus.REJECTED, OrderStatus.EXPIRED})
"""Where a checkout's way through the marketplace ends (the buy either went through or
not). A confirmed order may still move on after the sale: `AFTER_SALE_STATUSES`."""

AFTER_SALE_STATUSES = frozenset({OrderStatus.CANCELLED, OrderStatus.REFUNDED, OrderStatus.SHIPPED})
"""v2: what happens to a confirmed order later: cancelled (by the seller, or by the
buyer within the cancel window; stock back), refunded (the money back), shipped."""


class RejectionReason(StrEnum):
    """Why an order was rejected."""

    OUT_OF_STOCK = "out_of_stock"
    INVALID = "invalid"
    PAYMENT_FAILED = "payment_failed"
    LIMIT_EXCEEDED = "limit_exceeded"


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
    seller_id: Identifier | None = Field(
        default=None, description="v2: the seller whose products the order holds."
    )
    tracking_ref: str | None = Field(
        default=None, max_length=100, description="v2: the carrier's reference, once shipped."
    )
    payment_url: str | None = Field(
        default=None,
        max_length=MAX_PAYMENT_URL,
        description="v2: on `reserved`, when the marketplace hosts the payment: its page "
        "where the buyer approves or declines, with a short-lived ticket in it. Only on "
        "the buyer's own stream; the storefront embeds it and never reads payment data.",
    )

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES


class DealSnapshot(_Payload):
    """v2: a flash deal on a product as the marketplace enforces it."""

    deal_id: Identifier = Field(description="The deal, as the storefront named it.")
    room_id: Identifier = Field(description="The live room whose checkouts get the deal.")
    price_minor: int = Field(ge=0, description="Deal price per unit, minor units.")
    units_cap: int = Field(ge=1, description="Units sold at the deal price at most.")
    units_taken: int = Field(ge=0, description="Units held or sold at the deal price so far.")
    per_buyer_limit: int = Field(ge=1, description="Units one buyer may get at the deal price.")
    starts_at: AwareDatetime = Field(description="When the deal price starts (countdown).")
    ends_at: AwareDatetime | None = Field(default=None, description="When it ends, if set.")


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
    seller_id: Identifier | None = Field(default=None, description="v2: the product's seller.")
    image_url: str | None = Field(
        default=None, max_length=500, description="v2: an https:// or /static/ image of it."
    )
    deal: DealSnapshot | None = Field(
        default=None, description="v2: the flash deal running or counting down, if any."
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
    revenue_minor_by_sku: dict[str, int] = Field(
        default_factory=dict,
        description="v2: confirmed revenue by sku, minor units (in the sku's currency).",
    )
    cancelled: int = Field(default=0, ge=0, description="v2: confirmed orders cancelled later.")


class FlashDealRequested(_Payload):
    """v1: a seller started (or changed, or ended) a flash deal in their live room. The
    marketplace checks the seller owns the product and enforces price, cap and limit."""

    deal_id: Identifier = Field(description="The deal; a later event with it replaces it.")
    seller_id: Identifier = Field(description="The signed-in seller who asked for it.")
    room_id: Identifier = Field(description="The live room whose checkouts get the deal.")
    sku: Sku = Field(description="The product on deal.")
    price_minor: int = Field(ge=0, description="Deal price per unit, minor units.")
    units_cap: int = Field(ge=1, le=1_000_000, description="Units at the deal price at most.")
    per_buyer_limit: int = Field(
        ge=1, le=MAX_QUANTITY_PER_ITEM, description="Units one buyer may get at the deal price."
    )
    starts_at: AwareDatetime = Field(description="When the deal price starts.")
    ends_at: AwareDatetime | None = Field(
        default=None, description="When it ends; in the past ends it now."
    )


class CancellationRequested(_Payload):
    """v1: a buyer asked, from the live room, to cancel their confirmed order. The
    marketplace grants it only within its cancel window."""

    checkout_id: Identifier = Field(description="The checkout whose order is to be cancelled.")
    buyer_id: Identifier = Field(description="The signed-in buyer who asked.")


class RoomChanged(_Payload):
    """v1: the storefront changed what a live room shows (pins, live state); open rooms
    reload the room from the storefront."""

    room_id: Identifier = Field(description="The live room.")
    state: Literal["scheduled", "live", "ended"] = Field(description="The room's live state.")
    skus: list[Sku] = Field(
        default_factory=list, max_length=100, description="Pinned products, in display order."
    )


class CheckoutRequestedEvent(Envelope[CheckoutRequested]):
    """`checkout.requested` v1 on the wire."""

    TYPE = "checkout.requested"
    VERSION = 1
    type: Literal["checkout.requested"]
    version: Literal[1]


class OrderStatusChangedEvent(Envelope[OrderStatusChanged]):
    """`order.status_changed` v2 on the wire (readers still take v1, a subset of it). v2
    adds the statuses `cancelled`, `refunded`, `shipped`, the reason `limit_exceeded`
    and the fields `seller_id`, `tracking_ref`: a v1 reader refuses a v2 entry."""

    TYPE = "order.status_changed"
    VERSION = 2
    type: Literal["order.status_changed"]
    version: Literal[1, 2]


class CatalogChangedEvent(Envelope[CatalogChanged]):
    """`catalog.changed` v2 on the wire (readers still take v1); v2 adds `seller_id`,
    `image_url` and `deal` to each product."""

    TYPE = "catalog.changed"
    VERSION = 2
    type: Literal["catalog.changed"]
    version: Literal[1, 2]


class RoomSalesChangedEvent(Envelope[RoomSales]):
    """`room.sales_changed` v2 on the wire (readers still take v1); `correlation_id` is
    the room id. v2 adds `revenue_minor_by_sku` and `cancelled`."""

    TYPE = "room.sales_changed"
    VERSION = 2
    type: Literal["room.sales_changed"]
    version: Literal[1, 2]


class FlashDealRequestedEvent(Envelope[FlashDealRequested]):
    """`flash_deal.requested` v1 on the wire; `correlation_id` is the deal id."""

    TYPE = "flash_deal.requested"
    VERSION = 1
    type: Literal["flash_deal.requested"]
    version: Literal[1]


class CancellationRequestedEvent(Envelope[CancellationRequested]):
    """`order.cancellation_requested` v1 on the wire; `correlation_id` is the checkout id."""

    TYPE = "order.cancellation_requested"
    VERSION = 1
    type: Literal["order.cancellation_requested"]
    version: Literal[1]


class RoomChangedEvent(Envelope[RoomChanged]):
    """`room.changed` v1 on the wire; `correlation_id` is the room id."""

    TYPE = "room.changed"
    VERSION = 1
    type: Literal["room.changed"]
    version: Literal[1]
