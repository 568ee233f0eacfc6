"""What the seller console's JSON API takes and gives. Request bodies are strict: an
unknown field, a string for a number or text no database could store is a 422."""

import unicodedata
from datetime import datetime
from typing import Annotated, Any, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from contracts import OrderStatus, order_reference
from contracts.events import Identifier, Sku
from services.orders.media import MEDIA_URL
from services.orders.ports import OrderView, ProductView

MAX_UNITS = 1_000_000
MAX_PRICE_MINOR = 100_000_000_00

# Characters a title may not hold: controls, lone surrogates, private/unassigned code
# points, line separators, and the bidi overrides that make text read otherwise.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def _display_text(value: str) -> str:
    for char in value:
        if unicodedata.category(char) in _REFUSED_CATEGORIES or char in _BIDI_CONTROLS:
            raise ValueError(f"must be plain text (it holds the character U+{ord(char):04X})")
    value = unicodedata.normalize("NFC", value.strip())
    if not value:
        raise ValueError("must not be blank")
    return value


def _image_url(value: str) -> str:
    value = _display_text(value)
    if any(char.isspace() for char in value):
        raise ValueError("must not contain spaces")
    parts = urlsplit(value)
    if value.startswith("/static/") and ".." not in value and not parts.netloc:
        return value
    if parts.scheme == "https" and parts.hostname:
        return value
    if MEDIA_URL.fullmatch(value):  # an uploaded image's; seller_service checks it is ours
        return value
    raise ValueError("must be an https:// address or a /static/ path")


Title = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_display_text)]
TrackingRef = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_display_text)]
ImageUrl = Annotated[str, Field(max_length=500), AfterValidator(_image_url)]
PriceMinor = Annotated[int, Field(ge=0, le=MAX_PRICE_MINOR, description="Minor units (cents).")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ProductCreate(_Body):
    """A new product of the signed-in seller."""

    sku: Sku = Field(description="Stock-keeping unit, unique in the marketplace.")
    title: Title
    price_minor: PriceMinor
    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$", description="ISO 4217 code.")
    stock: int = Field(default=0, ge=0, le=MAX_UNITS, description="Units available at first.")
    image_url: ImageUrl | None = Field(default=None, description="https:// or /static/ image.")


class ProductUpdate(_Body):
    """What to change of a product; a field left out stays as it is."""

    title: Title | None = None
    price_minor: PriceMinor | None = None
    image_url: ImageUrl | None = None

    @model_validator(mode="after")
    def _something(self) -> Self:
        if not self.model_fields_set:
            raise ValueError("name at least one of title, price_minor, image_url")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null (leave it out to keep it)")
        return self

    def changes(self) -> dict[str, Any]:
        return self.model_dump(include=self.model_fields_set)


class StockChange(_Body):
    """Set the available units to a number, or add units (a restock): exactly one."""

    model_config = ConfigDict(extra="forbid", strict=True, populate_by_name=False)

    set_to: int | None = Field(default=None, alias="set", ge=0, le=MAX_UNITS)
    add: int | None = Field(default=None, ge=1, le=MAX_UNITS)

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.set_to is None) == (self.add is None):
            raise ValueError('give exactly one of "set" and "add"')
        return self


class Shipment(_Body):
    tracking_ref: TrackingRef = Field(description="The carrier's tracking reference.")


class Credentials(_Body):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=1024)


class SessionOut(BaseModel):
    """The signed-in seller; send `csrf_token` as the X-CSRF-Token header when writing."""

    seller_id: str
    name: str
    csrf_token: str


class Problem(BaseModel):
    detail: Any = Field(description="What was wrong, for people.")


Email = Annotated[
    str,
    Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$"),
    AfterValidator(_display_text),
]


class NewSeller(_Body):
    """A seller account to make (`python -m services.orders add-seller`)."""

    seller_id: Identifier = Field(description="The seller's id, the same on both sides.")
    email: Email
    name: Title


class ProductOut(BaseModel):
    """One of the seller's products, with its stock."""

    sku: str
    title: str
    price_minor: int
    currency: str
    image_url: str | None
    available: int = Field(description="Units that can still be bought.")
    reserved: int = Field(description="Units held by orders not paid yet.")
    sold: int = Field(description="Units of confirmed orders.")
    version: int = Field(description="Grows with every change.")

    @classmethod
    def of(cls, product: ProductView) -> "ProductOut":
        fields = {name: getattr(product, name) for name in cls.model_fields}
        return cls(**fields)


class OrderLineOut(BaseModel):
    sku: str
    quantity: int
    unit_price_minor: int


class OrderOut(BaseModel):
    """One of the seller's orders."""

    order_id: str
    checkout_id: str
    buyer_id: str
    room_id: str
    status: OrderStatus
    reason: str | None
    detail: str | None
    total_minor: int
    currency: str
    items: list[OrderLineOut]
    tracking_ref: str | None
    created_at: datetime
    updated_at: datetime
    reference: str = Field(
        description="The short reference the buyer's pages show (`LC-7K3M-9QX2`), from the "
        "checkout id (contracts.order_reference)."
    )

    @classmethod
    def of(cls, order: OrderView) -> "OrderOut":
        computed = {"items", "reference"}
        fields = {name: getattr(order, name) for name in cls.model_fields if name not in computed}
        items = [OrderLineOut(sku=s, quantity=q, unit_price_minor=p) for s, q, p in order.items]
        return cls(**fields, items=items, reference=order_reference(order.checkout_id))

    @property
    def can_change(self) -> bool:
        """Whether the seller may still cancel or ship it."""
        return self.status is OrderStatus.CONFIRMED
