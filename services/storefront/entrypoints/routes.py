"""The storefront's JSON API: read a room with its live stock, accept a checkout."""

from fastapi import APIRouter, status

from services.storefront import service
from services.storefront.entrypoints.deps import Deps
from services.storefront.entrypoints.schemas import (
    CheckoutAccepted,
    CheckoutIn,
    ErrorOut,
    RoomOut,
    TokenErrorOut,
)
from services.storefront.entrypoints.sessions import Buyer

router = APIRouter(prefix="/api", tags=["storefront"])


@router.get(
    "/rooms/{room_id}",
    summary="A live room with its host, pinned products and their live stock",
    responses={404: {"model": ErrorOut}},
)
async def get_room(room_id: str, deps: Deps) -> RoomOut:
    return RoomOut.of(
        await service.get_live_room(rooms=deps.rooms, stock=deps.stock, room_id=room_id)
    )


@router.post(
    "/checkouts",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Hand a buyer's checkout to the marketplace",
    description=(
        "The buyer is the one of the token (`Authorization: Bearer …` or the `livecart_buyer` "
        "cookie, from `POST /api/sessions`); a `buyer_id` in the body is refused (422). "
        "Answers 202 only once the checkout is durably in the `checkout.requested` stream; "
        "the order's progress is then pushed at `events_url`. The same `idempotency_key` "
        "from the same buyer always yields the same `checkout_id`."
    ),
    responses={
        401: {"model": TokenErrorOut, "description": "Buyer token missing, invalid or expired"},
        413: {"model": ErrorOut, "description": "Body larger than the configured limit"},
        503: {"model": ErrorOut, "description": "The stream is unreachable; retry later"},
    },
)
async def create_checkout(body: CheckoutIn, buyer: Buyer, deps: Deps) -> CheckoutAccepted:
    accepted = await service.accept_checkout(
        rooms=deps.rooms, publisher=deps.publisher, request=body.to_domain(buyer_id=buyer.buyer_id)
    )
    return CheckoutAccepted(
        checkout_id=accepted.checkout_id,
        events_url=deps.settings.events_url(
            accepted.checkout_id, token=buyer.token, buyer_id=buyer.buyer_id
        ),
        buyer_events_url=deps.settings.buyer_events_url(token=buyer.token, buyer_id=buyer.buyer_id),
    )
