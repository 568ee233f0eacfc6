"""Counts every checkout attempt by outcome (livecart_checkouts_total), from the answer's
status, so refusals made before the route runs (413, 422, 401) are counted too."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.storefront.metrics import CHECKOUTS

CHECKOUTS_PATH = "/api/checkouts"
_REASONS = {
    401: "unauthenticated",
    404: "unknown_room",
    413: "too_large",
    422: "invalid",
    429: "rate_limited",
    503: "unavailable",
}


def outcome_of(status: int) -> tuple[str, str]:
    if status == 202:
        return "accepted", ""
    return "rejected", _REASONS.get(status, f"http_{status}")


class CheckoutMetrics:
    """Pure ASGI middleware: no buffering, one counter increment per checkout request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != CHECKOUTS_PATH or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                CHECKOUTS.labels(*outcome_of(int(message["status"]))).inc()
            await send(message)

        await self.app(scope, receive, counting_send)
