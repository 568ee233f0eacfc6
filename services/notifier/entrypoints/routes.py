"""A buyer's SSE endpoints: every status of theirs, or one checkout's, with resume."""

import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from contracts import EntryId
from contracts.events import Identifier
from services.notifier.config import NotifierSettings
from services.notifier.entrypoints.auth import Refused, buyer_dependency, resume_after
from services.notifier.entrypoints.connections import DroppingEventSourceResponse
from services.notifier.feed import BuyerHistory, already_finished, follow_statuses
from services.notifier.hub import StatusHub
from services.notifier.metrics import SSE_CONNECTIONS
from services.notifier.records import HistoryReset, StatusRecord

STATUS_EVENT = "status"
RESET_EVENT = "reset"

CheckoutId = Annotated[Identifier, Path(description="The checkout id the storefront returned.")]
After = Annotated[EntryId | None, Depends(resume_after)]
_STREAM: dict[str, Any] = {
    "content": {"text/event-stream": {}},
    "description": "The status stream.",
}
_REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Malformed Last-Event-ID (`malformed_last_event_id`)."},
    401: {
        "description": "Buyer token `missing`, `invalid` or `expired`. The token comes in "
        "the `livecart_buyer` cookie or `Authorization: Bearer`, never in the URL."
    },
}


def sse_response(
    events: AsyncGenerator[ServerSentEvent], settings: NotifierSettings, *, kind: str
) -> Response:
    """An SSE response with heartbeats; a client that stops taking events is dropped
    (connection cut, counted in `livecart_sse_dropped_total`)."""
    return DroppingEventSourceResponse(
        _counted(events, kind),
        ping=settings.heartbeat_seconds,
        send_timeout=settings.send_timeout_seconds,
        kind=kind,
    )


async def _counted(
    events: AsyncGenerator[ServerSentEvent], kind: str
) -> AsyncIterator[ServerSentEvent]:
    """`events`, while the open connections of `kind` are counted in the gauge."""
    SSE_CONNECTIONS.labels(kind).inc()
    try:
        async with aclosing(events) as items:
            async for event in items:
                yield event
    finally:
        SSE_CONNECTIONS.labels(kind).dec()


def build_router(
    *, statuses: StatusHub, history: BuyerHistory, settings: NotifierSettings
) -> APIRouter:
    """The buyer routes; every one needs the buyer's token (bearer header, or the cookie)."""
    router = APIRouter(tags=["statuses"])
    authenticated_buyer = buyer_dependency(settings.buyer_tokens)

    def stream(buyer_id: str, after: EntryId | None, checkout_id: str | None = None) -> Response:
        events = _status_events(
            statuses, history, buyer_id, after=after, checkout_id=checkout_id,
            resync_seconds=settings.resync_seconds,
        )  # fmt: skip
        return sse_response(events, settings, kind="checkout" if checkout_id else "buyer")

    @router.get(
        "/events/buyers/me",
        summary="Every order status of the token's buyer as Server-Sent Events",
        response_class=EventSourceResponse,
        responses={200: _STREAM, **_REFUSALS},
    )
    async def my_statuses(
        buyer_id: Annotated[str, Depends(authenticated_buyer)], after: After = None
    ) -> Response:
        """`event: status`, `id:` the entry id in the buyer's stream, `data:` the
        OrderStatusChanged JSON: the history (after Last-Event-ID), then live, forever.
        `event: reset` (`{"reason": "history_expired"}`, no id) comes first when the
        stream no longer reaches back to Last-Event-ID: refetch state."""
        return stream(buyer_id, after)

    @router.get(
        "/events/checkouts/{checkout_id}",
        summary="Order statuses of one checkout of the token's buyer as Server-Sent Events",
        response_class=EventSourceResponse,
        responses={
            200: _STREAM,
            204: {"description": "The client already saw the final status."},
            **_REFUSALS,
            403: {"description": "The checkout belongs to another buyer."},
        },
    )
    async def checkout_statuses(
        checkout_id: CheckoutId,
        buyer_id: Annotated[str, Depends(authenticated_buyer)],
        after: After = None,
    ) -> Response:
        """As `/events/buyers/me`, only this checkout's statuses, ending after its final one.

        A checkout not seen yet waits: only the token buyer's own stream is read.
        """
        owner = statuses.owner_of(checkout_id)
        if owner is not None and owner != buyer_id:
            raise Refused(403, "not_your_checkout", "the checkout belongs to another buyer")
        if await already_finished(history, buyer_id, checkout_id, after=after):
            # 204 is the one answer that stops an EventSource from reconnecting.
            return Response(status_code=204)
        return stream(buyer_id, after, checkout_id)

    return router


async def _status_events(
    statuses: StatusHub,
    history: BuyerHistory,
    buyer_id: str,
    *,
    after: EntryId | None,
    checkout_id: str | None,
    resync_seconds: float,
) -> AsyncGenerator[ServerSentEvent]:
    # Listening before the history is read, so a status in between still rings.
    with statuses.listen(buyer_id) as bell:
        feed = follow_statuses(
            history=history, bell=bell, after=after, checkout_id=checkout_id,
            resync_seconds=resync_seconds,
        )  # fmt: skip
        # aclosing: a browser that goes away frees its bell now, not when the GC notices.
        async with aclosing(feed) as items:
            async for item in items:
                yield _as_event(item)


def _as_event(item: StatusRecord | HistoryReset) -> ServerSentEvent:
    if isinstance(item, HistoryReset):
        return ServerSentEvent(data=json.dumps({"reason": item.reason}), event=RESET_EVENT)
    return ServerSentEvent(
        data=item.status.model_dump_json(), event=STATUS_EVENT, id=str(item.entry_id)
    )
