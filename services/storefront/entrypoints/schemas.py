"""The JSON the storefront's HTTP API reads and writes."""

from datetime import datetime
from typing import Literal, NoReturn

from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from contracts import DealSnapshot
from contracts.events import MAX_ITEMS_PER_CHECKOUT, MAX_QUANTITY_PER_ITEM, Identifier, Sku
from services.storefront.domain import CheckoutRequest, RequestedItem
from services.storefront.service import LiveRoom

IDEMPOTENCY_KEY_PATTERN = r"^[!-~]+$"
"""Printable ASCII without spaces: what the Idempotency-Key header (an HTTP structured-field
string) can carry, so the header and the body field take the same keys."""
IDEMPOTENCY_KEY_DESCRIPTION = (
    "One key per intended purchase (e.g. a random UUID), sent again when retrying it: "
    "the same key with the same room and items gets the same `checkout_id` back (202) and "
    "appends nothing new; the same key with another room or items is refused (409, "
    "`idempotency_key_reused`) while the key is remembered (24 h by default). Printable "
    "ASCII, no spaces, 1 to 128 characters."
)


class CheckoutItemIn(BaseModel):
    # Strict edges: an unknown field or a quantity sent as a string ("2") is refused (422),
    # never guessed at.
    model_config = ConfigDict(extra="forbid")

    sku: Sku = Field(description="A product pinned in the room.")
    quantity: StrictInt = Field(
        ge=1, le=MAX_QUANTITY_PER_ITEM, description="Units wanted, up to the product's cap."
    )


class CheckoutIn(BaseModel):
    """A buyer's tap on buy: what they want from which room. Who is buying comes from
    the buyer token, never from the body."""

    model_config = ConfigDict(extra="forbid")

    room_id: Identifier
    items: list[CheckoutItemIn] = Field(min_length=1, max_length=MAX_ITEMS_PER_CHECKOUT)
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=IDEMPOTENCY_KEY_PATTERN,
        description=IDEMPOTENCY_KEY_DESCRIPTION + " Or send it as the `Idempotency-Key` header.",
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

    def to_domain(self, *, buyer_id: str, header_key: str | None = None) -> CheckoutRequest:
        """The request of `buyer_id`, its idempotency key from the body or from the
        `Idempotency-Key` header (`header_key`, as sent); both given must agree (else 422)."""
        return CheckoutRequest(
            room_id=self.room_id,
            buyer_id=buyer_id,
            items=tuple(RequestedItem(sku=i.sku, quantity=i.quantity) for i in self.items),
            idempotency_key=_one_key(self.idempotency_key, header_key),
        )


def _one_key(body_key: str | None, header_key: str | None) -> str | None:
    if header_key is None:
        return body_key
    # A structured-field string is quoted (`Idempotency-Key: "8e03978e"`); many clients
    # send it bare. Both mean the same key.
    if len(header_key) >= 2 and header_key[0] == header_key[-1] == '"':
        header_key = header_key[1:-1]
    if not 1 <= len(header_key) <= 128 or '"' in header_key:
        _refuse_header("idempotency_key_invalid", "must be 1 to 128 printable ASCII characters")
    if body_key is not None and body_key != header_key:
        _refuse_header(
            "idempotency_key_mismatch",
            "differs from the body's idempotency_key: send one of them, or the same key in both",
        )
    return header_key


def _refuse_header(kind: str, problem: str) -> NoReturn:
    loc = ("header", "Idempotency-Key")
    raise RequestValidationError([{"type": kind, "loc": loc, "msg": f"Idempotency-Key {problem}"}])


class CheckoutAccepted(BaseModel):
    """The checkout is durably in the stream; follow it at `events_url` (Server-Sent Events)."""

    checkout_id: str
    status: Literal["accepted"] = "accepted"
    events_url: str = Field(
        description="This checkout's statuses (SSE). No token in it: send the buyer token "
        "as `Authorization: Bearer`, or from a browser the cookie (`withCredentials`)."
    )
    buyer_events_url: str = Field(
        description="Every status of this buyer (SSE), authenticated as `events_url`."
    )


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


class ReasonErrorOut(ErrorOut):
    reason: str = Field(description="A reason code, e.g. `idempotency_key_reused`.")


class TokenErrorOut(ErrorOut):
    reason: Literal["missing", "expired", "invalid"] = Field(
        description="Why the token proves no buyer: `invalid` covers forged and malformed."
    )
