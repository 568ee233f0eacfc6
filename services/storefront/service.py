"""The storefront's use cases: show a room with its live stock, accept a checkout, and
follow the marketplace's catalog.

Accepting a checkout writes nothing to the database: the event in the
`checkout.requested` stream is the only record, and the marketplace owns what follows.
"""

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from contracts import CheckoutItem, CheckoutRequested, CheckoutRequestedEvent, ProductSnapshot
from services.storefront.domain import (
    CheckoutRequest,
    InvalidCheckout,
    Room,
    RoomNotFound,
    checkout_violations,
    derive_checkout_id,
)
from services.storefront.live_catalog import LiveCatalog, ProductDetails, StockLevel

PRODUCER = "storefront"

log = logging.getLogger(__name__)


class RoomReader(Protocol):
    """Reads the showcase: a room with its seller and pinned products."""

    async def get_room(self, room_id: str) -> Room | None: ...


class StockReader(Protocol):
    """The latest stock level the catalog announced for a sku (None: not heard of yet)."""

    def stock(self, sku: str) -> StockLevel | None: ...


class CheckoutPublisher(Protocol):
    """Appends a checkout event to the stream; returns once Redis accepted it.

    Raises `CheckoutUnavailable` when the stream cannot take it right now.
    """

    async def publish(self, event: CheckoutRequestedEvent) -> None: ...


class ShowcaseWriter(Protocol):
    """Copies changed titles and prices onto the pinned products that show them.

    Raises `ShowcaseUnavailable` when the database cannot take the change right now.
    """

    async def update_details(self, details: Sequence[ProductDetails]) -> None: ...


class CheckoutUnavailable(RuntimeError):
    """The checkout stream could not accept the event; the buyer may retry."""

    reason = "unavailable"


class ShowcaseUnavailable(RuntimeError):
    """The showcase database could not take a title or price change."""


@dataclass(frozen=True, slots=True)
class AcceptedCheckout:
    checkout_id: str


@dataclass(frozen=True, slots=True)
class LiveRoom:
    """A room and the stock its products had when it was read (absent: not known yet)."""

    room: Room
    stock: Mapping[str, StockLevel]

    def available(self, sku: str) -> int | None:
        level = self.stock.get(sku)
        return None if level is None else level.available


async def get_room(*, rooms: RoomReader, room_id: str) -> Room:
    """The room with this id, or RoomNotFound."""
    room = await rooms.get_room(room_id)
    if room is None:
        raise RoomNotFound(room_id)
    return room


async def get_live_room(*, rooms: RoomReader, stock: StockReader, room_id: str) -> LiveRoom:
    """The room with the latest stock of each pinned product, or RoomNotFound."""
    room = await get_room(rooms=rooms, room_id=room_id)
    levels = {p.sku: level for p in room.products if (level := stock.stock(p.sku)) is not None}
    return LiveRoom(room=room, stock=levels)


async def accept_checkout(
    *, rooms: RoomReader, publisher: CheckoutPublisher, request: CheckoutRequest
) -> AcceptedCheckout:
    """Check `request` against the room, then publish it; accepted once the stream holds it.

    Raises InvalidCheckout (naming every bad field) or CheckoutUnavailable.
    """
    violations = checkout_violations(await rooms.get_room(request.room_id), request)
    if violations:
        raise InvalidCheckout(violations)
    checkout_id = derive_checkout_id(
        buyer_id=request.buyer_id, idempotency_key=request.idempotency_key
    )
    await publisher.publish(checkout_requested_event(request, checkout_id=checkout_id))
    return AcceptedCheckout(checkout_id=checkout_id)


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


async def apply_catalog_change(
    *, catalog: LiveCatalog, showcase: ShowcaseWriter, products: Sequence[ProductSnapshot]
) -> None:
    """Keep the newest stock per sku in memory; copy changed titles and prices to the
    showcase. A failed copy is retried with the product's next snapshot."""
    stale = catalog.stale_details(catalog.apply(products))
    if not stale:
        return
    try:
        await showcase.update_details(stale)
    except ShowcaseUnavailable as exc:
        log.warning("showcase details of %d products not updated: %s", len(stale), exc)
        return
    catalog.details_copied(stale)
