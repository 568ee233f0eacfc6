"""The storefront's domain: live rooms, their pinned products, the rules a checkout must
pass, and the seller's live control (scheduled → live → ended, pins, flash deals).

Pure Python: no I/O, no framework. What a buyer may ask for is decided here; whether
it is in stock, and what a deal really sells, is not (that is the marketplace's call).
"""

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from urllib.parse import urlsplit

from contracts import new_event_id
from contracts.events import MAX_ITEMS_PER_CHECKOUT, MAX_QUANTITY_PER_ITEM

CHECKOUT_NAMESPACE = uuid.UUID("5f0d3c8e-2b6a-5d1e-9c43-7a1e0c6b9f21")
"""Fixed namespace of checkout ids derived from an idempotency key. Never change it:
a retry after a deploy must still map to the same checkout id."""

# ISO 4217 currencies without minor units; every other currency we sell in has two.
_ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW", "VND", "CLP", "ISK", "UGX", "XAF", "XOF"})


def format_price(price_minor: int, currency: str) -> str:
    """The price as a decimal string in major units: 4990 EUR -> "49.90"."""
    exponent = 0 if currency.upper() in _ZERO_DECIMAL_CURRENCIES else 2
    return str(Decimal(price_minor).scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent)))


class LiveState(StrEnum):
    """Where a room is in its live: scheduled → live → ended, never back."""

    SCHEDULED = "scheduled"
    LIVE = "live"
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class PinnedProduct:
    """A product the seller pinned in a room: the storefront's showcase copy, never stock."""

    sku: str
    title: str
    price_minor: int
    currency: str
    max_per_checkout: int
    position: int = 0
    image_url: str | None = None

    @property
    def price(self) -> str:
        return format_price(self.price_minor, self.currency)


@dataclass(frozen=True, slots=True)
class Room:
    """A live room: its host (the seller), its live state and what is pinned in it, in
    display order."""

    room_id: str
    title: str
    seller_id: str
    seller_name: str
    products: tuple[PinnedProduct, ...] = ()
    state: LiveState = LiveState.SCHEDULED
    stream_url: str | None = None
    scheduled_at: datetime | None = None
    went_live_at: datetime | None = None
    ended_at: datetime | None = None

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
    if room.state is not LiveState.LIVE:
        msg = "this room is not live: buying opens when the seller goes live"
        return [Violation(("room_id",), "room_not_live", msg)]
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


class IdempotencyKeyReused(ValueError):
    """The buyer's idempotency key already stands for another request (another room or
    cart): answering with the old checkout would silently drop the new one."""

    reason = "idempotency_key_reused"

    def __init__(self, idempotency_key: str) -> None:
        super().__init__(
            "this Idempotency-Key was already used with a different request (room or items); "
            "send a new key for a new checkout"
        )
        self.idempotency_key = idempotency_key


def request_fingerprint(request: CheckoutRequest) -> str:
    """SHA-256 (hex) of what a checkout asks for: its room and items, in the order sent,
    as canonical JSON. The buyer and the key are not in it: they name the checkout."""
    canonical = {
        "room_id": request.room_id,
        "items": [{"sku": i.sku, "quantity": i.quantity} for i in request.items],
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


# ---- the seller's live control -------------------------------------------------------------

MAX_PINNED = 100
"""Products one room shows at most (a `room.changed` event lists them all)."""
MAX_SCHEDULE_AHEAD = timedelta(days=366)
MAX_DEAL_UNITS = 1_000_000
"""Units one flash deal sells at most (the contract's bound)."""
MAX_DEAL_LEAD = timedelta(days=1)
DEAL_START_GRACE = timedelta(minutes=1)
"""A deal may start this much in the past (the seller's clock, a slow form)."""


class NotYourRoom(PermissionError):
    """The signed-in seller does not host this room."""

    reason = "not_your_room"

    def __init__(self, room_id: str) -> None:
        super().__init__(f"room {room_id!r} is another seller's")
        self.room_id = room_id


class RoomStateConflict(ValueError):
    """The change does not fit the room's (or the deal's) state right now."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class InvalidRoomChange(ValueError):
    """A seller's change breaks at least one rule; `violations` names each field."""

    reason = "invalid"

    def __init__(self, violations: Sequence[Violation]) -> None:
        super().__init__("; ".join(f"{'.'.join(map(str, v.loc))}: {v.msg}" for v in violations))
        self.violations = tuple(violations)


def _refuse(loc: str, type_: str, msg: str) -> InvalidRoomChange:
    return InvalidRoomChange([Violation((loc,), type_, msg)])


@dataclass(frozen=True, slots=True)
class CatalogProduct:
    """A product of a seller's catalog, as the marketplace last described it: pinnable."""

    seller_id: str
    sku: str
    title: str
    price_minor: int
    currency: str
    image_url: str | None = None

    @property
    def price(self) -> str:
        return format_price(self.price_minor, self.currency)


_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


def is_identifier(text: str) -> bool:
    """Whether `text` can be an id at all (the contract's pattern): what cannot, names
    nothing, and is not looked up."""
    return _IDENTIFIER.fullmatch(text) is not None


def check_host(room: Room | None, *, room_id: str, seller_id: str) -> Room:
    """`room` when `seller_id` hosts it; RoomNotFound or NotYourRoom otherwise."""
    if room is None:
        raise RoomNotFound(room_id)
    if room.seller_id != seller_id:
        raise NotYourRoom(room_id)
    return room


def stream_url_problem(url: str) -> str | None:
    """Why `url` cannot be a room's stream URL (https:// only, a host, no spaces); None if fine."""
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname or not url.startswith("https://"):
        return "the stream URL must be an https:// address"
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        return "the stream URL must not contain spaces or control characters"
    return None


def schedule_room(
    *, room_id: str, seller_id: str, seller_name: str, title: str,
    scheduled_at: datetime | None, stream_url: str | None, now: datetime,
) -> Room:  # fmt: skip
    """A new room, scheduled (not live yet)."""
    if scheduled_at is not None and not now - timedelta(days=1) <= scheduled_at <= (
        now + MAX_SCHEDULE_AHEAD
    ):
        raise _refuse("scheduled_at", "out_of_range", "schedule the live within the next year")
    if stream_url is not None and (problem := stream_url_problem(stream_url)):
        raise _refuse("stream_url", "url_invalid", problem)
    return Room(
        room_id, title, seller_id, seller_name, state=LiveState.SCHEDULED,
        stream_url=stream_url, scheduled_at=scheduled_at,
    )  # fmt: skip


def go_live(room: Room, *, now: datetime) -> Room:
    """The room on air: buying opens. Only a scheduled room can go live."""
    if room.state is not LiveState.SCHEDULED:
        raise RoomStateConflict("room_not_scheduled", f"the room is {room.state}, not scheduled")
    return replace(room, state=LiveState.LIVE, went_live_at=now)


def end_live(room: Room, *, now: datetime) -> Room:
    """The live is over: buying closes, for good."""
    if room.state is not LiveState.LIVE:
        raise RoomStateConflict("room_not_live", f"the room is {room.state}, not live")
    return replace(room, state=LiveState.ENDED, ended_at=now)


def _not_ended(room: Room, doing: str) -> None:
    if room.state is LiveState.ENDED:
        raise RoomStateConflict("room_ended", f"the live has ended: nothing can be {doing}")


def pin(room: Room, product: CatalogProduct | None, *, max_per_checkout: int) -> Room:
    """`product` pinned last (or, pinned already, with its new cap and details, in place)."""
    _not_ended(room, "pinned")
    if product is None or product.seller_id != room.seller_id:
        raise _refuse("sku", "sku_not_in_catalog", "this product is not in your catalog")
    if not 1 <= max_per_checkout <= MAX_QUANTITY_PER_ITEM:
        msg = f"the per-checkout cap must be between 1 and {MAX_QUANTITY_PER_ITEM}"
        raise _refuse("max_per_checkout", "out_of_range", msg)
    known = room.pinned(product.sku)
    if known is None and len(room.products) >= MAX_PINNED:
        raise _refuse("sku", "too_many_pins", f"at most {MAX_PINNED} products per room")
    position = known.position if known else max((p.position for p in room.products), default=-1) + 1
    pinned = PinnedProduct(
        product.sku, product.title, product.price_minor, product.currency,
        max_per_checkout, position, product.image_url,
    )  # fmt: skip
    others = tuple(p for p in room.products if p.sku != product.sku)
    return replace(room, products=tuple(sorted((*others, pinned), key=lambda p: p.position)))


def unpin(room: Room, sku: str) -> Room:
    _not_ended(room, "unpinned")
    if room.pinned(sku) is None:
        raise _refuse("sku", "sku_not_pinned", "this product is not pinned in the room")
    return replace(room, products=tuple(p for p in room.products if p.sku != sku))


@dataclass(frozen=True, slots=True)
class Deal:
    """A flash deal as the seller asked for it; the marketplace decides what it sells."""

    deal_id: str
    room_id: str
    sku: str
    price_minor: int
    units_cap: int
    per_buyer_limit: int
    starts_at: datetime
    ends_at: datetime | None = None

    def is_open(self, now: datetime) -> bool:
        """Running or counting down (not ended yet)."""
        return self.ends_at is None or self.ends_at > now


def deal_start(
    *, starts_at: datetime | None, starts_in_seconds: int | None, now: datetime
) -> datetime:
    """When a deal starts: at `starts_at`, or `starts_in_seconds` from now, or now."""
    if starts_at is not None and starts_in_seconds is not None:
        raise _refuse("starts_at", "ambiguous_start", "give a start time or seconds, not both")
    if starts_in_seconds is not None:
        if not 0 <= starts_in_seconds <= MAX_DEAL_LEAD.total_seconds():
            msg = f"start within {int(MAX_DEAL_LEAD.total_seconds())} seconds"
            raise _refuse("starts_in_seconds", "out_of_range", msg)
        return now + timedelta(seconds=starts_in_seconds)
    if starts_at is None:
        return now
    if not now - DEAL_START_GRACE <= starts_at <= now + MAX_DEAL_LEAD:
        raise _refuse("starts_at", "out_of_range", "start the deal within the next day")
    return starts_at


def plan_deal(room: Room, deal: Deal, *, open_deals: Sequence[Deal], now: datetime) -> Deal:
    """`deal` when the room may run it: the product is pinned there and has no deal
    running or counting down in this room."""
    _not_ended(room, "put on deal")
    if room.pinned(deal.sku) is None:
        raise _refuse("sku", "sku_not_pinned", "pin the product before putting it on deal")
    if any(d.sku == deal.sku and d.is_open(now) for d in open_deals):
        msg = "this product has a deal running or counting down: end it first"
        raise RoomStateConflict("deal_running", msg)
    return deal


def end_deal(deal: Deal, *, now: datetime) -> Deal:
    """The same deal, ending now (the marketplace stops its price at once; a deal still
    counting down never starts)."""
    if not deal.is_open(now):
        raise RoomStateConflict("deal_ended", "this deal has ended already")
    return replace(deal, ends_at=now)


def parse_price(text: str, currency: str) -> int:
    """A price typed in major units ("9.90") in minor units (990); ValueError if it is not one."""
    exponent = 0 if currency.upper() in _ZERO_DECIMAL_CURRENCIES else 2
    try:
        amount = Decimal(text.strip())
    except ArithmeticError:
        raise ValueError("the price must be a number, like 9.90") from None
    if not amount.is_finite() or amount < 0 or amount > 10**9:
        raise ValueError("the price must be between 0 and 1000000000")
    minor = amount.scaleb(exponent)
    if minor != minor.to_integral_value():
        raise ValueError(f"the price has at most {exponent} decimals in {currency}")
    return int(minor)
