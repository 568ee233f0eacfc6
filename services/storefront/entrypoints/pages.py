"""The server-rendered live room page (Jinja2 + one small script, no build step)."""

from pathlib import Path
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from services.storefront import service
from services.storefront.domain import RoomNotFound
from services.storefront.entrypoints.deps import Deps

PACKAGE_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = PACKAGE_DIR / "static"
templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")

router = APIRouter(include_in_schema=False)


@router.api_route("/", methods=["GET", "HEAD"])
async def home(deps: Deps) -> RedirectResponse:
    return RedirectResponse(f"/rooms/{deps.settings.default_room_id}", status_code=307)


@router.api_route("/rooms/{room_id}", methods=["GET", "HEAD"], response_class=HTMLResponse)
async def room_page(request: Request, room_id: str, deps: Deps) -> HTMLResponse:
    headers = {
        "Content-Security-Policy": _content_security_policy(deps.settings.notifier_public_url)
    }
    try:
        room = await service.get_room(rooms=deps.rooms, room_id=room_id)
    except RoomNotFound:
        return templates.TemplateResponse(
            request, "not_found.html", {"room_id": room_id}, status_code=404, headers=headers
        )
    return templates.TemplateResponse(request, "room.html", {"room": room}, headers=headers)


def _content_security_policy(notifier_url: str) -> str:
    # Only our own script runs; the one other origin the page talks to is the notifier (SSE).
    parts = urlsplit(notifier_url)
    notifier_origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""
    return (
        "default-src 'self'; "
        f"connect-src 'self' {notifier_origin}; "
        "img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
