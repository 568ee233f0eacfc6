"""The hosted payment page's tickets: a short-lived signed capability (JWT, HS256) for one
buyer's one checkout. It travels in the page's URL in the buyer's own `reserved` status
and back in the page's form posts, so the page needs no cookie and no CSRF token: who
holds the ticket may answer for that order, nobody else."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal
from urllib.parse import quote, urlencode

from services.common.tokens import InvalidToken, signed, verified
from services.orders.domain import Order

AUDIENCE = "livecart-payment"
MAX_TICKET_LENGTH = 600

PAGE_GRACE = timedelta(minutes=2)
"""A ticket outlives the payment deadline by this much, so a late answer hears "the time to
pay ran out" (409), not "bad ticket" (403)."""

PaymentMethod = Literal["sandbox_wallet"]
PAYMENT_METHODS: dict[str, str] = {"sandbox_wallet": "Sandbox wallet"}
"""What the buyer may pick: what the PaymentGateway can charge (the sandbox wallet only)."""


class InvalidTicket(InvalidToken):
    """`reason`: `missing`, `expired` or `invalid` (forged, malformed, another checkout)."""


@dataclass(frozen=True)
class PaymentTickets:
    """Issues and checks tickets; `ttl` is the payment deadline (plus PAGE_GRACE)."""

    secret: str
    ttl: timedelta

    def issue(self, *, checkout_id: str, buyer_id: str) -> str:
        claims = {"sub": buyer_id, "cid": checkout_id}
        return signed(claims, self.secret, audience=AUDIENCE, ttl=self.ttl + PAGE_GRACE)

    def buyer_of(self, ticket: str | None, *, checkout_id: str) -> str:
        """The buyer a valid ticket for `checkout_id` was issued to; InvalidTicket if not."""
        if ticket and len(ticket) > MAX_TICKET_LENGTH:
            raise InvalidTicket("invalid")
        try:
            claims = verified(ticket, self.secret, audience=AUDIENCE, required=("cid",))
        except InvalidToken as exc:
            raise InvalidTicket(exc.reason) from exc
        if claims.get("cid") != checkout_id:
            raise InvalidTicket("invalid")
        return str(claims["sub"])


@dataclass(frozen=True)
class PaymentLinks:
    """The page's URL for an order, as the `reserved` status carries it."""

    base_url: str
    tickets: PaymentTickets

    def __call__(self, order: Order) -> str:
        ticket = self.tickets.issue(checkout_id=order.checkout_id, buyer_id=order.buyer_id)
        path = f"/pay/{quote(order.checkout_id, safe='')}"
        return f"{self.base_url.rstrip('/')}{path}?{urlencode({'ticket': ticket})}"
