"""The storefront's JSON API: read a room with its live stock, accept a checkout, pass on
a buyer's cancel request."""

from typing import Annotated

from fastapi import APIRouter, Header, Path, status

from services.common.rate_limits import TOO_MANY_REQUESTS
from services.storefront import service
from services.storefront.entrypoints.deps import Deps
from services.storefront.entrypoints.rate_limits import CANCELLATIONS_LIMITED, CHECKOUTS_LIMITED
from services.storefront.entrypoints.schemas import (
    CancellationAccepted,
    CheckoutAccepted,
    CheckoutIn,
    ErrorOut,
    ReasonErrorOut,
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


IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=130,
        pattern=r"^[!-~]+$",
        description="The idempotency key as a header (IETF httpapi `Idempotency-Key`, quoted "
        "or bare) instead of the body's `idempotency_key`; both given must be the same.",
    ),
]


@router.post(
    "/checkouts",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Hand a buyer's checkout to the marketplace",
    dependencies=CHECKOUTS_LIMITED,
    description=(
        "The buyer is the one of the token (`Authorization: Bearer …` or the `livecart_buyer` "
        "cookie, from `POST /api/sessions`); a `buyer_id` in the body is refused (422), as "
        "is any other unknown field or a number sent as a string. "
        "Answers 202 only once the checkout is durably in the `checkout.requested` stream; "
        "the order's progress is then pushed at `events_url` (no token in it: open it with "
        "the same bearer header, or from the page with the cookie).\n\n"
        "**Idempotency.** Send an idempotency key, in the `Idempotency-Key` header or the "
        "body's `idempotency_key` (both: they must be equal, else 422), and send it again "
        "when retrying. The same key from the same buyer always yields the same "
        "`checkout_id`: a retry with the same room and items answers 202 again and appends "
        "nothing new (a retry of one that got 503 is appended then). The same key with "
        "another room or items is refused with 409 (`idempotency_key_reused`) for as long "
        "as the key is remembered (`STOREFRONT_IDEMPOTENCY_TTL_SECONDS`, 24 h by default); "
        "after that it starts a new request. Without a key every request is a new checkout."
    ),
    responses={
        401: {"model": TokenErrorOut, "description": "Buyer token missing, invalid or expired"},
        429: TOO_MANY_REQUESTS,
        409: {
            "model": ReasonErrorOut,
            "description": "The idempotency key was already used with another room or items",
        },
        413: {"model": ErrorOut, "description": "Body larger than the configured limit"},
        503: {"model": ErrorOut, "description": "The stream is unreachable; retry later"},
    },
)
async def create_checkout(
    body: CheckoutIn, buyer: Buyer, deps: Deps, idempotency_key: IdempotencyKeyHeader = None
) -> CheckoutAccepted:
    accepted = await service.accept_checkout(
        rooms=deps.rooms,
        publisher=deps.publisher,
        ledger=deps.ledger,
        request=body.to_domain(buyer_id=buyer.buyer_id, header_key=idempotency_key),
    )
    return CheckoutAccepted(
        checkout_id=accepted.checkout_id,
        events_url=deps.settings.events_url(accepted.checkout_id, buyer_id=buyer.buyer_id),
        buyer_events_url=deps.settings.buyer_events_url(buyer_id=buyer.buyer_id),
    )


CheckoutId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
]


@router.post(
    "/checkouts/{checkout_id}/cancellation",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ask the marketplace to cancel the buyer's order",
    dependencies=CANCELLATIONS_LIMITED,
    description=(
        "The buyer is the one of the token, as for `POST /api/checkouts`. Answers 202 once "
        "the request is durably in the `order.cancellation_requested` stream; the marketplace "
        "grants it only for the buyer's own confirmed order within its cancel window, and "
        "the outcome (`cancelled`, then `refunded`) arrives on the buyer's event stream."
    ),
    responses={
        401: {"model": TokenErrorOut, "description": "Buyer token missing, invalid or expired"},
        429: TOO_MANY_REQUESTS,
        503: {"model": ErrorOut, "description": "The stream is unreachable; retry later"},
    },
)
async def request_cancellation(
    checkout_id: CheckoutId, buyer: Buyer, deps: Deps
) -> CancellationAccepted:
    await service.request_cancellation(
        events=deps.events, checkout_id=checkout_id, buyer_id=buyer.buyer_id
    )
    return CancellationAccepted(checkout_id=checkout_id)
