"""Signing in and out of the seller console: the sign-in page and its form post, sign-out,
and the same as JSON (`/api/seller/session`) for scripts and tests."""

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse

from services.common.seller_auth import SellerSession, csrf_matches, new_token
from services.orders.entrypoints.console_auth import (
    LOGIN_COOKIE,
    SESSION_COOKIE,
    ApiSeller,
    ConsoleDep,
    CsrfRejected,
    PageSeller,
    local_path,
)
from services.orders.entrypoints.console_schemas import Credentials, Problem, SessionOut
from services.orders.entrypoints.console_web import redirect, render

WRONG_LOGIN = "Wrong email or password"

pages = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/seller", tags=["seller session"])


@pages.get("/seller/login", response_class=HTMLResponse)
async def login_page(request: Request, console: ConsoleDep, next: str | None = None) -> Response:
    if await console.seller(request) is not None:
        return redirect(request, local_path(next))
    return _login_form(request, console, next_url=local_path(next))


@pages.post("/seller/login", response_class=HTMLResponse)
async def login(
    request: Request,
    console: ConsoleDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "",
) -> Response:
    """Sign in from the form; the form's token must match the sign-in cookie's."""
    expected = request.cookies.get(LOGIN_COOKIE)
    if not expected or not csrf_matches(expected, csrf_token):
        raise CsrfRejected()
    account = await console.accounts.authenticate(email, password)
    if account is None:
        return _login_form(
            request, console, next_url=local_path(next), error=WRONG_LOGIN, email=email
        )
    started = await console.accounts.start_session(account.seller_id, ttl=console.session_ttl)
    answer = redirect(request, local_path(next), f"Signed in as {account.name}")
    console.session_cookie.set(answer, started.token)
    console.login_cookie.clear(answer)
    return answer


@pages.post("/seller/logout")
async def logout(request: Request, console: ConsoleDep, _seller: PageSeller) -> Response:
    await console.accounts.end_session(request.cookies.get(SESSION_COOKIE))
    answer = redirect(request, "/seller/login", "Signed out")
    console.session_cookie.clear(answer)
    return answer


def _login_form(
    request: Request,
    console: ConsoleDep,
    *,
    next_url: str,
    error: str | None = None,
    email: str = "",
) -> Response:
    token = request.cookies.get(LOGIN_COOKIE)
    if not token or len(token) != len(new_token()):
        token = new_token()
    context = {"csrf_token": token, "next_url": next_url, "error": error, "email": email[:254]}
    page = render(request, "login.html", context, status_code=401 if error else 200)
    console.login_cookie.set(page, token)
    return page


@api.post(
    "/session",
    summary="Sign in; the session cookie comes with the answer",
    response_model=SessionOut,
    responses={401: {"model": Problem}, 415: {"model": Problem}},
)
async def start_session(
    request: Request, credentials: Credentials, console: ConsoleDep, response: Response
) -> SessionOut:
    # A JSON content type cannot be sent cross-site without a CORS preflight: no login CSRF.
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise HTTPException(415, "send the credentials as application/json")
    account = await console.accounts.authenticate(credentials.email, credentials.password)
    if account is None:
        raise HTTPException(401, WRONG_LOGIN)
    started = await console.accounts.start_session(account.seller_id, ttl=console.session_ttl)
    console.session_cookie.set(response, started.token)
    return SessionOut(seller_id=account.seller_id, name=account.name, csrf_token=started.csrf_token)


@api.get(
    "/session",
    summary="The signed-in seller and the CSRF token to write with",
    response_model=SessionOut,
    responses={401: {"model": Problem}},
)
async def current_session(seller: ApiSeller) -> SessionOut:
    return _out(seller)


@api.delete(
    "/session",
    summary="Sign out (needs the X-CSRF-Token header)",
    status_code=204,
    responses={401: {"model": Problem}, 403: {"model": Problem}},
)
async def end_session(
    request: Request, console: ConsoleDep, _seller: ApiSeller, response: Response
) -> None:
    await console.accounts.end_session(request.cookies.get(SESSION_COOKIE))
    console.session_cookie.clear(response)


def _out(seller: SellerSession) -> SessionOut:
    return SessionOut(seller_id=seller.seller_id, name=seller.name, csrf_token=seller.csrf_token)
