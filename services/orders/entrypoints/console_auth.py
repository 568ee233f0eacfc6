"""Who is asking, for the seller console: the session cookie resolved to a seller, and the
CSRF check of every unsafe request (the `X-CSRF-Token` header for the JSON API, the
`csrf_token` form field for the pages)."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, HTTPException, Request

from services.common.seller_auth import (
    CSRF_FIELD,
    CSRF_HEADER,
    CookiePolicy,
    SellerSession,
    csrf_matches,
)
from services.orders.adapters.images import ProductImages
from services.orders.adapters.sellers import SellerAccounts
from services.orders.entrypoints.app import OrdersRuntime
from services.orders.media import media_prefix

SESSION_COOKIE = "livecart_marketplace_seller"
LOGIN_COOKIE = "livecart_marketplace_login"
"""The sign-in form's own CSRF token (double submit: there is no session yet)."""
LOGIN_COOKIE_SECONDS = 15 * 60
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Console:
    """What the console's routes need, kept on `app.state.console`."""

    runtime: OrdersRuntime
    accounts: SellerAccounts
    session_cookie: CookiePolicy
    login_cookie: CookiePolicy
    images: ProductImages

    @classmethod
    def of(cls, runtime: OrdersRuntime) -> "Console":
        hours = runtime.settings.seller_session_hours
        secure = runtime.settings.seller_cookie_secure
        return cls(
            runtime=runtime,
            accounts=SellerAccounts(runtime.engine),
            session_cookie=CookiePolicy(SESSION_COOKIE, secure, int(hours * 3600)),
            login_cookie=CookiePolicy(LOGIN_COOKIE, secure, LOGIN_COOKIE_SECONDS),
            images=ProductImages(runtime.engine),
        )

    @property
    def media(self) -> str:
        """Where the marketplace's uploaded images are (`<public URL>/media/products/`)."""
        return media_prefix(self.runtime.settings.public_url)

    @property
    def session_ttl(self) -> timedelta:
        return timedelta(hours=self.runtime.settings.seller_session_hours)

    async def seller(self, request: Request) -> SellerSession | None:
        return await self.accounts.resolve(request.cookies.get(SESSION_COOKIE))


def console_of(request: Request) -> Console:
    console: Console = request.app.state.console
    return console


ConsoleDep = Annotated[Console, Depends(console_of)]


class SignInRequired(Exception):
    """A page asked for without a session: the handler redirects to the sign-in page."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


class CsrfRejected(Exception):
    """A form post without the session's CSRF token: the handler answers a 403 page."""


async def api_seller(request: Request, console: ConsoleDep) -> SellerSession:
    """The JSON API's seller: 401 without a session, 403 for a write without its token."""
    seller = await console.seller(request)
    if seller is None:
        raise HTTPException(401, "sign in first (POST /api/seller/session)")
    if request.method not in SAFE_METHODS and not csrf_matches(
        seller.csrf_token, request.headers.get(CSRF_HEADER)
    ):
        raise HTTPException(403, f"missing or wrong {CSRF_HEADER} header")
    return seller


async def page_seller(request: Request, console: ConsoleDep) -> SellerSession:
    """A page's seller: to the sign-in page without a session, 403 for a form post
    without the session's CSRF token."""
    seller = await console.seller(request)
    if seller is None:
        raise SignInRequired(_here(request))
    if request.method not in SAFE_METHODS:
        form = await request.form()
        token = form.get(CSRF_FIELD)
        if not isinstance(token, str) or not csrf_matches(seller.csrf_token, token):
            raise CsrfRejected()
    return seller


ApiSeller = Annotated[SellerSession, Depends(api_seller)]
PageSeller = Annotated[SellerSession, Depends(page_seller)]


def _here(request: Request) -> str:
    """Where to come back to after signing in: this page, or for a post the page it
    came from (the console's own pages only)."""
    if request.method in SAFE_METHODS:
        query = request.url.query
        return request.url.path + (f"?{query}" if query else "")
    return page_of(request.url.path)


def page_of(path: str) -> str:
    """The console page a form posted to `path` was on."""
    return "/seller/orders" if path.startswith("/seller/orders") else "/seller"


def local_path(candidate: str | None, default: str = "/seller") -> str:
    """`candidate` when it is a path on this site (never another origin), else `default`."""
    if not candidate or not candidate.startswith("/") or candidate.startswith("//"):
        return default
    if "\\" in candidate or not candidate.isprintable() or len(candidate) > 500:
        return default
    parts = urlsplit(candidate)
    if parts.scheme or parts.netloc:
        return default
    return candidate


def login_url(next_url: str) -> str:
    return "/seller/login?next=" + quote(next_url, safe="/")
