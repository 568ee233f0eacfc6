"""Seller sign-in on the storefront: the sign-in page and its JSON twin, sign-out, and the
dependencies that say which seller a request comes from.

The session cookie (`livecart_seller`: HttpOnly, SameSite=Strict, Secure unless the
settings say plain http) holds an opaque token the database knows only as its SHA-256.
Every unsafe request must also carry the session's CSRF token, as the `csrf_token` form
field or the `X-CSRF-Token` header. The sign-in form itself is protected by a double
submit: a random token in a short-lived cookie and the same in a hidden field.
"""

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Header, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse

from services.common.seller_auth import (
    CSRF_FIELD,
    SellerSession,
    csrf_matches,
    new_token,
)
from services.storefront import live_control
from services.storefront.entrypoints.deps import LOGIN_COOKIE, SELLER_COOKIE, Deps
from services.storefront.entrypoints.pages import page_headers, templates
from services.storefront.entrypoints.seller_schemas import LoginIn, SellerSessionOut

WRONG_LOGIN = "Wrong email or password"
MAX_TOKEN_LENGTH = 256
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

router = APIRouter(tags=["seller"])


class SellerUnauthenticated(Exception):
    """No signed-in seller: 401 for the API, a redirect to the sign-in page for pages."""


class CsrfRejected(PermissionError):
    """An unsafe request without the session's (or the sign-in form's) CSRF token."""


async def form_fields(request: Request) -> dict[str, str]:
    """The text fields of a form post (nothing for another body)."""
    if not request.headers.get("content-type", "").startswith(FORM_TYPES):
        return {}
    try:
        form = await request.form()
    except Exception:  # a malformed form body is no form at all
        return {}
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def current_seller(request: Request, deps: Deps) -> SellerSession | None:
    token = request.cookies.get(SELLER_COOKIE)
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    return await deps.accounts.session(token)


async def signed_in_seller(request: Request, deps: Deps) -> SellerSession:
    seller = await current_seller(request, deps)
    if seller is None:
        raise SellerUnauthenticated()
    return seller


async def changing_seller(
    request: Request,
    deps: Deps,
    x_csrf_token: Annotated[
        str | None, Header(description="The session's CSRF token (or the csrf_token field).")
    ] = None,
) -> SellerSession:
    """The signed-in seller of an unsafe request that carries the session's CSRF token."""
    seller = await signed_in_seller(request, deps)
    given = (
        x_csrf_token if x_csrf_token is not None else (await form_fields(request)).get(CSRF_FIELD)
    )
    if not csrf_matches(seller.csrf_token, given):
        raise CsrfRejected("the session's CSRF token is missing or wrong")
    return seller


Seller = Annotated[SellerSession, Depends(signed_in_seller)]
ChangingSeller = Annotated[SellerSession, Depends(changing_seller)]


def local_next(target: str | None, default: str = "/seller") -> str:
    """`target` when it is a path on this site (never another host); else `default`."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(not ch.isprintable() or ch == "\\" for ch in target):
        return default
    return target


async def _sign_in(deps: Deps, response: Response, email: str, password: str) -> SellerSession:
    seller, session = await live_control.sign_in(
        accounts=deps.accounts, email=email, password=password,
        ttl=timedelta(hours=deps.settings.seller_session_hours),
    )  # fmt: skip
    deps.seller_cookie.set(response, session.token)
    response.headers["Cache-Control"] = "no-store"
    return seller


def login_page(
    request: Request, deps: Deps, *, next_path: str, error: str | None = None, code: int = 200
) -> HTMLResponse:
    """The sign-in form with a fresh form token (in its cookie and its hidden field)."""
    token = new_token()
    context = {"csrf_token": token, "next": next_path, "error": error}
    page = templates.TemplateResponse(
        request, "seller_login.html", context, status_code=code, headers=page_headers(deps)
    )
    deps.login_cookie.set(page, token)
    return page


@router.get("/seller/login", include_in_schema=False, response_model=None)
async def login_form(request: Request, deps: Deps, next: str | None = None) -> Response:
    target = local_next(next)
    if await current_seller(request, deps) is not None:
        return RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
    return login_page(request, deps, next_path=target)


@router.post("/seller/login", include_in_schema=False, response_model=None)
async def login_submit(request: Request, deps: Deps) -> Response:
    fields = await form_fields(request)
    target = local_next(fields.get("next"))
    form_token = request.cookies.get(LOGIN_COOKIE)
    if not form_token or not csrf_matches(form_token, fields.get(CSRF_FIELD)):
        error = "This sign-in form has expired: please sign in again."
        return login_page(request, deps, next_path=target, error=error, code=403)
    try:
        login = LoginIn.model_validate(
            {"email": fields.get("email", ""), "password": fields.get("password", "")}
        )
        redirect = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
        await _sign_in(deps, redirect, login.email, login.password)
    except (ValueError, live_control.WrongLogin):  # ValidationError is a ValueError
        return login_page(request, deps, next_path=target, error=WRONG_LOGIN, code=401)
    deps.login_cookie.clear(redirect)
    return redirect


@router.post("/seller/logout", include_in_schema=False, response_model=None)
async def logout(request: Request, deps: Deps, _seller: ChangingSeller) -> Response:
    redirect = RedirectResponse("/seller/login", status_code=status.HTTP_303_SEE_OTHER)
    await _sign_out(request, deps, redirect)
    return redirect


async def _sign_out(request: Request, deps: Deps, response: Response) -> None:
    await deps.accounts.end_session(request.cookies.get(SELLER_COOKIE) or "")
    deps.seller_cookie.clear(response)


@router.post(
    "/api/seller/session",
    summary="Sign a seller in (JSON twin of the sign-in page)",
    description="Sets the `livecart_seller` cookie; send `csrf_token` as `X-CSRF-Token` "
    f"with every change. 401 `{WRONG_LOGIN}` otherwise.",
    responses={401: {"description": WRONG_LOGIN}},
)
async def api_sign_in(body: LoginIn, response: Response, deps: Deps) -> SellerSessionOut:
    seller = await _sign_in(deps, response, body.email, body.password)
    return SellerSessionOut(
        seller_id=seller.seller_id, name=seller.name, csrf_token=seller.csrf_token
    )


_SIGNED_OUT: dict[int | str, dict[str, Any]] = {401: {"description": "No seller signed in"}}


@router.get(
    "/api/seller/session",
    summary="The signed-in seller (401 when nobody is)",
    responses=_SIGNED_OUT,
)
async def api_session(seller: Seller) -> SellerSessionOut:
    return SellerSessionOut(
        seller_id=seller.seller_id, name=seller.name, csrf_token=seller.csrf_token
    )


@router.delete(
    "/api/seller/session",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Sign out",
    responses={**_SIGNED_OUT, 403: {"description": "No CSRF token, or not the session's"}},
)
async def api_sign_out(request: Request, deps: Deps, _seller: ChangingSeller) -> Response:
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    await _sign_out(request, deps, response)
    return response
