"""The SSE endpoint a live room's EventSource opens to follow one checkout."""

from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Annotated

from fastapi import APIRouter, Header, Path, Response
from sse_starlette import EventSourceResponse, ServerSentEvent

from contracts.events import Identifier
from services.notifier.feed import already_finished, follow_checkout
from services.notifier.hub import StatusHub
from services.notifier.records import EntryId

STATUS_EVENT = "status"

CheckoutId = Annotated[Identifier, Path(description="The checkout id the storefront returned.")]
LastEventId = Annotated[
    str | None,
    Header(
        alias="Last-Event-ID",
        description="The last entry id the client saw; only later statuses are sent.",
    ),
]


def build_router(hub: StatusHub, *, heartbeat_seconds: float) -> APIRouter:
    """Routes reading from `hub`; heartbeats keep idle connections open through proxies."""
    router = APIRouter(tags=["statuses"])

    @router.get(
        "/events/checkouts/{checkout_id}",
        summary="Order statuses of one checkout as Server-Sent Events",
        response_class=EventSourceResponse,
        responses={
            200: {"content": {"text/event-stream": {}}, "description": "The status stream."},
            204: {"description": "The client already saw the final status."},
        },
    )
    async def checkout_statuses(
        checkout_id: CheckoutId, last_event_id: LastEventId = None
    ) -> Response:
        """`event: status`, `id:` the Redis entry id, `data:` the OrderStatusChanged JSON.

        The stream ends after the final status (confirmed, rejected or expired).
        """
        after = parse_last_event_id(last_event_id)
        if already_finished(hub, checkout_id, after=after):
            # 204 is the one answer that stops an EventSource from reconnecting.
            return Response(status_code=204)
        return EventSourceResponse(_status_events(hub, checkout_id, after), ping=heartbeat_seconds)

    return router


def parse_last_event_id(value: str | None) -> EntryId | None:
    """The client's Last-Event-ID as an entry id; one we never sent counts as none."""
    if not value:
        return None
    try:
        return EntryId.parse(value.strip())
    except ValueError:
        return None


async def _status_events(
    hub: StatusHub, checkout_id: str, after: EntryId | None
) -> AsyncIterator[ServerSentEvent]:
    # aclosing: a browser that goes away must unsubscribe now, not when the GC notices.
    async with aclosing(follow_checkout(hub, checkout_id, after=after)) as records:
        async for record in records:
            yield ServerSentEvent(
                data=record.status.model_dump_json(), event=STATUS_EVENT, id=str(record.entry_id)
            )
