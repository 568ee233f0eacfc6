"""The server-rendered buyer pages (Jinja2 + small scripts, no build step): the live room a
buyer watches and buys in. The seller's pages (dashboard included) are in seller_pages.py."""

import re
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from contracts import utc_now
from services.storefront import service, sessions
from services.storefront.domain import RoomNotFound, format_price
from services.storefront.entrypoints.deps import Deps, StorefrontDeps
from services.storefront.entrypoints.money_format import buyer_locale, format_money
from services.storefront.entrypoints.sessions import BUYER_COOKIE, set_buyer_cookie
from services.storefront.service import LiveRoom

PACKAGE_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = PACKAGE_DIR / "static"
templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")
templates.env.globals["format_price"] = format_price
templates.env.globals["format_money"] = format_money
MARKETPLACE_IMAGE = re.compile(r"[0-9a-f]{64}\.(?:png|jpg|webp|gif)")


def marketplace_image(url: str, prefix: str) -> bool:
    """Whether `url` is an image a seller uploaded to the marketplace (`prefix` is its
    `/media/products/` address, StorefrontSettings.marketplace_media; room.js checks the same)."""
    return (
        bool(prefix)
        and url.startswith(prefix)
        and bool(MARKETPLACE_IMAGE.fullmatch(url[len(prefix) :]))
    )


def safe_image_url(url: object, media: str = "") -> str:
    """`url` when a page may show it as an image or a stream (https://, this origin's own
    paths, or an upload under the marketplace's `media` prefix); "" otherwise. The
    `safe_image` macro of _macros.html; room.js's safeImage() is its twin."""
    if not isinstance(url, str) or not url:
        return ""
    if url.startswith("https://") or (url.startswith("/") and not url.startswith("//")):
        return url
    return url if marketplace_image(url, media) else ""


templates.env.globals["safe_image_url"] = safe_image_url


def _buyer_locale(request: Request) -> dict[str, str]:
    # Every page's prices in the buyer's locale (the `money` macro of _macros.html).
    return {"locale": buyer_locale(request.headers.get("accept-language"))}


templates.context_processors.append(_buyer_locale)

router = APIRouter(include_in_schema=False)


@router.api_route("/", methods=["GET", "HEAD"])
async def home(deps: Deps) -> RedirectResponse:
    return RedirectResponse(f"/rooms/{deps.settings.default_room_id}", status_code=307)


@router.api_route("/rooms/{room_id}", methods=["GET", "HEAD"], response_class=HTMLResponse)
async def room_page(request: Request, room_id: str, deps: Deps) -> HTMLResponse:
    """The live room. Every visit (re)issues the buyer cookie: the same buyer while the
    token is valid (the session slides on), a new one otherwise, so a first-time visitor
    can buy at once. A visit while the room is live counts the buyer as a viewer."""
    if request.method != "GET":
        return await render_room(request, deps, "room.html", room_id)
    session = sessions.resume_session(tokens=deps.tokens, token=request.cookies.get(BUYER_COOKIE))
    # The room's live stream goes to the buyer's own notifier (the one their checkouts'
    # events_url names), so viewers spread over the notifier replicas.
    notifier = deps.settings.notifier_for(session.buyer_id)
    live = await live_room_or_none(deps, room_id)
    page = await render_room(request, deps, "room.html", room_id, live=live, notifier_url=notifier)
    if live is not None:
        set_buyer_cookie(page, session, deps.settings)
        await service.record_viewer(viewers=deps.viewers, room=live.room, buyer_id=session.buyer_id)
    return page


async def live_room_or_none(deps: Deps, room_id: str) -> LiveRoom | None:
    try:
        return await service.get_live_room(rooms=deps.rooms, stock=deps.stock, room_id=room_id)
    except RoomNotFound:
        return None


async def render_room(
    request: Request,
    deps: Deps,
    template: str,
    room_id: str,
    *,
    live: LiveRoom | None = None,
    notifier_url: str | None = None,
) -> HTMLResponse:
    live = live or await live_room_or_none(deps, room_id)
    if live is None:
        return templates.TemplateResponse(
            request, "not_found.html", {"room_id": room_id}, status_code=404,
            headers=page_headers(deps),
        )  # fmt: skip
    context = {
        "room": live.room,
        "live": live,
        "notifier_url": notifier_url or deps.settings.notifier_public_url.rstrip("/"),
        # The server's clock decides whether a deal counts down or runs when the page is
        # drawn; the page's script goes on from it (a phone's clock may be off).
        "now": utc_now(),
        # The marketplace's uploaded images are shown (safe_image, room.js) from here only.
        "marketplace_media": deps.settings.marketplace_media,
    }
    return templates.TemplateResponse(request, template, context, headers=page_headers(deps))


def page_headers(deps: StorefrontDeps) -> dict[str, str]:
    """Every page's headers: its Content-Security-Policy, and never from a shared cache
    (per visitor, and live)."""
    return {
        "Content-Security-Policy": _content_security_policy(
            deps.settings.notifier_origin,
            deps.settings.marketplace_origin,
            deps.settings.marketplace_media,
        ),
        "Cache-Control": "private, no-store",
    }


def _content_security_policy(
    notifier_origin: str, marketplace_origin: str, marketplace_media: str = ""
) -> str:
    # Only our own scripts run; the other origins the page talks to are the notifier
    # (SSE) and the seller's stream: any https:// address, fetched by the HLS player
    # (static/player.js) and played through a blob: MediaSource. Product images may be
    # any https:// address too (the marketplace's image URLs), and the images sellers
    # upload to the marketplace, from its /media/products/ path only (http in development).
    images = " ".join(filter(None, ["'self' data: https:", marketplace_media]))
    return (
        "default-src 'self'; "
        f"connect-src 'self' {notifier_origin} https:; "
        f"img-src {images}; media-src 'self' blob: https:; "
        # The marketplace's payment page, in the room's payment dialog (payment.js).
        f"frame-src https: {marketplace_origin}; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
