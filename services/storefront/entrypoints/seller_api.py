"""The seller's JSON API under `/api/seller/…`: the twins of the seller pages.

Every route needs the seller's session cookie (401 without); every change also needs the
session's CSRF token as `X-CSRF-Token` (403 without). A room of another seller is 403,
an unknown one 404. Changes of a room answer only once their event is in its stream.
"""

from fastapi import APIRouter, status

from services.storefront import live_control
from services.storefront.entrypoints.deps import Deps
from services.storefront.entrypoints.schemas import ErrorOut
from services.storefront.entrypoints.seller_schemas import (
    CatalogProductOut,
    DealIn,
    DealOut,
    PinIn,
    ReportOut,
    RoomIn,
    SellerRoomOut,
)
from services.storefront.entrypoints.seller_session import ChangingSeller, Seller

ROOM_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut, "description": "No seller signed in"},
    403: {"model": ErrorOut, "description": "Another seller's room, or no CSRF token"},
    404: {"model": ErrorOut, "description": "No such room"},
}
CHANGE_ERRORS = ROOM_ERRORS | {
    409: {"model": ErrorOut, "description": "Not in the room's current state"},
    503: {"model": ErrorOut, "description": "The stream is unreachable; nothing changed"},
}

router = APIRouter(prefix="/api/seller", tags=["seller"], responses=ROOM_ERRORS)


@router.get("/rooms", summary="The signed-in seller's rooms: live first, then scheduled, ended")
async def my_rooms(seller: Seller, deps: Deps) -> list[SellerRoomOut]:
    rooms = await deps.control.store.rooms_of(seller.seller_id)
    return [SellerRoomOut.of(room) for room in rooms]


@router.post("/rooms", status_code=status.HTTP_201_CREATED, summary="Schedule a new room")
async def create_room(body: RoomIn, seller: ChangingSeller, deps: Deps) -> SellerRoomOut:
    room = await live_control.create_room(
        deps.control, seller=seller, title=body.title,
        scheduled_at=body.scheduled_at, stream_url=body.stream_url,
    )  # fmt: skip
    return SellerRoomOut.of(room)


@router.get("/catalog", summary="The seller's products, as the marketplace described them")
async def my_catalog(seller: Seller, deps: Deps) -> list[CatalogProductOut]:
    return [CatalogProductOut.of(p) for p in await deps.control.store.catalog_of(seller.seller_id)]


@router.get("/rooms/{room_id}", summary="A room of the seller, with its pins and deals")
async def my_room(room_id: str, seller: Seller, deps: Deps) -> SellerRoomOut:
    view = await live_control.seller_room(deps.control, seller=seller, room_id=room_id)
    return SellerRoomOut.of_control(view)


@router.post("/rooms/{room_id}/go-live", summary="Go live: buying opens", responses=CHANGE_ERRORS)
async def go_live(room_id: str, seller: ChangingSeller, deps: Deps) -> SellerRoomOut:
    room = await live_control.go_live(deps.control, seller=seller, room_id=room_id)
    return SellerRoomOut.of(room)


@router.post("/rooms/{room_id}/end", summary="End the live: buying closes", responses=CHANGE_ERRORS)
async def end_live(room_id: str, seller: ChangingSeller, deps: Deps) -> SellerRoomOut:
    room = await live_control.end_live(deps.control, seller=seller, room_id=room_id)
    return SellerRoomOut.of(room)


@router.post(
    "/rooms/{room_id}/pins",
    summary="Pin a product of the seller's catalog (again: a new per-checkout cap)",
    responses=CHANGE_ERRORS,
)
async def pin(room_id: str, body: PinIn, seller: ChangingSeller, deps: Deps) -> SellerRoomOut:
    room = await live_control.pin_product(
        deps.control, seller=seller, room_id=room_id, sku=body.sku,
        max_per_checkout=body.max_per_checkout,
    )  # fmt: skip
    return SellerRoomOut.of(room)


@router.delete("/rooms/{room_id}/pins/{sku}", summary="Unpin a product", responses=CHANGE_ERRORS)
async def unpin(room_id: str, sku: str, seller: ChangingSeller, deps: Deps) -> SellerRoomOut:
    room = await live_control.unpin_product(deps.control, seller=seller, room_id=room_id, sku=sku)
    return SellerRoomOut.of(room)


@router.post(
    "/rooms/{room_id}/deals",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Ask the marketplace for a flash deal on a pinned product",
    description="202 once `flash_deal.requested` holds it; the marketplace checks the product "
    "is the seller's and the price at most the list price, and enforces cap and limit.",
    responses=CHANGE_ERRORS,
)
async def start_deal(room_id: str, body: DealIn, seller: ChangingSeller, deps: Deps) -> DealOut:
    terms = live_control.DealTerms(
        sku=body.sku, price_minor=body.price_minor, units_cap=body.units_cap,
        per_buyer_limit=body.per_buyer_limit, starts_at=body.starts_at,
        starts_in_seconds=body.starts_in_seconds,
    )  # fmt: skip
    deal = await live_control.start_deal(deps.control, seller=seller, room_id=room_id, terms=terms)
    return DealOut.of(deal)


@router.post(
    "/rooms/{room_id}/deals/{deal_id}/end",
    status_code=status.HTTP_202_ACCEPTED,
    summary="End a flash deal now (the same deal id, ending now)",
    responses=CHANGE_ERRORS,
)
async def end_deal(room_id: str, deal_id: str, seller: ChangingSeller, deps: Deps) -> DealOut:
    deal = await live_control.end_deal(
        deps.control, seller=seller, room_id=room_id, deal_id=deal_id
    )
    return DealOut.of(deal)


@router.get("/rooms/{room_id}/report", summary="The post-live report of a room")
async def report(room_id: str, seller: Seller, deps: Deps) -> ReportOut:
    return ReportOut.of(await live_control.report(deps.control, seller=seller, room_id=room_id))
