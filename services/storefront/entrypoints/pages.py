"""The server-rendered pages (Jinja2 + small scripts, no build step): the live room a buyer
watches and buys in, and the seller's live dashboard of that room."""

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from services.storefront import service, sessions
from services.storefront.domain import RoomNotFound
from services.storefront.entrypoints.deps import Deps
from services.storefront.entrypoints.sessions import BUYER_COOKIE, set_buyer_cookie

PACKAGE_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = PACKAGE_DIR / "static"
templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")

router = APIRouter(include_in_schema=False)


@router.api_route("/", methods=["GET", "HEAD"])
async def home(deps: Deps) -> RedirectResponse:
    return RedirectResponse(f"/rooms/{deps.settings.default_room_id}", status_code=307)


@router.api_route("/rooms/{room_id}", methods=["GET", "HEAD"], response_class=HTMLResponse)
async def room_page(request: Request, room_id: str, deps: Deps) -> HTMLResponse:
    """The live room. Every visit (re)issues the buyer cookie: the same buyer while the
    token is valid (the session slides on), a new one otherwise, so a first-time visitor
    can buy at once."""
    if request.method != "GET":
        return await _render(request, deps, "room.html", room_id)
    session = sessions.resume_session(tokens=deps.tokens, token=request.cookies.get(BUYER_COOKIE))
    # The room's live stream goes to the buyer's own notifier (the one their checkouts'
    # events_url names), so viewers spread over the notifier replicas.
    notifier = deps.settings.notifier_for(session.buyer_id)
    page = await _render(request, deps, "room.html", room_id, notifier_url=notifier)
    if page.status_code == 200:
        set_buyer_cookie(page, session, deps.settings)
    return page


@router.api_route(
    "/rooms/{room_id}/dashboard", methods=["GET", "HEAD"], response_class=HTMLResponse
)
async def dashboard_page(request: Request, room_id: str, deps: Deps) -> HTMLResponse:
    """The seller's live figures for the room: sales, stock, checkouts per second."""
    return await _render(request, deps, "dashboard.html", room_id)


async def _render(
    request: Request, deps: Deps, template: str, room_id: str, *, notifier_url: str | None = None
) -> HTMLResponse:
    headers = {
        "Content-Security-Policy": _content_security_policy(deps.settings.notifier_origin),
        # Per visitor (buyer cookie) and live: never from a shared cache.
        "Cache-Control": "private, no-store",
    }
    try:
        live = await service.get_live_room(rooms=deps.rooms, stock=deps.stock, room_id=room_id)
    except RoomNotFound:
        return templates.TemplateResponse(
            request, "not_found.html", {"room_id": room_id}, status_code=404, headers=headers
        )
    context = {
        "room": live.room,
        "live": live,
        "notifier_url": notifier_url or deps.settings.notifier_public_url.rstrip("/"),
    }
    return templates.TemplateResponse(request, template, context, headers=headers)


def _content_security_policy(notifier_origin: str) -> str:
    # Only our own scripts run; the one other origin the page talks to is the notifier (SSE).
    return (
        "default-src 'self'; "
        f"connect-src 'self' {notifier_origin}; "
        "img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
