"""The storefront's buyer-side use cases: show a room with its live stock and deals,
accept a checkout, pass on a buyer's cancel request, count the room's viewers, and follow
the marketplace's catalog and room figures. (The seller's are in live_control.py.)

Accepting a checkout writes nothing to the database: the event in the
`checkout.requested` stream is the only record, and the marketplace owns what follows.
"""

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from contracts import (
    CancellationRequested,
    CancellationRequestedEvent,
    CheckoutItem,
    CheckoutRequested,
    CheckoutRequestedEvent,
    DealSnapshot,
    FlashDealRequestedEvent,
    ProductSnapshot,
    RoomChangedEvent,
    RoomSales,
    RoomSalesChangedEvent,
    utc_now,
)
from services.storefront.domain import (
    CheckoutRequest,
    IdempotencyKeyReused,
    InvalidCheckout,
    LiveState,
    Room,
    RoomNotFound,
    checkout_violations,
    derive_checkout_id,
    is_identifier,
    request_fingerprint,
)
from services.storefront.live_catalog import LiveCatalog, ProductDetails, StockLevel

PRODUCER = "storefront"

log = logging.getLogger(__name__)


class RoomReader(Protocol):
    """Reads the showcase: a room with its seller and pinned products."""

    async def get_room(self, room_id: str) -> Room | None: ...


class StockReader(Protocol):
    """The latest stock level the catalog announced for a sku (None: not heard of yet),
    and the whole snapshot (image, flash deal)."""

    def stock(self, sku: str) -> StockLevel | None: ...

    def product(self, sku: str) -> ProductSnapshot | None: ...


class CheckoutPublisher(Protocol):
    """Appends a checkout event to the stream; returns once Redis accepted it.

    Raises `CheckoutUnavailable` when the stream cannot take it right now.
    """

    async def publish(self, event: CheckoutRequestedEvent) -> None: ...


@dataclass(frozen=True, slots=True)
class KeyClaim:
    """What an idempotency key stood for when a request claimed it: the fingerprint of the
    request that used it first, and whether that one is durably in the stream."""

    fingerprint: str
    accepted: bool


class IdempotencyLedger(Protocol):
    """Which request each (buyer, idempotency key) stands for, by the checkout id derived
    from them, for a limited time. Never an order: a fingerprint of room and items.

    Raises `CheckoutUnavailable` when it cannot be asked right now.
    """

    async def claim(self, checkout_id: str, fingerprint: str) -> KeyClaim | None:
        """Claim the key for `fingerprint` atomically if nobody has; the earlier claim
        otherwise (None: this request is the first)."""
        ...

    async def accepted(self, checkout_id: str, fingerprint: str) -> None:
        """The claimed request is in the stream: later retries need not append it again."""
        ...

    async def release(self, checkout_id: str) -> None:
        """Forget a claim whose request was not accepted, so a retry starts afresh."""
        ...


class ShowcaseWriter(Protocol):
    """Copies changed details into the sellers' catalog and onto the pinned products.

    Raises `ShowcaseUnavailable` when the database cannot take the change right now.
    """

    async def update_details(self, details: Sequence[ProductDetails]) -> None: ...


LiveEvent = RoomChangedEvent | FlashDealRequestedEvent | CancellationRequestedEvent


class LiveEventPublisher(Protocol):
    """Appends a live-room event to its stream; returns once Redis accepted it.

    Raises `EventUnavailable` when the stream cannot take it right now.
    """

    async def publish(self, event: LiveEvent) -> None: ...


class ViewerLog(Protocol):
    """Who opened a live room's page (each buyer once per room)."""

    async def record(self, room_id: str, buyer_id: str) -> None: ...


class FiguresWriter(Protocol):
    """Keeps a room's latest figures from the marketplace (older ones are ignored)."""

    async def keep_latest(self, sales: RoomSales, *, occurred_at: datetime) -> None: ...


class CheckoutUnavailable(RuntimeError):
    """The checkout stream could not accept the event; the buyer may retry."""

    reason = "unavailable"


class EventUnavailable(RuntimeError):
    """A live-room stream (room.changed, flash deals, cancellations) could not take the
    event; nothing was changed, the caller may retry."""

    reason = "unavailable"


class ShowcaseUnavailable(RuntimeError):
    """The showcase database could not take a change from the marketplace (details, figures)."""


@dataclass(frozen=True, slots=True)
class AcceptedCheckout:
    checkout_id: str


@dataclass(frozen=True, slots=True)
class LiveRoom:
    """A room and what the catalog said of its products when it was read: stock, newer
    images, and the flash deals of this room still running or counting down."""

    room: Room
    stock: Mapping[str, StockLevel]
    deals: Mapping[str, DealSnapshot] = field(default_factory=dict)
    images: Mapping[str, str] = field(default_factory=dict)

    def available(self, sku: str) -> int | None:
        level = self.stock.get(sku)
        return None if level is None else level.available

    def deal(self, sku: str) -> DealSnapshot | None:
        return self.deals.get(sku)

    def image_url(self, sku: str) -> str | None:
        pinned = self.room.pinned(sku)
        return self.images.get(sku) or (pinned.image_url if pinned else None)


async def get_room(*, rooms: RoomReader, room_id: str) -> Room:
    """The room with this id, or RoomNotFound."""
    room = await rooms.get_room(room_id) if is_identifier(room_id) else None
    if room is None:
        raise RoomNotFound(room_id)
    return room


async def get_live_room(
    *,
    rooms: RoomReader,
    stock: StockReader,
    room_id: str,
    clock: Callable[[], datetime] = utc_now,
) -> LiveRoom:
    """The room with the latest stock, image and deal of each pinned product, or
    RoomNotFound. A deal of another room, or one that ended, is not this room's."""
    room = await get_room(rooms=rooms, room_id=room_id)
    now = clock()
    levels, deals, images = {}, {}, {}
    for sku in (p.sku for p in room.products):
        if (level := stock.stock(sku)) is not None:
            levels[sku] = level
        product = stock.product(sku)
        if product is None:
            continue
        if product.image_url:
            images[sku] = product.image_url
        deal = product.deal
        if deal and deal.room_id == room_id and (deal.ends_at is None or deal.ends_at > now):
            deals[sku] = deal
    return LiveRoom(room=room, stock=levels, deals=deals, images=images)


async def accept_checkout(
    *,
    rooms: RoomReader,
    publisher: CheckoutPublisher,
    ledger: IdempotencyLedger,
    request: CheckoutRequest,
) -> AcceptedCheckout:
    """Check `request` against the room, then publish it; accepted once the stream holds it.

    With an idempotency key, the first request claims it (`ledger`): a retry of the same
    request gets the same checkout id without a second entry, another request with the
    same key is refused (IdempotencyKeyReused). A claim still pending (the first request
    in flight, or failed without being released) is published again: the marketplace
    makes one order of a checkout id, however often it arrives.

    Raises InvalidCheckout (naming every bad field), IdempotencyKeyReused or
    CheckoutUnavailable.
    """
    checkout_id = derive_checkout_id(
        buyer_id=request.buyer_id, idempotency_key=request.idempotency_key
    )
    if request.idempotency_key is None:
        await _publish_valid(rooms=rooms, publisher=publisher, request=request, id=checkout_id)
        return AcceptedCheckout(checkout_id=checkout_id)
    fingerprint = request_fingerprint(request)
    earlier = await ledger.claim(checkout_id, fingerprint)
    if earlier is not None and earlier.fingerprint != fingerprint:
        raise IdempotencyKeyReused(request.idempotency_key)
    if earlier is not None and earlier.accepted:
        return AcceptedCheckout(checkout_id=checkout_id)
    try:
        await _publish_valid(rooms=rooms, publisher=publisher, request=request, id=checkout_id)
    except (InvalidCheckout, CheckoutUnavailable):
        if earlier is None:
            await _forget_claim(ledger, checkout_id)
        raise
    try:
        await ledger.accepted(checkout_id, fingerprint)
    except CheckoutUnavailable as exc:  # the claim stays pending: a retry appends it again
        log.warning("checkout %s accepted but not marked so: %s", checkout_id, exc)
    return AcceptedCheckout(checkout_id=checkout_id)


async def _publish_valid(
    *, rooms: RoomReader, publisher: CheckoutPublisher, request: CheckoutRequest, id: str
) -> None:
    violations = checkout_violations(await rooms.get_room(request.room_id), request)
    if violations:
        raise InvalidCheckout(violations)
    await publisher.publish(checkout_requested_event(request, checkout_id=id))


async def _forget_claim(ledger: IdempotencyLedger, checkout_id: str) -> None:
    try:
        await ledger.release(checkout_id)
    except CheckoutUnavailable as exc:  # a retry finds it pending and publishes anyway
        log.warning("idempotency claim of checkout %s not released: %s", checkout_id, exc)


def checkout_requested_event(
    request: CheckoutRequest, *, checkout_id: str
) -> CheckoutRequestedEvent:
    """The contract event for an accepted request; the checkout id is the correlation id."""
    return CheckoutRequestedEvent.new(
        correlation_id=checkout_id,
        producer=PRODUCER,
        data=CheckoutRequested(
            checkout_id=checkout_id,
            room_id=request.room_id,
            buyer_id=request.buyer_id,
            items=[CheckoutItem(sku=i.sku, quantity=i.quantity) for i in request.items],
            idempotency_key=request.idempotency_key,
        ),
    )


async def request_cancellation(
    *, events: LiveEventPublisher, checkout_id: str, buyer_id: str
) -> None:
    """Pass the buyer's cancel request on to the marketplace, which decides (its cancel
    window, the order being the buyer's); returns once the stream holds it."""
    await events.publish(
        CancellationRequestedEvent.new(
            correlation_id=checkout_id,
            producer=PRODUCER,
            data=CancellationRequested(checkout_id=checkout_id, buyer_id=buyer_id),
        )
    )


async def record_viewer(*, viewers: ViewerLog, room: Room, buyer_id: str) -> None:
    """Count `buyer_id` among the viewers of `room` when it is live. Best effort: a
    failed write costs one viewer in the report, never the buyer's page."""
    if room.state is not LiveState.LIVE:
        return
    try:
        await viewers.record(room.room_id, buyer_id)
    except Exception as exc:
        log.warning("viewer of room %r not recorded: %s", room.room_id, exc)


async def apply_room_sales(*, figures: FiguresWriter, event: RoomSalesChangedEvent) -> None:
    """Keep the room's figures if they are newer than the ones kept; a failed write is
    logged (the next snapshot of the room carries the same counts, and more)."""
    try:
        await figures.keep_latest(event.data, occurred_at=event.occurred_at)
    except ShowcaseUnavailable as exc:
        log.warning("figures of room %r not kept: %s", event.data.room_id, exc)


async def apply_catalog_change(
    *, catalog: LiveCatalog, showcase: ShowcaseWriter, products: Sequence[ProductSnapshot]
) -> None:
    """Keep the newest snapshot per sku in memory; copy changed titles, prices, images and
    sellers to the showcase. A failed copy is retried with the product's next snapshot."""
    stale = catalog.stale_details(catalog.apply(products))
    if not stale:
        return
    try:
        await showcase.update_details(stale)
    except ShowcaseUnavailable as exc:
        log.warning("showcase details of %d products not updated: %s", len(stale), exc)
        return
    catalog.details_copied(stale)
