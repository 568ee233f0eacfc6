"""The buyer's answers on the hosted payment page: the form they come in, one answer at a
time per checkout, and every refusal as (HTTP status, reason code, sentence). Never a 5xx
for anything a browser can send."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from urllib.parse import parse_qs

from fastapi import Request
from sqlalchemy.exc import IntegrityError

from services.orders.domain import (
    DECLINED_BY_BUYER,
    NotFound,
    NotYours,
    Order,
    OrderError,
    PaymentExpired,
    Reason,
    Status,
)
from services.orders.entrypoints.app import OrdersRuntime
from services.orders.payment_page import InvalidTicket
from services.orders.service import approve_payment, decline_payment

MAX_FORM_BYTES = 4096
FORM_TYPE = "application/x-www-form-urlencoded"

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


class BadForm(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded form, at most MAX_FORM_BYTES, fields sent once (others dropped)."""
    if not request.headers.get("content-type", "").startswith(FORM_TYPE):
        raise BadForm(415, f"Send the form as {FORM_TYPE}.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise BadForm(413, "The form is too large.")
    try:
        parsed = parse_qs(body.decode("utf-8"), max_num_fields=10, errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadForm(422, "The form could not be read.") from exc
    return {name: values[0] for name, values in parsed.items() if len(values) == 1}


def refused(exc: Exception) -> tuple[int, str, str]:
    """(HTTP status, reason code, sentence) of a refusal."""
    if isinstance(exc, BadForm):
        return exc.status, "bad_form", str(exc)
    if isinstance(exc, InvalidTicket):
        return 403, f"ticket_{exc.reason}", TICKET_PROBLEMS[exc.reason]
    if isinstance(exc, NotFound):
        return 404, "not_found", "There is no such order."
    if isinstance(exc, NotYours):
        return 403, "not_yours", TICKET_PROBLEMS["invalid"]
    if isinstance(exc, PaymentExpired):
        return 409, exc.reason, MESSAGES["expired"]
    assert isinstance(exc, OrderError)
    return 409, exc.reason, MESSAGES["closed"]


class AnswerTurns:
    """One answer at a time per checkout in this process: a double click waits for the
    first answer and then hears the order as it left it. Forgets a checkout nobody waits on."""

    def __init__(self) -> None:
        self._turns: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def turn(self, checkout_id: str) -> AsyncIterator[None]:
        lock, waiting = self._turns.get(checkout_id, (asyncio.Lock(), 0))
        self._turns[checkout_id] = (lock, waiting + 1)
        try:
            async with lock:
                yield
        finally:
            lock, waiting = self._turns[checkout_id]
            if waiting == 1:
                del self._turns[checkout_id]
            else:
                self._turns[checkout_id] = (lock, waiting - 1)


async def decide(
    runtime: OrdersRuntime, turns: AnswerTurns, checkout_id: str, buyer_id: str, *, approving: bool
) -> Order:
    """Approve or decline in the checkout's turn; its stock and room snapshots and its
    statuses go out, also when it expired on the way (PaymentClosed is raised after)."""
    try:
        async with turns.turn(checkout_id):
            return await _decide_once(runtime, checkout_id, buyer_id, approving=approving)
    finally:
        async with runtime.uow() as work:
            order = await work.get_order(checkout_id)
        if order is not None:
            runtime.changed(skus=[line.sku for line in order.lines], room_id=order.room_id)


async def _decide_once(
    runtime: OrdersRuntime, checkout_id: str, buyer_id: str, *, approving: bool
) -> Order:
    hold = timedelta(seconds=runtime.settings.hold_seconds)
    try:
        return await _answer(runtime, checkout_id, buyer_id, hold, approving=approving)
    except IntegrityError:
        # Another replica charged this checkout at the same moment: the gateway's checkout
        # key kept it to one charge, and asking again hears that charge's result.
        return await _answer(runtime, checkout_id, buyer_id, hold, approving=approving)


async def _answer(
    runtime: OrdersRuntime, checkout_id: str, buyer_id: str, hold: timedelta, *, approving: bool
) -> Order:
    if approving:
        return await approve_payment(
            uow=runtime.uow,
            gateway=runtime.gateway,
            checkout_id=checkout_id,
            buyer_id=buyer_id,
            hold=hold,
        )
    return await decline_payment(
        uow=runtime.uow, checkout_id=checkout_id, buyer_id=buyer_id, hold=hold
    )
