"""The connections under the SSE routes: the per-process cap, and cutting the connection
of a client dropped for being too slow.

A dropped client is one that stopped reading. Ending its response is not enough:
the server would keep the socket and the bytes it could not deliver until the client
reads them, that is forever. So the notifier aborts the transport: descriptor and
buffers are freed at once, and the browser reconnects (Last-Event-ID, or a fresh
room snapshot). What one connection may hold unsent is bounded in three places: the
events it has not taken (its room queue, or none for buyer streams), the transport's
buffer (16 KiB, `WRITE_HIGH_WATER`) and the kernel's (`send_buffer_bytes`).
"""

import asyncio
import contextlib
import socket
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from sse_starlette import EventSourceResponse
from sse_starlette.sse import SendTimeoutError
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from services.notifier.capacity import ConnectionSlots
from services.notifier.metrics import SSE_DROPPED, SSE_REFUSED

HANG_UP = "livecart.hang_up"
"""Scope key of a callable that aborts the request's connection (set by NotifierApp)."""
STREAM_PREFIX = "/events/"
TOO_MANY_CONNECTIONS: dict[str, Any] = {
    "description": "Busy: this process already serves `max_connections` streams (reason "
    "`too_many_connections`; retry after `Retry-After` seconds, another replica may have "
    "room), or Redis does not answer (`redis_unavailable`)."
}
"""The 503 of every stream route, for its `responses=`."""
WRITE_HIGH_WATER = 16 * 1024
"""Bytes a stream's transport buffers before uvicorn makes the next write wait. uvicorn
copies each chunk per connection, so this is what a stuck client costs the process; the
kernel's send buffer absorbs the bursts of one that reads."""


class NotifierApp(FastAPI):
    """The notifier's FastAPI app: each stream request gets a way to abort its connection,
    and its connection a bounded kernel send buffer.

    Only the outermost ASGI callable sees the server's own `send`; uvicorn's is a method of
    the request cycle, which holds the transport. With another server neither is done,
    and a dropped stream only ends its response.
    """

    def __init__(self, *, send_buffer_bytes: int = 0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.send_buffer_bytes = send_buffer_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(STREAM_PREFIX):
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            # Not isinstance(asyncio.Transport): uvloop's transports do not derive from it.
            abort = getattr(transport, "abort", None)
            if callable(abort):
                scope[HANG_UP] = abort
                _bound_buffers(transport, self.send_buffer_bytes)
        await super().__call__(scope, receive, send)


def _bound_buffers(transport: Any, size: int) -> None:
    """A fixed SO_SNDBUF instead of the kernel's autotuning (up to 4 MiB per socket on
    Linux), and a transport that makes writes wait past WRITE_HIGH_WATER bytes instead of
    64 KiB: a client that stops reading holds this much, not megabytes, until the drop
    (`send_timeout` later)."""
    transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
    sock = transport.get_extra_info("socket")
    if size and sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)


async def hang_up(scope: Scope) -> None:
    """Abort the request's connection when the server allows it, and let the server see it
    (so it does not report an unfinished response)."""
    abort: Callable[[], None] | None = scope.get(HANG_UP)
    if abort is not None:
        abort()
        await asyncio.sleep(0)


class DroppingEventSourceResponse(EventSourceResponse):
    """sse-starlette's response (buyer streams) whose client is dropped when a write or
    ping waits past `send_timeout`: counted as `kind`, its connection cut.

    It holds no queue: the next events are read from the buyer's stream only once the
    previous ones were written, so a slow client costs at most one page in flight.
    """

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except SendTimeoutError:
            SSE_DROPPED.labels(self.kind, "send_timeout").inc()
            await hang_up(scope)


class ConnectionCap:
    """ASGI middleware: at most `slots.limit` open `/events/...` requests; past it, 503
    `too_many_connections` with Retry-After before any stream starts."""

    def __init__(self, app: ASGIApp, *, slots: ConnectionSlots, retry_after: int) -> None:
        self.app = app
        self.slots = slots
        self.retry_after = retry_after

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(STREAM_PREFIX):
            await self.app(scope, receive, send)
            return
        if not self.slots.take():
            SSE_REFUSED.labels("too_many_connections").inc()
            refusal = JSONResponse(
                {
                    "reason": "too_many_connections",
                    "detail": f"this notifier serves {self.slots.limit} streams; retry later",
                },
                status_code=503,
                headers={"Retry-After": str(self.retry_after)},
            )
            await refusal(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self.slots.release()
