"""Domain and request errors mapped once to HTTP answers: 401, 404, 422 and 503, never a
traceback."""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from services.common.tokens import InvalidToken
from services.storefront.domain import InvalidCheckout, RoomNotFound
from services.storefront.service import CheckoutUnavailable

UNAVAILABLE_DETAIL = "checkout service temporarily unavailable, please retry"
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
    app.add_exception_handler(CheckoutUnavailable, _unavailable)
    app.add_exception_handler(RequestValidationError, _invalid_request)


async def _unauthenticated(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidToken)
    detail = _TOKEN_DETAILS.get(exc.reason, f"buyer token {exc.reason}")
    challenge = "Bearer" if exc.reason == "missing" else 'Bearer error="invalid_token"'
    return JSONResponse(
        {"detail": detail, "reason": exc.reason},
        status_code=401,
        headers={"WWW-Authenticate": challenge},
    )


async def _room_not_found(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RoomNotFound)
    return JSONResponse({"detail": f"no live room with id {exc.room_id!r}"}, status_code=404)


async def _invalid_checkout(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidCheckout)
    detail = [{"type": v.type, "loc": ["body", *v.loc], "msg": v.msg} for v in exc.violations]
    return JSONResponse({"detail": detail}, status_code=422)


async def _unavailable(_request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": UNAVAILABLE_DETAIL},
        status_code=503,
        headers={"Retry-After": RETRY_AFTER_SECONDS},
    )


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = [_clarify(dict(error)) for error in exc.errors()]
    return JSONResponse({"detail": jsonable_encoder(detail)}, status_code=422)


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
