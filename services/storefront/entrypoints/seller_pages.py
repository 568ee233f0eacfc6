"""The seller's pages: my rooms (and a new one), the live control of a room, its post-live
report, and the room's live dashboard. Plain HTML forms (each carrying the session's
CSRF token) that answer with a redirect back to the page; seller.js only adds comfort.

A form is read into the same models as the JSON API's bodies, leniently (a form holds
only text); what does not fit is answered 422 with a page naming the field.
"""

from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from fastapi import APIRouter, Request, status
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ValidationError

from services.storefront import live_control
from services.storefront.domain import (
    InvalidRoomChange,
    Violation,
    check_host,
    parse_price,
)
from services.storefront.entrypoints.deps import Deps
from services.storefront.entrypoints.pages import (
    live_room_or_none,
    page_headers,
    render_room,
    templates,
)
from services.storefront.entrypoints.seller_schemas import DealIn, PinIn, RoomIn
from services.storefront.entrypoints.seller_session import ChangingSeller, Seller, form_fields

MAX_OFFSET_MINUTES = 14 * 60

M = TypeVar("M", bound=BaseModel)

router = APIRouter(include_in_schema=False)


def _page(request: Request, deps: Deps, template: str, context: dict[str, Any]) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context, headers=page_headers(deps))


def _back(room_id: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(
        f"/seller/rooms/{room_id}{anchor}", status_code=status.HTTP_303_SEE_OTHER
    )


def _read(model: type[M], values: dict[str, Any]) -> M:
    """`values` (from a form) as `model`, or InvalidRoomChange naming each bad field."""
    try:
        return model.model_validate(values, strict=False)
    except ValidationError as exc:
        raise InvalidRoomChange(
            [Violation(tuple(e["loc"]), e["type"], f"{'.'.join(map(str, e['loc']))}: {e['msg']}")
             for e in exc.errors()]
        ) from None  # fmt: skip


def _given(fields: dict[str, str], *names: str) -> dict[str, str]:
    """The named fields the seller filled in (an empty input is no value)."""
    return {name: fields[name].strip() for name in names if fields.get(name, "").strip()}


def _local_time(fields: dict[str, str], name: str) -> datetime | None:
    """A `datetime-local` input as an aware time: seller.js sends the browser's offset
    (`tz_offset_minutes`, as JavaScript's getTimezoneOffset); without it, UTC."""
    text = fields.get(name, "").strip()
    if not text:
        return None
    try:
        offset = int(fields.get("tz_offset_minutes") or 0)
        if abs(offset) > MAX_OFFSET_MINUTES:
            raise ValueError("time zone offset out of range")
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRoomChange(
            [Violation((name,), "datetime_invalid", f"{name}: not a date and time")]
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone(-timedelta(minutes=offset)))
    return moment


@router.get("/seller", response_class=HTMLResponse)
async def my_rooms(request: Request, seller: Seller, deps: Deps) -> HTMLResponse:
    rooms = await deps.control.store.rooms_of(seller.seller_id)
    return _page(request, deps, "seller_rooms.html", {"seller": seller, "rooms": rooms})


@router.post("/seller/rooms")
async def create_room(request: Request, seller: ChangingSeller, deps: Deps) -> RedirectResponse:
    fields = await form_fields(request)
    values: dict[str, Any] = _given(fields, "title", "stream_url")
    values["scheduled_at"] = _local_time(fields, "scheduled_at")
    body = _read(RoomIn, values)
    room = await live_control.create_room(
        deps.control, seller=seller, title=body.title,
        scheduled_at=body.scheduled_at, stream_url=body.stream_url,
    )  # fmt: skip
    return _back(room.room_id)


@router.get("/seller/rooms/{room_id}", response_class=HTMLResponse)
async def room_control(request: Request, room_id: str, seller: Seller, deps: Deps) -> HTMLResponse:
    view = await live_control.seller_room(deps.control, seller=seller, room_id=room_id)
    context = {"seller": seller, "view": view, "room": view.room}
    context["notifier_url"] = deps.settings.notifier_for(seller.seller_id)  # the chat panel's
    return _page(request, deps, "seller_room.html", context)


@router.post("/seller/rooms/{room_id}/go-live")
async def go_live(room_id: str, seller: ChangingSeller, deps: Deps) -> RedirectResponse:
    await live_control.go_live(deps.control, seller=seller, room_id=room_id)
    return _back(room_id)


@router.post("/seller/rooms/{room_id}/end")
async def end_live(room_id: str, seller: ChangingSeller, deps: Deps) -> RedirectResponse:
    await live_control.end_live(deps.control, seller=seller, room_id=room_id)
    return _back(room_id)


@router.post("/seller/rooms/{room_id}/pins")
async def pin(
    request: Request, room_id: str, seller: ChangingSeller, deps: Deps
) -> RedirectResponse:
    body = _read(PinIn, _given(await form_fields(request), "sku", "max_per_checkout"))
    await live_control.pin_product(
        deps.control, seller=seller, room_id=room_id, sku=body.sku,
        max_per_checkout=body.max_per_checkout,
    )  # fmt: skip
    return _back(room_id, "#pinned")


@router.post("/seller/rooms/{room_id}/pins/{sku}/unpin")
async def unpin(room_id: str, sku: str, seller: ChangingSeller, deps: Deps) -> RedirectResponse:
    await live_control.unpin_product(deps.control, seller=seller, room_id=room_id, sku=sku)
    return _back(room_id, "#pinned")


@router.post("/seller/rooms/{room_id}/deals")
async def start_deal(
    request: Request, room_id: str, seller: ChangingSeller, deps: Deps
) -> RedirectResponse:
    fields = await form_fields(request)
    room = await live_control.owned_room(deps.control, seller=seller, room_id=room_id)
    values: dict[str, Any] = _given(
        fields, "sku", "units_cap", "per_buyer_limit", "starts_in_seconds"
    )
    values["starts_at"] = _local_time(fields, "starts_at")
    pinned = room.pinned(values.get("sku", ""))
    try:
        values["price_minor"] = parse_price(
            fields.get("price", ""), pinned.currency if pinned else "EUR"
        )
    except ValueError as exc:
        raise InvalidRoomChange([Violation(("price",), "price_invalid", str(exc))]) from None
    body = _read(DealIn, values)
    terms = live_control.DealTerms(
        sku=body.sku, price_minor=body.price_minor, units_cap=body.units_cap,
        per_buyer_limit=body.per_buyer_limit, starts_at=body.starts_at,
        starts_in_seconds=body.starts_in_seconds,
    )  # fmt: skip
    await live_control.start_deal(deps.control, seller=seller, room_id=room_id, terms=terms)
    return _back(room_id, "#pinned")


@router.post("/seller/rooms/{room_id}/deals/{deal_id}/end")
async def end_deal(
    room_id: str, deal_id: str, seller: ChangingSeller, deps: Deps
) -> RedirectResponse:
    await live_control.end_deal(deps.control, seller=seller, room_id=room_id, deal_id=deal_id)
    return _back(room_id, "#pinned")


@router.get("/seller/rooms/{room_id}/report", response_class=HTMLResponse)
async def report(request: Request, room_id: str, seller: Seller, deps: Deps) -> HTMLResponse:
    figures = await live_control.report(deps.control, seller=seller, room_id=room_id)
    return _page(request, deps, "seller_report.html", {"seller": seller, "report": figures})


@router.api_route(
    "/rooms/{room_id}/dashboard", methods=["GET", "HEAD"], response_class=HTMLResponse
)
async def dashboard(request: Request, room_id: str, seller: Seller, deps: Deps) -> HTMLResponse:
    """The room's live figures (sales, stock, checkouts per second): its seller's only."""
    live = await live_room_or_none(deps, room_id)
    if live is not None:
        check_host(live.room, room_id=room_id, seller_id=seller.seller_id)
    return await render_room(request, deps, "dashboard.html", room_id, live=live)
