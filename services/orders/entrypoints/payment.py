"""The hosted payment page: the marketplace's own page, embedded by the live room, where a
buyer approves or declines the payment of an order waiting at `reserved`.

    GET  /pay/{checkout_id}?ticket=…          the page (HTML)
    POST /pay/{checkout_id}/approve|decline    form fields `ticket` (and `method`); JSON
                                               for `Accept: application/json`, else 303
                                               back to the page

The ticket (services/orders/payment_page.py) is the capability: no cookie, so no CSRF.
Bad tickets answer 403, unknown orders 404, a closed or expired payment 409, bad fields
413/415/422 (payment_answers.py); never a 5xx. Only the storefront's origins may frame
the page (CSP frame-ancestors, ORDERS_PAYMENT_FRAME_ANCESTORS).
"""

import re
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from contracts import utc_now
from services.orders.domain import NotFound, NotYours, Order, OrderError
from services.orders.entrypoints.app import OrdersRuntime
from services.orders.entrypoints.console_web import money, templates
from services.orders.entrypoints.payment_answers import (
    MESSAGES,
    AnswerTurns,
    BadForm,
    decide,
    read_form,
    refused,
    state_of,
)
from services.orders.payment_page import PAYMENT_METHODS, InvalidTicket, PaymentTickets

CHECKOUT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
TITLES = {403: "Payment link not usable", 404: "Payment link not usable", 409: "Payment closed"}

router = APIRouter(include_in_schema=False)


def install_payment_page(app: FastAPI, runtime: OrdersRuntime) -> None:
    """Add the payment page's routes (served in both payment modes: a `wallet` order is
    simply never waiting)."""
    app.state.payment_turns = AnswerTurns()
    app.include_router(router)


@router.get("/pay/{checkout_id}", response_class=HTMLResponse)
async def payment_page(request: Request, checkout_id: str, ticket: str | None = None) -> Response:
    runtime = _runtime(request)
    try:
        buyer_id = _buyer(runtime, checkout_id, ticket)
        order = await _order(runtime, checkout_id, buyer_id)
    except (InvalidTicket, OrderError) as exc:
        return _refusal(request, runtime, exc, wants_json=False)
    return await _page(request, runtime, order, ticket or "")


@router.post("/pay/{checkout_id}/approve")
async def approve(request: Request, checkout_id: str) -> Response:
    return await _answer(request, checkout_id, approving=True)


@router.post("/pay/{checkout_id}/decline")
async def decline(request: Request, checkout_id: str) -> Response:
    return await _answer(request, checkout_id, approving=False)


async def _answer(request: Request, checkout_id: str, *, approving: bool) -> Response:
    runtime = _runtime(request)
    wants_json = "application/json" in request.headers.get("accept", "")
    try:
        fields = await read_form(request)
        ticket = fields.get("ticket")
        buyer_id = _buyer(runtime, checkout_id, ticket)
        if approving and fields.get("method", "") not in PAYMENT_METHODS:
            raise BadForm(422, "Choose a payment method.")
        turns: AnswerTurns = request.app.state.payment_turns
        order = await decide(runtime, turns, checkout_id, buyer_id, approving=approving)
    except (BadForm, InvalidTicket, OrderError) as exc:
        return _refusal(request, runtime, exc, wants_json=wants_json)
    if not wants_json:  # a form posted without the page's script: back to the page
        query = urlencode({"ticket": ticket or ""})
        return RedirectResponse(f"/pay/{quote(checkout_id)}?{query}", status_code=303)
    state = state_of(order)
    body = {"checkout_id": checkout_id, "status": order.status.value, "state": state,
            "message": MESSAGES[state]}  # fmt: skip
    return JSONResponse(body, headers=_headers(runtime))


def _runtime(request: Request) -> OrdersRuntime:
    runtime: OrdersRuntime = request.app.state.runtime
    return runtime


def _hold(runtime: OrdersRuntime) -> timedelta:
    return timedelta(seconds=runtime.settings.hold_seconds)


def _headers(runtime: OrdersRuntime) -> dict[str, str]:
    ancestors = " ".join(runtime.settings.payment_frame_ancestors) or "'none'"
    return {
        "Content-Security-Policy": (
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            "img-src 'self'; form-action 'self'; base-uri 'none'; "
            f"frame-ancestors {ancestors}"
        ),
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",  # the ticket is in the page's URL
        "X-Content-Type-Options": "nosniff",
    }


def _buyer(runtime: OrdersRuntime, checkout_id: str, ticket: str | None) -> str:
    """The buyer the ticket speaks for (InvalidTicket); NotFound for a malformed id."""
    if not CHECKOUT_ID.fullmatch(checkout_id):
        raise NotFound("no such order")
    secret = runtime.settings.payment_ticket_secret.get_secret_value()
    return PaymentTickets(secret, _hold(runtime)).buyer_of(ticket, checkout_id=checkout_id)


async def _order(runtime: OrdersRuntime, checkout_id: str, buyer_id: str) -> Order:
    async with runtime.uow() as work:
        order = await work.get_order(checkout_id)
    if order is None:
        raise NotFound("no such order")
    if order.buyer_id != buyer_id:
        raise NotYours("not this buyer's order")
    return order


def _refusal(
    request: Request, runtime: OrdersRuntime, exc: Exception, *, wants_json: bool
) -> Response:
    status, reason, message = refused(exc)
    if wants_json:
        body = {"detail": message, "reason": reason}
        return JSONResponse(body, status_code=status, headers=_headers(runtime))
    state = "expired" if reason == "payment_expired" else "refused"
    title = TITLES.get(status, "Please try again")
    context = {"state": state, "title": title, "message": message, "reason": reason}
    return templates.TemplateResponse(
        request, "pay.html", context, status_code=status, headers=_headers(runtime)
    )


async def _page(request: Request, runtime: OrdersRuntime, order: Order, ticket: str) -> Response:
    state = state_of(order)
    due = order.payment_due_at(_hold(runtime))
    seconds_left = max(0, int((due - utc_now()).total_seconds())) if due else 0
    if state == "waiting" and seconds_left == 0:
        state = "expired"  # the sweeper expires it within a scan
    context: dict[str, Any] = {
        "state": state,
        "message": MESSAGES[state],
        "checkout_id": order.checkout_id,
        "ticket": ticket,
        "total": money(order.total_minor, order.currency),
        "items": await _items(runtime, order),
        "seconds_left": seconds_left,
        "methods": [(value, label, await _hint(runtime, order))
                    for value, label in PAYMENT_METHODS.items()],
    }  # fmt: skip
    return templates.TemplateResponse(request, "pay.html", context, headers=_headers(runtime))


async def _items(runtime: OrdersRuntime, order: Order) -> list[tuple[int, str]]:
    """(quantity, title) of each line, titled as the marketplace lists the product."""
    items = []
    async with runtime.uow() as work:
        for line in order.lines:
            view = await work.product_view(line.sku)
            items.append((line.quantity, view.title if view else line.sku))
    return items


async def _hint(runtime: OrdersRuntime, order: Order) -> str:
    """What the buyer sees beside the sandbox wallet: its balance."""
    balance = await runtime.gateway.balance(order.buyer_id)
    if balance is None:
        balance = runtime.settings.demo_wallet_balance_minor
    return f"balance {money(balance, order.currency)}"
