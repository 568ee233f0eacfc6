"""How the console's pages answer: Jinja2 templates, the flash message a form post leaves
for the page it redirects to, and the headers every console response carries."""

from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.common.seller_auth import SellerSession
from services.orders.entrypoints.console_auth import console_of, local_path

PACKAGE_DIR = Path(__file__).resolve().parent.parent
STATIC_DIR = PACKAGE_DIR / "static"
templates = Jinja2Templates(directory=PACKAGE_DIR / "templates")


def money(minor: int, currency: str) -> str:
    """`4990, "EUR"` → `49.90 EUR` (two decimals, as the console's price fields take)."""
    whole, cents = divmod(minor, 100)
    return f"{whole:,}.{cents:02d} {currency}"


def major(minor: int) -> str:
    """`4990` → `49.90`, as a price field is typed."""
    whole, cents = divmod(minor, 100)
    return f"{whole}.{cents:02d}"


templates.env.filters["money"] = money
templates.env.filters["major"] = major

FLASH_COOKIE = "livecart_marketplace_flash"
FLASH_KINDS = ("ok", "error")

CONTENT_SECURITY_POLICY = (
    # Only our own scripts and styles; product images may come from any https origin.
    "default-src 'self'; img-src 'self' https: data:; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
CONSOLE_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)


def console_headers(media: str = "") -> tuple[tuple[bytes, bytes], ...]:
    """CONSOLE_HEADERS, with the uploaded images' address (`<ORDERS_PUBLIC_URL>/media/
    products/`) in img-src too: the console may be reached at another origin than it."""
    if not media:
        return CONSOLE_HEADERS
    policy = CONTENT_SECURITY_POLICY.replace("data:;", f"data: {media};", 1)
    return ((b"content-security-policy", policy.encode()), *CONSOLE_HEADERS[1:])


class ConsoleHeaders:
    """Adds the console's headers to every answer under /seller and /api/seller: a
    strict CSP, and no-store (pages and answers are one seller's)."""

    def __init__(self, app: ASGIApp, media: str = "") -> None:
        self.app = app
        self.headers = console_headers(media)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path.startswith("/seller") or path.startswith("/api/seller")):
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in self.headers if n not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    seller: SellerSession | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    """A page, with the flash message waiting for it (shown once, then cleared)."""
    flash = read_flash(request)
    values = {"seller": seller, "flash": flash, **(context or {})}
    page = templates.TemplateResponse(request, template, values, status_code=status_code)
    if flash is not None:
        secure = console_of(request).session_cookie.secure
        page.delete_cookie(FLASH_COOKIE, path="/", httponly=True, secure=secure, samesite="strict")
    return page


def redirect(
    request: Request, url: str, message: str | None = None, *, ok: bool = True
) -> Response:
    """303 to `url`, leaving `message` for the page there."""
    answer = RedirectResponse(url, status_code=303)
    if message is not None:
        secure = console_of(request).session_cookie.secure
        value = quote(f"{'ok' if ok else 'error'}:{message[:300]}", safe="", errors="replace")
        answer.set_cookie(
            FLASH_COOKIE,
            value,
            max_age=60,
            path="/",
            httponly=True,
            secure=secure,
            samesite="strict",
        )
    return answer


def back_to(request: Request, default: str) -> str:
    """The console page a form was posted from (its Referer, when it is one of ours), so
    the seller lands where they were, filters and all; else `default`."""
    try:
        referer = urlsplit(request.headers.get("referer", ""))
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return default
    if referer.netloc != request.headers.get("host") or not referer.path.startswith("/seller"):
        return default
    if referer.path.startswith("/seller/login"):
        return default
    return local_path(referer.path + (f"?{referer.query}" if referer.query else ""), default)


def read_flash(request: Request) -> dict[str, str] | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    kind, _, text = unquote(raw, errors="replace").partition(":")
    if kind not in FLASH_KINDS or not text:
        return None
    return {"kind": kind, "text": text}
