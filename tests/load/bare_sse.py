"""The baseline of tests/load/sse_memory.py: a bare uvloop SSE writer with the same bounds.

`python -m tests.load.bare_sse REDIS_URL STREAM SEND_TIMEOUT` listens on a free port and
prints `ready <port>`. Every `GET` is an SSE stream: a small `snapshot`, then, unless its
query names `skus=` (an idle viewer of products that do not change), every stock change
XADDed to STREAM (`catalog.changed`) as one `stock` frame, written as it arrives; a
comment ping every 15 s to all. A connection whose writes are paused (a 16 KiB
high-water mark and SO_SNDBUF 64 KiB, as the notifier's) skips frames,
and is aborted once paused for SEND_TIMEOUT seconds. `GET /stats` answers
`{"open": n, "dropped": n}`.

No framework, no per-connection task, no parsing beyond the request line: what a
connection costs here is what any Python SSE server must pay.
"""

import asyncio
import json
import socket
import sys
from typing import Any, cast

import uvloop
from redis.asyncio import Redis

HEARTBEAT_SECONDS = 15.0
SEND_BUFFER_BYTES = 65_536
WRITE_HIGH_WATER = 16 * 1024
HEAD = (
    b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-store\r\n"
    b"transfer-encoding: chunked\r\n\r\n"
)


def chunk(body: bytes) -> bytes:
    return b"%x\r\n%b\r\n" % (len(body), body)


SNAPSHOT = chunk(b'id: 1\r\nevent: snapshot\r\ndata: {"stock":[],"sales":null,"viewers":0}\r\n\r\n')
PING = chunk(b": ping\r\n\r\n")


class Writer:
    """The open connections, the live ones (sent stock) among them, and the drop count."""

    def __init__(self, send_timeout: float) -> None:
        self.send_timeout = send_timeout
        self.open: set[Stream] = set()
        self.live: set[Stream] = set()
        self.dropped = 0

    def push(self, frame: bytes) -> None:
        data = chunk(frame)
        for stream in self.live:
            if stream.paused_since is None:
                stream.transport.write(data)

    def upkeep(self, now: float) -> None:
        for stream in list(self.open):
            if stream.paused_since is not None and now - stream.paused_since >= self.send_timeout:
                self.dropped += 1
                stream.transport.abort()


class Stream(asyncio.Protocol):
    def __init__(self, writer: Writer) -> None:
        self.writer = writer
        self.request = b""
        self.paused_since: float | None = None
        self.transport: asyncio.Transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        # The notifier's bounds: its transports' high-water mark, its default
        # `send_buffer_bytes` in the kernel.
        self.transport.set_write_buffer_limits(high=WRITE_HIGH_WATER)
        transport.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES
        )

    def data_received(self, data: bytes) -> None:
        if self in self.writer.open:
            return
        self.request += data
        if b"\r\n\r\n" not in self.request:
            return
        path = self.request.split(b" ", 2)[1]
        if path == b"/stats":
            body = json.dumps({"open": len(self.writer.open), "dropped": self.writer.dropped})
            self.transport.write(
                b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%b"
                % (len(body), body.encode())
            )
            self.transport.close()
            return
        self.writer.open.add(self)
        if b"skus=" not in path:
            self.writer.live.add(self)
        self.transport.write(HEAD + SNAPSHOT)

    def pause_writing(self) -> None:
        self.paused_since = asyncio.get_running_loop().time()

    def resume_writing(self) -> None:
        self.paused_since = None

    def connection_lost(self, exc: Exception | None) -> None:
        self.writer.open.discard(self)
        self.writer.live.discard(self)


async def follow_stock(writer: Writer, redis: Redis, stream: str) -> None:
    last: bytes | str = "$"
    while True:
        reply = cast(list[Any], await redis.xread({stream: last}, block=1000, count=100))
        for _, entries in reply or []:
            for entry_id, fields in entries:
                last = entry_id
                products = json.loads(fields[b"__data__"])["data"]["products"]
                writer.push(b"event: stock\r\ndata: %b\r\n\r\n" % json.dumps(products).encode())


async def keep_up(writer: Writer) -> None:
    loop = asyncio.get_running_loop()
    last_ping = loop.time()
    while True:
        await asyncio.sleep(1.0)
        now = loop.time()
        writer.upkeep(now)
        if now - last_ping >= HEARTBEAT_SECONDS:
            last_ping = now
            for stream in writer.open:
                if stream.paused_since is None:
                    stream.transport.write(PING)


async def main(redis_url: str, stream: str, send_timeout: float) -> None:
    writer = Writer(send_timeout)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Stream(writer), "127.0.0.1", 0, backlog=4096)
    print(f"ready {server.sockets[0].getsockname()[1]}", flush=True)
    redis = Redis.from_url(redis_url)
    await asyncio.gather(follow_stock(writer, redis, stream), keep_up(writer))


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
