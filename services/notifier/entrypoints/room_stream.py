"""The HTTP side of one room connection: a lean Server-Sent Events response.

A room may hold 10,000 connections on one process, and every push is one write to
each. sse-starlette's response costs four tasks per connection and a cancel scope per
write; this one costs the request's own task plus one waiting for the disconnect,
and a write is one `send` of frames the hub encoded once. Heartbeats and the drop
of clients that stop reading are done by one pass over all connections
(`RoomHub.keep_up`), not by timers per connection. A dropped client's connection is
cut (see connections.py) and counted in `livecart_sse_dropped_total{kind="room"}`.
"""

import asyncio
import itertools
import time
from collections.abc import Callable

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from services.notifier.entrypoints.connections import HANG_UP, hang_up
from services.notifier.metrics import SSE_CONNECTIONS, SSE_DROPPED
from services.notifier.room_events import RoomEvent, RoomSnapshot
from services.notifier.room_watch import RoomWatch
from services.notifier.rooms import RoomHub

HEARTBEAT = b": ping\r\n\r\n"
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"connection", b"keep-alive"),
    (b"x-accel-buffering", b"no"),
]


class RoomStream(Response):
    """`snapshot`, then the room's events as they are due, until either side ends it."""

    media_type = "text/event-stream"

    def __init__(
        self,
        rooms: RoomHub,
        room_id: str,
        skus: frozenset[str] | None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Not Response.__init__: it would add `content-length: 0` to a stream.
        self.status_code = 200
        self.background = None
        self.raw_headers = list(HEADERS)
        self._rooms, self._room_id, self._skus, self._clock = rooms, room_id, skus, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        SSE_CONNECTIONS.labels("room").inc()
        try:
            with self._rooms.watch(self._room_id, self._skus) as (watch, snapshot):
                watch.bind(asyncio.current_task(), hang_up=scope.get(HANG_UP))
                gone = asyncio.ensure_future(_disconnected(receive))
                gone.add_done_callback(lambda _: watch.close())
                try:
                    await self._stream(watch, snapshot, send)
                    if not gone.done() and watch.drop_reason is None:
                        await send({"type": "http.response.body", "body": b"", "more_body": False})
                except asyncio.CancelledError:
                    # Dropped by the hub without a hang-up (not under uvicorn): returning
                    # leaves the response unfinished and the server closes the connection;
                    # any other cancellation is not ours to swallow.
                    if not (watch.closed and watch.sending_since is not None):
                        raise
                finally:
                    gone.cancel()
            if watch.drop_reason is not None:
                SSE_DROPPED.labels("room", watch.drop_reason).inc()
                await hang_up(scope)  # already cut; lets the server notice before we return
        finally:
            SSE_CONNECTIONS.labels("room").dec()

    async def _stream(self, watch: RoomWatch, snapshot: RoomSnapshot, send: Send) -> None:
        ids = itertools.count(1)
        body = RoomEvent.snapshot(snapshot).frame_with_id(next(ids))
        while not watch.closed:
            watch.sending(self._clock())
            await send({"type": "http.response.body", "body": body, "more_body": True})
            watch.sent(self._clock())
            events = await watch.next_events()
            # The events due together go out in one write; none due: a heartbeat.
            body = b"".join(event.frame_with_id(next(ids)) for event in events) or HEARTBEAT


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
