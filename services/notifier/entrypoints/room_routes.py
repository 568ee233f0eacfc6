"""The public SSE endpoint of a live room: stock, purchases ticker, sales, viewers and the
room's own changes."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from sse_starlette import EventSourceResponse

from contracts.events import Identifier
from services.notifier.entrypoints.auth import Refused
from services.notifier.entrypoints.room_stream import RoomStream
from services.notifier.known_rooms import KnownRooms
from services.notifier.rooms import RoomHub

MAX_SKUS = 100
NEW_ROOM_GRACE_SECONDS = 1.0
"""How long a stream of a room not heard of waits for its announcement (a room created a
moment ago may still be on its way through `room.changed`) before the 404."""
SKU_LIST_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}(,[A-Za-z0-9][A-Za-z0-9._-]{0,63})*$"

RoomId = Annotated[Identifier, Path(description="The live room, as the storefront names it.")]
Skus = Annotated[
    str | None,
    Query(
        pattern=SKU_LIST_PATTERN,
        description="Comma-separated skus the room shows (its pinned products); all if absent.",
    ),
]


def build_room_router(*, rooms: RoomHub, known: KnownRooms | None = None) -> APIRouter:
    """The room route; public (no token): it carries nothing about any buyer. A room not
    in `known` (None: every room is) is a 404."""
    router = APIRouter(tags=["rooms"])

    @router.get(
        "/events/rooms/{room_id}",
        summary="A live room's stock, purchases, sales, viewers, changes and chat over SSE",
        response_class=EventSourceResponse,
        responses={
            200: {"content": {"text/event-stream": {}}, "description": "The room stream."},
            404: {"description": 'No such room: `{"reason": "room_not_found", "detail": …}`.'},
        },
    )
    async def room_events(room_id: RoomId, skus: Skus = None) -> Response:
        """First `event: snapshot` (`{"stock": [ProductSnapshot], "sales": RoomSales|null,
        "viewers": n, "chat": [{"id", "name", "text", "at"}]}`, the chat's last messages),
        then `stock` (ProductSnapshot list, latest per sku, at most one
        push per `room_push_seconds`), `purchase` (`{"items": [{"sku", "quantity"}],
        "total_minor", "currency"}`), `sales` (RoomSales), `viewers` (`{"count": n}`) and
        `room` (RoomChanged: `{"room_id", "state", "skus"}`; the seller changed the pins or
        the live state: reload the room from the storefront, and reopen this stream with
        the new skus), and the room's chat: `chat` (`{"id", "name", "text", "at"}`: plain
        text, never the buyer), `chat_deleted` (`{"id"}`: the seller deleted it) and
        `reaction` (`{"counts": {"heart": n, ...}}`). A ProductSnapshot carries everything
        `catalog.changed` v2 gave it: `seller_id`, `image_url` and the flash `deal`, when set.

        `viewers` counts open connections to the room on this notifier replica only.
        Event ids count up per connection; there is no resume: a reconnect gets a fresh
        snapshot. A room the storefront never announced on `room.changed` is a 404
        (`room_not_found`).
        """
        wanted = frozenset(skus.split(",")) if skus else None
        if wanted is not None and len(wanted) > MAX_SKUS:
            raise Refused(422, "too_many_skus", f"at most {MAX_SKUS} skus")
        if known is not None and not await known.wait_for(room_id, seconds=NEW_ROOM_GRACE_SECONDS):
            raise Refused(404, "room_not_found", f"no live room {room_id!r} was announced")
        return RoomStream(rooms, room_id, wanted)

    return router
