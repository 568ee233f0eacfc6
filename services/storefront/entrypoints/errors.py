"""Domain and request errors mapped once to HTTP answers: 401, 403, 404, 409, 422 and 503,
never a traceback. The seller's pages get the same status as an HTML page (or, without a
session, a redirect to the sign-in page); the API gets JSON."""

import json
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from sqlalchemy.exc import SQLAlchemyError

from services.common.tokens import InvalidToken
from services.storefront.domain import (
    IdempotencyKeyReused,
    InvalidCheckout,
    InvalidRoomChange,
    NotYourRoom,
    RoomNotFound,
    RoomStateConflict,
    Violation,
)
from services.storefront.entrypoints.pages import page_headers, templates
from services.storefront.entrypoints.seller_session import (
    WRONG_LOGIN,
    CsrfRejected,
    SellerUnauthenticated,
    local_next,
)
from services.storefront.live_control import DealNotFound, WrongLogin
from services.storefront.service import CheckoutUnavailable, EventUnavailable

UNAVAILABLE_DETAIL = "checkout service temporarily unavailable, please retry"
EVENTS_UNAVAILABLE_DETAIL = "live room service temporarily unavailable, please retry"
DATABASE_UNAVAILABLE_DETAIL = "storefront database temporarily unavailable, please retry"
SIGN_IN_DETAIL = "sign in first: POST /api/seller/session (or the page /seller/login)"
CSRF_DETAIL = "the session's CSRF token is missing or wrong: send it as X-CSRF-Token"
RETRY_AFTER_SECONDS = "2"
_TOKEN_DETAILS = {
    "missing": "buyer token missing: start a session with POST /api/sessions and send its "
    "token as `Authorization: Bearer <token>` (or the livecart_buyer cookie)",
    "expired": "buyer token expired: start a new session with POST /api/sessions",
    "invalid": "buyer token invalid: forged, malformed or not issued by this storefront",
}

# FastAPI's wording for a body that is not a JSON object is terse; buyers' apps show `msg`.
_BODY_MESSAGES = {
    "json_invalid": "request body is not valid JSON",
    "missing": "a JSON request body is required",
    "model_attributes_type": "request body must be a JSON object (Content-Type: application/json)",
}


def install_error_handlers(app: FastAPI) -> None:
    """Register the storefront's error mappings on `app`."""
    app.add_exception_handler(InvalidToken, _unauthenticated)
    app.add_exception_handler(RoomNotFound, _room_not_found)
    app.add_exception_handler(InvalidCheckout, _invalid_checkout)
    app.add_exception_handler(IdempotencyKeyReused, _key_reused)
    app.add_exception_handler(CheckoutUnavailable, _unavailable)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(SellerUnauthenticated, _seller_unauthenticated)
    app.add_exception_handler(WrongLogin, _wrong_login)
    app.add_exception_handler(CsrfRejected, _seller_refused)
    app.add_exception_handler(NotYourRoom, _seller_refused)
    app.add_exception_handler(DealNotFound, _seller_refused)
    app.add_exception_handler(RoomStateConflict, _seller_refused)
    app.add_exception_handler(InvalidRoomChange, _seller_refused)
    app.add_exception_handler(EventUnavailable, _seller_refused)
    app.add_exception_handler(SQLAlchemyError, _seller_refused)


async def _unauthenticated(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidToken)
    detail = _TOKEN_DETAILS.get(exc.reason, f"buyer token {exc.reason}")
    challenge = "Bearer" if exc.reason == "missing" else 'Bearer error="invalid_token"'
    return JSONResponse(
        {"detail": detail, "reason": exc.reason},
        status_code=401,
        headers={"WWW-Authenticate": challenge},
    )


async def _room_not_found(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RoomNotFound)
    detail = f"no live room with id {exc.room_id!r}"
    if _is_page(request):
        return seller_error_page(request, 404, "This room doesn't exist", detail)
    return JSONResponse({"detail": detail}, status_code=404)


def _is_page(request: Request) -> bool:
    return not request.url.path.startswith("/api/")


async def _seller_unauthenticated(request: Request, _exc: Exception) -> Response:
    if _is_page(request):
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        target = back if request.method in ("GET", "HEAD") else "/seller"
        return RedirectResponse(f"/seller/login?next={quote(target, safe='/')}", status_code=303)
    return JSONResponse(
        {"detail": SIGN_IN_DETAIL, "reason": "signed_out"},
        status_code=401,
        headers={"WWW-Authenticate": 'Cookie realm="seller"'},
    )


async def _wrong_login(_request: Request, _exc: Exception) -> JSONResponse:
    # The sign-in page answers this itself (the form again); this is the JSON twin.
    return JSONResponse({"detail": WRONG_LOGIN, "reason": "wrong_login"}, status_code=401)


def _refusal(exc: Exception) -> tuple[int, str, str | list[Violation], dict[str, str]]:
    """Status, reason code, detail and headers of a refused seller request."""
    if isinstance(exc, CsrfRejected):
        return 403, "csrf", CSRF_DETAIL, {}
    if isinstance(exc, NotYourRoom):
        return 403, exc.reason, "this room is another seller's", {}
    if isinstance(exc, DealNotFound):
        return 404, "deal_not_found", str(exc), {}
    if isinstance(exc, RoomStateConflict):
        return 409, exc.reason, str(exc), {}
    if isinstance(exc, InvalidRoomChange):
        return 422, exc.reason, list(exc.violations), {}
    if isinstance(exc, EventUnavailable):
        return 503, "unavailable", EVENTS_UNAVAILABLE_DETAIL, {"Retry-After": RETRY_AFTER_SECONDS}
    return 503, "unavailable", DATABASE_UNAVAILABLE_DETAIL, {"Retry-After": RETRY_AFTER_SECONDS}


_PAGE_TITLES = {403: "Not yours", 404: "Not found", 409: "Not now", 422: "Please check the form",
                503: "Please try again"}  # fmt: skip


async def _seller_refused(request: Request, exc: Exception) -> Response:
    code, reason, detail, headers = _refusal(exc)
    if _is_page(request):
        text = detail if isinstance(detail, str) else "; ".join(v.msg for v in detail)
        return seller_error_page(request, code, _PAGE_TITLES[code], text, headers=headers)
    if isinstance(detail, list):
        violations = [{"type": v.type, "loc": ["body", *v.loc], "msg": v.msg} for v in detail]
        return JSONResponse({"detail": violations}, status_code=code, headers=headers)
    return JSONResponse({"detail": detail, "reason": reason}, status_code=code, headers=headers)


def seller_error_page(
    request: Request, code: int, title: str, message: str, *, headers: dict[str, str] | None = None
) -> Response:
    """A seller page saying what went wrong, with a way back."""
    back = local_next(urlsplit(request.headers.get("referer") or "").path)
    context = {"title": title, "message": message, "code": code, "back": back}
    headers = page_headers(request.app.state.deps) | (headers or {})
    return templates.TemplateResponse(
        request, "seller_error.html", context, status_code=code, headers=headers
    )


async def _invalid_checkout(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidCheckout)
    detail = [{"type": v.type, "loc": ["body", *v.loc], "msg": v.msg} for v in exc.violations]
    return JSONResponse({"detail": detail}, status_code=422)


async def _key_reused(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IdempotencyKeyReused)
    return JSONResponse({"detail": str(exc), "reason": exc.reason}, status_code=409)


async def _unavailable(_request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": UNAVAILABLE_DETAIL},
        status_code=503,
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


async def _invalid_request(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    detail = [_clarify(dict(error)) for error in exc.errors()]
    # ASCII JSON: a refused input may hold a lone surrogate, which UTF-8 cannot carry.
    text = json.dumps({"detail": jsonable_encoder(detail)}, ensure_ascii=True)
    return Response(text, status_code=422, media_type="application/json")


def _clarify(error: dict[str, Any]) -> dict[str, Any]:
    loc = tuple(error.get("loc", ()))
    whole_body = loc[:1] == ("body",) and all(isinstance(part, int) for part in loc[1:])
    message = _BODY_MESSAGES.get(str(error.get("type")))
    if whole_body and message:
        reason = (error.get("ctx") or {}).get("error")
        error["msg"] = f"{message}: {reason}" if reason else message
        # The raw input of a non-JSON body can be large and is of no use to the caller.
        error.pop("input", None)
    return error
