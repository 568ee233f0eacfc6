"""The hosted payment page: the marketplace's own page, embedded by the live room, where a
buyer approves or declines the payment of an order waiting at `reserved`.

    GET  /pay/{checkout_id}?ticket=…          the page (HTML)
    POST /pay/{checkout_id}/approve|decline    form fields `ticket` (and `method`); JSON
                                               for `Accept: application/json`, else 303
                                               back to the page

The ticket (services/orders/payment_page.py) is the capability: no cookie, so no CSRF.
Bad tickets answer 403, unknown orders 404, a closed or expired payment 409, bad fields
422; never a 5xx. Only the storefront's origins may frame the page (CSP frame-ancestors).
"""

import asyncio
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy.exc import IntegrityError

from contracts import utc_now
from services.orders.domain import (
    DECLINED_BY_BUYER,
    NotFound,
    NotYours,
    Order,
    OrderError,
    PaymentClosed,
    PaymentExpired,
    Reason,
    Status,
)
from services.orders.entrypoints.app import OrdersRuntime
from services.orders.entrypoints.console_web import money, templates
from services.orders.payment_page import PAYMENT_METHODS, InvalidTicket, PaymentTickets
from services.orders.service import approve_payment, decline_payment

CHECKOUT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
MAX_FORM_BYTES = 4096

MESSAGES = {
    "waiting": "Choose how to pay, then approve or decline.",
    "confirmed": "Paid. Your order is confirmed.",
    "declined": "You declined the payment. The order is cancelled and you were not charged.",
    "failed": "The payment did not go through, so the order is cancelled. You were not charged.",
    "expired": "The time to pay ran out: your reserved items went back on sale. "
    "You were not charged.",
    "closed": "This order no longer waits for a payment.",
}
TICKET_PROBLEMS = {
    "missing": "This payment link has no ticket. Open it from your order in the live room.",
    "expired": "This payment link has expired. Open the order again from the live room.",
    "invalid": "This payment link is not valid for this order.",
}

router = APIRouter(include_in_schema=False)


def install_payment_page(app: FastAPI, runtime: OrdersRuntime) -> None:
    """Add the payment page's routes (served in both payment modes: a `wallet` order is
    simply never waiting)."""
    app.state.payment_locks = {}  # checkout id -> the lock its answers take in turn
    app.include_router(router)


def _runtime(request: Request) -> OrdersRuntime:
    runtime: OrdersRuntime = request.app.state.runtime
    return runtime


def _hold(runtime: OrdersRuntime) -> timedelta:
    return timedelta(seconds=runtime.settings.hold_seconds)


def _tickets(runtime: OrdersRuntime) -> PaymentTickets:
    secret = runtime.settings.payment_ticket_secret.get_secret_value()
    return PaymentTickets(secret, _hold(runtime))


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


def state_of(order: Order) -> str:
    """What the page says about the order: waiting, confirmed, declined, failed, expired."""
    if order.status is Status.RESERVED:
        return "waiting"
    if order.status in (Status.PAID, Status.CONFIRMED):
        return "confirmed"
    if order.status is Status.EXPIRED:
        return "expired"
    if order.reason is Reason.PAYMENT_FAILED:
        return "declined" if order.detail == DECLINED_BY_BUYER else "failed"
    return "closed"


@router.get("/pay/{checkout_id}", response_class=HTMLResponse)
async def payment_page(request: Request, checkout_id: str, ticket: str | None = None) -> Response:
    runtime = _runtime(request)
    try:
        buyer_id = _buyer(runtime, checkout_id, ticket)
        order = await _order(runtime, checkout_id, buyer_id)
    except (InvalidTicket, OrderError) as exc:
        return _page_refusal(request, runtime, exc)
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
        fields = await _form(request)
        ticket = fields.get("ticket")
        buyer_id = _buyer(runtime, checkout_id, ticket)
        if approving and fields.get("method", "") not in PAYMENT_METHODS:
            return _refusal(request, runtime, 422, "bad_method", "Choose a payment method.",
                            wants_json)  # fmt: skip
        locks = request.app.state.payment_locks
        order = await _decide(runtime, locks, checkout_id, buyer_id, approving=approving)
    except _BadForm as exc:
        return _refusal(request, runtime, exc.status, "bad_form", str(exc), wants_json)
    except (InvalidTicket, OrderError) as exc:
        status, reason, message = _refused(exc)
        return _refusal(request, runtime, status, reason, message, wants_json)
    if not wants_json:
        query = urlencode({"ticket": ticket or ""})
        return RedirectResponse(f"/pay/{quote(checkout_id)}?{query}", status_code=303)
    state = state_of(order)
    body = {"checkout_id": checkout_id, "status": order.status.value, "state": state,
            "message": MESSAGES[state]}  # fmt: skip
    return JSONResponse(body, headers=_headers(runtime))


async def _decide(
    runtime: OrdersRuntime,
    locks: dict[str, asyncio.Lock],
    checkout_id: str,
    buyer_id: str,
    *,
    approving: bool,
) -> Order:
    """Approve or decline, one answer at a time per checkout in this process (a double
    click waits for the first and hears its outcome); snapshots and statuses go out."""
    lock = locks.setdefault(checkout_id, asyncio.Lock())
    try:
        async with lock:
            return await _decide_once(runtime, checkout_id, buyer_id, approving=approving)
    finally:
        if not lock.locked():
            locks.pop(checkout_id, None)
        runtime.wake_relay()


async def _decide_once(
    runtime: OrdersRuntime, checkout_id: str, buyer_id: str, *, approving: bool
) -> Order:
    hold = _hold(runtime)
    for attempt in range(2):
        try:
            if approving:
                order = await approve_payment(uow=runtime.uow, gateway=runtime.gateway,
                                              checkout_id=checkout_id, buyer_id=buyer_id,
                                              hold=hold)  # fmt: skip
            else:
                order = await decline_payment(
                    uow=runtime.uow, checkout_id=checkout_id, buyer_id=buyer_id, hold=hold
                )
        except PaymentClosed:
            await _note(runtime, checkout_id)
            raise
        except IntegrityError:
            # Another replica charged the same checkout at the same moment; the gateway's
            # checkout key kept it to one charge, and asking again returns that result.
            if attempt:
                raise
            continue
        runtime.changed(skus=[line.sku for line in order.lines], room_id=order.room_id)
        return order
    raise AssertionError("unreachable")


async def _note(runtime: OrdersRuntime, checkout_id: str) -> None:
    """An order expired on the way: its stock and room snapshots go out."""
    async with runtime.uow() as work:
        order = await work.get_order(checkout_id)
    if order is not None:
        runtime.changed(skus=[line.sku for line in order.lines], room_id=order.room_id)


class _BadForm(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def _form(request: Request) -> dict[str, str]:
    """The urlencoded form, at most MAX_FORM_BYTES, one value per field."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise _BadForm(415, "Send the form as application/x-www-form-urlencoded.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise _BadForm(413, "The form is too large.")
    try:
        parsed = parse_qs(body.decode("utf-8"), max_num_fields=10, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise _BadForm(422, "The form could not be read.") from exc
    return {name: values[0] for name, values in parsed.items() if len(values) == 1}


def _buyer(runtime: OrdersRuntime, checkout_id: str, ticket: str | None) -> str:
    if not CHECKOUT_ID.fullmatch(checkout_id):
        raise NotFound("no such order")
    return _tickets(runtime).buyer_of(ticket, checkout_id=checkout_id)


async def _order(runtime: OrdersRuntime, checkout_id: str, buyer_id: str) -> Order:
    async with runtime.uow() as work:
        order = await work.get_order(checkout_id)
    if order is None:
        raise NotFound("no such order")
    if order.buyer_id != buyer_id:
        raise NotYours("not this buyer's order")
    return order


def _refused(exc: Exception) -> tuple[int, str, str]:
    """(HTTP status, reason code, sentence) of a refusal."""
    if isinstance(exc, InvalidTicket):
        return 403, f"ticket_{exc.reason}", TICKET_PROBLEMS[exc.reason]
    if isinstance(exc, NotFound):
        return 404, "not_found", "There is no such order."
    if isinstance(exc, NotYours):
        return 403, "not_yours", TICKET_PROBLEMS["invalid"]
    if isinstance(exc, PaymentExpired):
        return 409, exc.reason, MESSAGES["expired"]
    if isinstance(exc, PaymentClosed):
        return 409, exc.reason, MESSAGES["closed"]
    assert isinstance(exc, OrderError)
    return 409, exc.reason, MESSAGES["closed"]


def _refusal(
    request: Request, runtime: OrdersRuntime, status: int, reason: str, message: str,
    wants_json: bool,
) -> Response:  # fmt: skip
    if wants_json:
        body = {"detail": message, "reason": reason}
        return JSONResponse(body, status_code=status, headers=_headers(runtime))
    context = {"state": "refused", "message": message, "reason": reason}
    return templates.TemplateResponse(
        request, "pay.html", context, status_code=status, headers=_headers(runtime)
    )


def _page_refusal(request: Request, runtime: OrdersRuntime, exc: Exception) -> Response:
    status, reason, message = _refused(exc)
    return _refusal(request, runtime, status, reason, message, wants_json=False)


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
        "methods": [(value, label, await _hint(runtime, order, value))
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


async def _hint(runtime: OrdersRuntime, order: Order, method: str) -> str:
    """What the buyer sees beside a method: the sandbox wallet's balance."""
    balance = await runtime.gateway.balance(order.buyer_id)
    if balance is None:
        balance = runtime.settings.demo_wallet_balance_minor
    return f"balance {money(balance, order.currency)}"
