"""What a buyer request must bring: a valid buyer token and, to resume, a well-formed
Last-Event-ID. Refusals are answered as JSON with a reason code, before any stream starts.

The token comes as `Authorization: Bearer` (curl, apps) or in the storefront's HttpOnly
buyer cookie (a browser's EventSource opened `withCredentials`), never in the URL: a
query string ends up in access logs, proxies and browser history.
"""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Cookie, Header, Request
from fastapi.responses import JSONResponse

from contracts import EntryId
from services.common.tokens import BUYER_COOKIE, BuyerTokens, InvalidToken, bearer_token


class Refused(Exception):
    """A request the notifier will not serve: HTTP status, reason code, human detail."""

    def __init__(
        self, status_code: int, reason: str, detail: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(reason)
        self.status_code = status_code
        self.reason = reason
        self.detail = detail
        self.headers = headers


async def refused_response(_request: Request, exc: Exception) -> JSONResponse:
    """`{"reason": ..., "detail": ...}` with the refusal's status (registered on the app)."""
    assert isinstance(exc, Refused)
    return JSONResponse(
        {"reason": exc.reason, "detail": exc.detail},
        status_code=exc.status_code,
        headers=exc.headers,
    )


def buyer_dependency(tokens: BuyerTokens) -> Callable[..., Awaitable[str]]:
    """A FastAPI dependency giving the buyer of the request's token, or refusing with 401."""

    # `async def`, as every dependency here: FastAPI runs a plain `def` one in its thread
    # pool, a thread hop per request for microseconds of work.
    async def authenticated_buyer(
        authorization: Annotated[
            str | None,
            Header(
                description="`Bearer <buyer token>` (from `POST /api/sessions`); wins "
                "over the cookie."
            ),
        ] = None,
        cookie: Annotated[
            str | None,
            Cookie(
                alias=BUYER_COOKIE,
                description="The buyer token as the storefront set it (HttpOnly); a page's "
                "`EventSource` sends it when opened with `withCredentials: true`.",
            ),
        ] = None,
    ) -> str:
        try:
            # An empty header counts as none here: the cookie is read instead.
            return tokens.buyer_of(bearer_token(authorization or None) or cookie or None)
        except InvalidToken as exc:
            challenge = "Bearer" if exc.reason == "missing" else 'Bearer error="invalid_token"'
            raise Refused(
                401, exc.reason, _why(exc.reason), headers={"WWW-Authenticate": challenge}
            ) from exc

    return authenticated_buyer


async def resume_after(
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            description="The last entry id the client saw; only later statuses are sent.",
        ),
    ] = None,
) -> EntryId | None:
    """The client's Last-Event-ID as an entry id. A malformed one is refused with 400 rather
    than silently replaying everything: browsers only send back ids the notifier sent."""
    if last_event_id is None or not last_event_id.strip():
        return None
    try:
        return EntryId.parse(last_event_id.strip())
    except ValueError as exc:
        raise Refused(
            400, "malformed_last_event_id", "Last-Event-ID is not a stream entry id"
        ) from exc


def _why(reason: str) -> str:
    if reason != "missing":
        return f"buyer token {reason}"
    # Said even to a `?token=` request: the URL is no place for a token (access logs).
    return (
        f"buyer token missing: send the `{BUYER_COOKIE}` cookie (EventSource with "
        "withCredentials) or an `Authorization: Bearer` header; a token in the URL is not read"
    )
