"""The storefront's domain: live rooms, their pinned products and the rules a checkout must pass.

Pure Python: no I/O, no framework. What a buyer may ask for is decided here; whether
it is in stock is not (that is the marketplace's call, after the checkout is accepted).
"""

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from contracts import new_event_id
from contracts.events import MAX_ITEMS_PER_CHECKOUT

CHECKOUT_NAMESPACE = uuid.UUID("5f0d3c8e-2b6a-5d1e-9c43-7a1e0c6b9f21")
"""Fixed namespace of checkout ids derived from an idempotency key. Never change it:
a retry after a deploy must still map to the same checkout id."""

# ISO 4217 currencies without minor units; every other currency we sell in has two.
_ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"})


def format_price(price_minor: int, currency: str) -> str:
    """The price as a decimal string in major units: 4990 EUR -> "49.90"."""
    exponent = 0 if currency.upper() in _ZERO_DECIMAL_CURRENCIES else 2
    return str(Decimal(price_minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent)))


@dataclass(frozen=True, slots=True)
class PinnedProduct:
    """A product the seller pinned in a room: the storefront's showcase copy, never stock."""

    sku: str
    title: str
    price_minor: int
    currency: str
    max_per_checkout: int
    position: int = 0

    @property
    def price(self) -> str:
        return format_price(self.price_minor, self.currency)


@dataclass(frozen=True, slots=True)
class Room:
    """A live room: its host (the seller) and what is pinned in it, in display order."""

    room_id: str
    title: str
    seller_id: str
    seller_name: str
    products: tuple[PinnedProduct, ...] = ()

    def pinned(self, sku: str) -> PinnedProduct | None:
        return next((p for p in self.products if p.sku == sku), None)


@dataclass(frozen=True, slots=True)
class RequestedItem:
    sku: str
    quantity: int


@dataclass(frozen=True, slots=True)
class CheckoutRequest:
    """What a buyer asked for, already well-formed (ids match the contract patterns)."""

    room_id: str
    buyer_id: str
    items: tuple[RequestedItem, ...]
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class Violation:
    """One broken rule: where in the request (`loc`), a reason code and a sentence."""

    loc: tuple[str | int, ...]
    type: str
    msg: str


class RoomNotFound(LookupError):
    """No live room has this id."""

    reason = "room_not_found"

    def __init__(self, room_id: str) -> None:
        super().__init__(f"no live room {room_id!r}")
        self.room_id = room_id


class InvalidCheckout(ValueError):
    """The request breaks at least one rule; `violations` names each field."""

    reason = "invalid"

    def __init__(self, violations: Sequence[Violation]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, v.loc))}: {v.msg}" for v in violations))
        self.violations = tuple(violations)


def checkout_violations(room: Room | None, request: CheckoutRequest) -> list[Violation]:
    """Every rule `request` breaks in `room` (None: no such room); empty when acceptable."""
    if room is None:
        return [Violation(("room_id",), "room_not_found", "no live room with this id")]
    if not request.items:
        return [Violation(("items",), "too_short", "at least one item is required")]
    if len(request.items) > MAX_ITEMS_PER_CHECKOUT:
        msg = f"at most {MAX_ITEMS_PER_CHECKOUT} items per checkout"
        return [Violation(("items",), "too_long", msg)]
    violations: list[Violation] = []
    seen: set[str] = set()
    for index, item in enumerate(request.items):
        violations.extend(_item_violations(room, item, index, seen))
        seen.add(item.sku)
    return violations


def _item_violations(
    room: Room, item: RequestedItem, index: int, seen: set[str]
) -> list[Violation]:
    where = ("items", index)
    if item.sku in seen:
        return [Violation((*where, "sku"), "duplicate_sku", "this sku is already in the order")]
    product = room.pinned(item.sku)
    if product is None:
        return [Violation((*where, "sku"), "sku_not_pinned", "this product is not on offer here")]
    if not 1 <= item.quantity <= product.max_per_checkout:
        msg = f"quantity must be between 1 and {product.max_per_checkout}"
        return [Violation((*where, "quantity"), "quantity_out_of_range", msg)]
    return []


def new_buyer_id() -> str:
    """A fresh, unguessable buyer id for a new session (matches the contract's id pattern)."""
    return f"buyer-{uuid.uuid4().hex}"


def derive_checkout_id(
    *, buyer_id: str, idempotency_key: str | None, fresh_id: Callable[[], str] = new_event_id
) -> str:
    """The checkout id: derived from buyer and key when a key is given (a retry maps to the
    same checkout, with nothing stored), otherwise a fresh time-sortable id."""
    if idempotency_key is None:
        return fresh_id()
    return str(uuid.uuid5(CHECKOUT_NAMESPACE, f"{buyer_id}\n{idempotency_key}"))
