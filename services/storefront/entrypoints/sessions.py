"""Buyer sessions over HTTP: `POST /api/sessions`, the `livecart_buyer` cookie, and the
dependency that says which buyer a request comes from.

The token travels as `Authorization: Bearer <token>` or in the cookie. The cookie is
HttpOnly (no script reads it) and Secure unless `LIVECART_BUYER_COOKIE_SECURE=false`
(local http); the room page's fetches send it (same origin) and so does its EventSource
on the notifier (`withCredentials`: another port or subdomain of the same site), so no
token is ever put in a URL. SameSite=Lax, not Strict: a buyer following a link to a
room from another site must arrive as themselves, not as a new buyer. Lax still keeps it
off cross-site POSTs, and the checkout API takes JSON bodies only (a cross-site page
cannot send one without a CORS preflight the storefront never grants).
"""

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Cookie, Depends, Header, Response, status
from pydantic import BaseModel, Field

from services.common.rate_limits import TOO_MANY_REQUESTS, per_address
from services.common.tokens import BUYER_COOKIE as BUYER_COOKIE  # re-exported for the pages
from services.common.tokens import bearer_token
from services.storefront import sessions
from services.storefront.config import StorefrontSettings
from services.storefront.entrypoints.deps import Deps
from services.storefront.sessions import BuyerSession

router = APIRouter(prefix="/api", tags=["sessions"])
SESSIONS_PER_ADDRESS = "sessions_per_address"
"""The rate limit of new sessions per client address (STOREFRONT_RATE_LIMIT_SESSIONS_...)."""


class SessionOut(BaseModel):
    """A new buyer: keep `token` and send it with every checkout (or rely on the cookie)."""

    buyer_id: str = Field(description="The buyer's id, as the marketplace will know them.")
    token: str = Field(description="Signed buyer token for `Authorization: Bearer`.")
    expires_in: int = Field(description="Seconds until the token expires.")


@dataclass(frozen=True, slots=True)
class RequestCredentials:
    """Where a request's buyer token was found (the header wins over the cookie)."""

    token: str | None


# The dependencies are `async def`: FastAPI runs a plain `def` one in its thread pool,
# a thread hop on every checkout for a few microseconds of work.
async def request_credentials(
    authorization: Annotated[
        str | None, Header(description="`Bearer <buyer token>` from `POST /api/sessions`.")
    ] = None,
    cookie: Annotated[
        str | None,
        Cookie(alias=BUYER_COOKIE, description="The buyer token, as the storefront set it."),
    ] = None,
) -> RequestCredentials:
    if authorization is None:
        return RequestCredentials(cookie or None)
    return RequestCredentials(bearer_token(authorization))


Credentials = Annotated[RequestCredentials, Depends(request_credentials)]


async def authenticated_buyer(credentials: Credentials, deps: Deps) -> BuyerSession:
    """The buyer of the request's token; InvalidToken (answered 401) without a valid one."""
    return sessions.authenticate(tokens=deps.tokens, token=credentials.token)


Buyer = Annotated[BuyerSession, Depends(authenticated_buyer)]


def set_buyer_cookie(
    response: Response, session: BuyerSession, settings: StorefrontSettings
) -> None:
    response.set_cookie(
        BUYER_COOKIE,
        session.token,
        max_age=settings.token_ttl_seconds,
        path="/",
        domain=settings.buyer_cookie_domain,
        samesite="lax",
        secure=settings.buyer_cookie_secure,
        httponly=True,
    )


@router.post(
    "/sessions",
    status_code=status.HTTP_201_CREATED,
    summary="Start a buyer session",
    dependencies=[Depends(per_address(SESSIONS_PER_ADDRESS))],
    responses={429: TOO_MANY_REQUESTS},
    description=(
        "A new buyer id and a signed, expiring token for it. The token is also set as the "
        f"`{BUYER_COOKIE}` cookie (HttpOnly, SameSite=Lax, Path=/, Secure unless local http). "
        "Send it with checkouts and to the notifier's buyer streams as `Authorization: "
        "Bearer <token>`, or let a browser send the cookie (EventSource `withCredentials`); "
        "no endpoint takes it in the URL."
    ),
)
async def start_session(response: Response, deps: Deps) -> SessionOut:
    session = sessions.open_session(tokens=deps.tokens)
    set_buyer_cookie(response, session, deps.settings)
    response.headers["Cache-Control"] = "no-store"
    return SessionOut(
        buyer_id=session.buyer_id, token=session.token, expires_in=deps.settings.token_ttl_seconds
    )
