"""What routes get injected: the use cases' collaborators, built once by the app factory."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from services.common.seller_auth import CookiePolicy
from services.storefront.config import StorefrontSettings
from services.storefront.live_control import LiveControl, SellerAccounts
from services.storefront.service import (
    CheckoutPublisher,
    IdempotencyLedger,
    LiveEventPublisher,
    RoomReader,
    StockReader,
    ViewerLog,
)
from services.storefront.sessions import TokenIssuer

SELLER_COOKIE = "livecart_seller"
LOGIN_COOKIE = "livecart_seller_login"
"""The sign-in form's own CSRF token (double submit: this cookie and a hidden field)."""
LOGIN_FORM_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class StorefrontDeps:
    settings: StorefrontSettings
    rooms: RoomReader
    stock: StockReader
    publisher: CheckoutPublisher
    ledger: IdempotencyLedger
    tokens: TokenIssuer
    events: LiveEventPublisher
    viewers: ViewerLog
    accounts: SellerAccounts
    control: LiveControl

    @property
    def seller_cookie(self) -> CookiePolicy:
        hours = self.settings.seller_session_hours
        return CookiePolicy(SELLER_COOKIE, self.settings.seller_cookie_secure, int(hours * 3600))

    @property
    def login_cookie(self) -> CookiePolicy:
        return CookiePolicy(LOGIN_COOKIE, self.settings.seller_cookie_secure, LOGIN_FORM_SECONDS)


async def get_deps(request: Request) -> StorefrontDeps:
    # async: FastAPI runs a plain `def` dependency in its thread pool, a thread hop per request.
    deps: StorefrontDeps = request.app.state.deps
    return deps


Deps = Annotated[StorefrontDeps, Depends(get_deps)]
