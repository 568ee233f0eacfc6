"""Every way a console request can fail, mapped once to an answer: JSON 4xx for the API,
a redirect or an error page for the HTML side. No input makes a 5xx."""

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from services.common.validation import validation_error_response
from services.orders.domain import (
    IllegalTransition,
    InvalidInput,
    NotFound,
    NotYours,
    OrderError,
    ProductExists,
)
from services.orders.entrypoints.console_auth import (
    CsrfRejected,
    SignInRequired,
    login_url,
    page_of,
)
from services.orders.entrypoints.console_web import back_to, redirect, render
from services.orders.media import ImageTooLarge, ImageTypeRefused

DOMAIN_STATUS: tuple[tuple[type[OrderError], int], ...] = (
    (ImageTooLarge, 413),
    (ImageTypeRefused, 415),
    (NotFound, 404),
    (NotYours, 403),
    (ProductExists, 409),
    (InvalidInput, 422),
    (IllegalTransition, 409),
)

PAGE_STATUS = {403: "Not yours", 404: "Not found"}
"""Refusals a page answers with an error page; the others come back as a flash message."""


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(SignInRequired, _sign_in_first)
    app.add_exception_handler(CsrfRejected, _csrf_rejected)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(OrderError, _refused)


def status_of(exc: OrderError) -> int:
    """The HTTP status of a domain error; one not named here is a conflict with the state."""
    return next((status for kind, status in DOMAIN_STATUS if isinstance(exc, kind)), 409)


async def _refused(request: Request, exc: Exception) -> Response:
    """A seller's request the marketplace refuses: JSON for the API, a flash on the page."""
    assert isinstance(exc, OrderError)
    message = _printable(str(exc))
    status = status_of(exc)
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": message, "reason": exc.reason}, status_code=status)
    if status in PAGE_STATUS:  # the page's form named something it may not touch
        context = {"title": PAGE_STATUS[status], "message": message}
        return render(request, "error.html", context, status_code=status)
    return redirect(request, back_to(request, page_of(request.url.path)), message, ok=False)


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return redirect(request, login_url(exc.next_url))


async def _csrf_rejected(request: Request, _exc: Exception) -> Response:
    context = {
        "title": "This form has expired",
        "message": "The form did not carry this session's security token (it is stale, or "
        "it was not sent from this site). Reload the page and try again.",
    }
    return render(request, "error.html", context, status_code=403)


async def _invalid_request(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    path = request.url.path
    if path.startswith("/seller"):
        back = page_of(path) if request.method == "GET" else back_to(request, page_of(path))
        return redirect(request, back, "Check the form: " + first_problem(exc), ok=False)
    # Not FastAPI's default: it echoes the input, and a lone surrogate in it makes a 500.
    return validation_error_response(plain_errors(exc.errors()))


def plain_errors(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Pydantic's errors without the input (it may not even be encodable) or the context."""
    return [
        {
            "type": str(error.get("type", "invalid")),
            "loc": [_printable(part) for part in error.get("loc", ())],
            "msg": _printable(error.get("msg", "invalid")),
        }
        for error in errors
    ]


def first_problem(exc: RequestValidationError) -> str:
    errors = plain_errors(exc.errors())
    if not errors:
        return "invalid input"
    error = errors[0]
    field = next((str(p) for p in reversed(error["loc"]) if isinstance(p, str)), "")
    field = "" if field in {"body", "query", "path"} else f"{field.replace('_', ' ')}: "
    return f"{field}{error['msg']}"


def _printable(value: Any) -> Any:
    if isinstance(value, int):
        return value
    return str(value).encode("utf-8", "replace").decode("utf-8")[:200]
