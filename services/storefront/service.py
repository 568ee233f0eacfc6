"""The storefront's use cases: show a room, accept a checkout.

Accepting a checkout writes nothing to the database: the event in the
`checkout.requested` stream is the only record, and the marketplace owns what follows.
"""

from dataclasses import dataclass
from typing import Protocol

from contracts import CheckoutItem, CheckoutRequested, CheckoutRequestedEvent
from services.storefront.domain import (
    CheckoutRequest,
    InvalidCheckout,
    Room,
    RoomNotFound,
    checkout_violations,
    derive_checkout_id,
)

PRODUCER = "storefront"


class RoomReader(Protocol):
    """Reads the showcase: a room with its seller and pinned products."""

    async def get_room(self, room_id: str) -> Room | None: ...


class CheckoutPublisher(Protocol):
    """Appends a checkout event to the stream; returns once Redis accepted it.

    Raises `CheckoutUnavailable` when the stream cannot take it right now.
    """

    async def publish(self, event: CheckoutRequestedEvent) -> None: ...


class CheckoutUnavailable(RuntimeError):
    """The checkout stream could not accept the event; the buyer may retry."""

    reason = "unavailable"


@dataclass(frozen=True, slots=True)
class AcceptedCheckout:
    checkout_id: str


async def get_room(*, rooms: RoomReader, room_id: str) -> Room:
    """The room with this id, or RoomNotFound."""
    room = await rooms.get_room(room_id)
    if room is None:
        raise RoomNotFound(room_id)
    return room


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
